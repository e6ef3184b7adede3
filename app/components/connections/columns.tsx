'use client';
// The typed columns of the connections grid. A column's id is the API sort key it sorts by.
import type { ColumnDef } from '@tanstack/react-table';
import type { SortKey } from '@/lib/conntrack/vocabulary';
import type { ApiConnection, PageNames } from '../api/types';
import { AddressName } from '../names/AddressName';
import { LabelBadges } from './LabelBadges';
import { TimeLeft } from './TimeLeft';
import { ageSeconds, endpointText, flagBadges, formatBytes, formatCount, formatDuration, formatMark, hostPort, icmpText, natText } from '../format';

export interface ColumnContext {
  takenAt: string | undefined;
  /** When the snapshot was taken on this browser's clock (ms): time left counts down from it. */
  takenLocalMs?: number;
  /** Byte/packet counters were on for some entries (or are on now). */
  accounting: boolean;
  /** Start timestamps were on for some entries (or are on now). */
  timestamps: boolean;
  onOpen: (row: ApiConnection) => void;
  /** Live updates: "ended: cause" for a row on screen that left the table, else null. */
  endedNote?: (row: ApiConnection) => string | null;
  /** Host names and service names of the page's addresses and ports. */
  names?: PageNames;
}

type Column = ColumnDef<ApiConnection> & { id: SortKey | 'nat' | 'helper' | 'labels' | 'wan' };

const BADGE_STYLE: Record<string, string> = {
  ASSURED: 'bg-emerald-100 text-emerald-800',
  UNREPLIED: 'bg-amber-100 text-amber-900',
  NAT: 'bg-violet-100 text-violet-800',
  OFFLOAD: 'bg-sky-100 text-sky-800',
};

const num = 'text-right tabular-nums';

function Endpoint({ c, side, names }: { c: ApiConnection; side: 'src' | 'dst'; names?: PageNames }) {
  const address = side === 'src' ? c.original.src : c.original.dst;
  const service = side === 'dst' && c.original.dport !== undefined ? names?.services[`${c.protocol}/${c.original.dport}`] : undefined;
  const icmp = side === 'dst' ? icmpText(c, c.original) : undefined;
  const text = icmp ? c.original.dst : side === 'src' ? hostPort(c.original.src, c.original.sport) : hostPort(c.original.dst, c.original.dport);
  return (
    <span title={icmp ? endpointText(c, c.original, 'dst') : text} className="block min-w-0">
      <span className="font-mono">{text}</span>
      {icmp && <span className="text-xs text-slate-500"> {icmp}</span>}
      {service && <span className="text-xs text-slate-500"> {service}</span>}
      <AddressName names={names} address={address} testId={`name-${side}`} />
    </span>
  );
}

export function connectionColumns(ctx: ColumnContext): Column[] {
  const columns: Column[] = [
    {
      id: 'id',
      header: 'ID',
      size: 110,
      cell: ({ row }) => (
        <button
          type="button"
          // The row is the grid's tab stop (Enter opens the details): one Tab per row would be 100 per page.
          tabIndex={-1}
          className="font-mono text-sky-700 hover:underline"
          aria-label={`Details of connection ${row.original.id}`}
          onClick={(event) => {
            event.stopPropagation();
            ctx.onOpen(row.original);
          }}
        >
          {row.original.id}
        </button>
      ),
    },
    { id: 'family', header: 'Family', size: 64, meta: { hiddenByDefault: true }, cell: ({ row }) => (row.original.family === 'ipv6' ? 'IPv6' : 'IPv4') },
    { id: 'protocol', header: 'Proto', size: 64, cell: ({ row }) => row.original.protocol },
    {
      // Sorted by source; the destination has a column of its own (hidden by default) to sort by it.
      id: 'src',
      header: 'Source → destination',
      size: 340,
      cell: ({ row }) => {
        const nat = natText(row.original);
        return (
          <span className="block min-w-0">
            <span className="flex min-w-0 flex-wrap items-baseline gap-x-1">
              <Endpoint c={row.original} side="src" names={ctx.names} />
              <span aria-label="to" className="text-slate-500">
                →
              </span>
              <Endpoint c={row.original} side="dst" names={ctx.names} />
            </span>
            {nat.length > 0 && (
              <span className="block truncate font-mono text-xs text-violet-800" data-testid="nat-line" title={nat.join(' · ')}>
                {nat.join(' · ')}
              </span>
            )}
          </span>
        );
      },
    },
    { id: 'dst', header: 'Destination', size: 230, meta: { hiddenByDefault: true }, cell: ({ row }) => <Endpoint c={row.original} side="dst" names={ctx.names} /> },
    {
      id: 'nat',
      header: 'NAT',
      size: 190,
      enableSorting: false,
      meta: { hiddenByDefault: true },
      cell: ({ row }) => {
        const lines = natText(row.original);
        return lines.length ? <span className="font-mono text-xs">{lines.join(' · ')}</span> : <span className="text-slate-400">—</span>;
      },
    },
    {
      id: 'wan',
      header: 'WAN',
      size: 110,
      enableSorting: false,
      meta: { hiddenByDefault: true },
      cell: ({ row }) => {
        const { wan, stale, external } = row.original;
        if (wan === undefined || wan === 'none') return <span className="text-slate-400">—</span>;
        return (
          <span className="flex items-center gap-1" data-testid="wan-cell">
            <span className={wan === 'unknown' ? 'italic text-slate-500' : ''}>{wan}</span>
            {stale && (
              <span
                data-badge="STALE"
                title={`${external?.address ?? 'its external address'} is on no interface now`}
                className="rounded bg-red-100 px-1.5 py-0.5 text-[10px] font-semibold text-red-800"
              >
                STALE
              </span>
            )}
          </span>
        );
      },
    },
    {
      id: 'state',
      header: 'State',
      size: 125,
      cell: ({ row }) => {
        const ended = ctx.endedNote?.(row.original);
        if (ended) {
          return (
            <span className="text-amber-800" title={ended} data-testid="live-ended">
              {ended}
            </span>
          );
        }
        return row.original.state ?? <span className="text-slate-400">—</span>;
      },
    },
    {
      id: 'status',
      header: 'Flags',
      size: 170,
      meta: { hiddenByDefault: true },
      cell: ({ row }) => (
        <span className="flex gap-1" title={row.original.status.join(' ')}>
          {flagBadges(row.original).map((badge) => (
            <span key={badge} data-badge={badge} className={`rounded px-1.5 py-0.5 text-[10px] font-semibold ${BADGE_STYLE[badge]}`}>
              {badge}
            </span>
          ))}
        </span>
      ),
    },
    {
      id: 'helper',
      header: 'Helper',
      size: 70,
      enableSorting: false,
      meta: { hiddenByDefault: true },
      cell: ({ row }) => (row.original.helper ? <span data-testid="helper-cell">{row.original.helper}</span> : <span className="text-slate-400">—</span>),
    },
    {
      id: 'labels',
      header: 'Labels',
      size: 150,
      enableSorting: false,
      meta: { hiddenByDefault: true },
      cell: ({ row }) => (row.original.labels?.length ? <LabelBadges labels={row.original.labels} /> : <span className="text-slate-400">—</span>),
    },
  ];
  const counter = (id: SortKey, header: string, pick: (c: NonNullable<ApiConnection['counters']>) => number, bytes: boolean, label: string): Column => ({
    id,
    header,
    size: 92,
    sortDescFirst: true,
    meta: { label, hiddenByDefault: true },
    cell: ({ row }) => {
      const counters = row.original.counters;
      if (!counters) return <span className={`block ${num} text-slate-500`}>—</span>;
      const value = pick(counters);
      return (
        <span className={`block ${num}`} title={formatCount(value)}>
          {bytes ? formatBytes(value) : formatCount(value)}
        </span>
      );
    },
  });
  // The default columns end with total bytes, time left and age; the per-direction counters follow, hidden.
  if (ctx.accounting) {
    columns.push({
      id: 'bytes',
      header: 'Bytes',
      size: 92,
      sortDescFirst: true,
      cell: ({ row }) => {
        const counters = row.original.counters;
        if (!counters) return <span className={`block ${num} text-slate-500`}>—</span>;
        const { original, reply } = counters;
        return (
          <span className={`block ${num}`} title={`${formatCount(original.bytes)} bytes → (${formatCount(original.packets)} packets), ${formatCount(reply.bytes)} bytes ← (${formatCount(reply.packets)} packets)`}>
            {formatBytes(original.bytes + reply.bytes)}
          </span>
        );
      },
    });
  }
  columns.push({
    id: 'timeout',
    header: 'Time left',
    size: 90,
    sortDescFirst: true,
    cell: ({ row }) => <TimeLeft timeout={row.original.timeout} takenLocalMs={ctx.takenLocalMs} className={`block ${num}`} />,
  });
  if (ctx.timestamps) {
    columns.push({
      id: 'startedAt',
      header: 'Age',
      size: 90,
      cell: ({ row }) => {
        const age = ageSeconds(row.original, ctx.takenAt);
        return age === undefined ? (
          <span className={`block ${num} text-slate-500`}>—</span>
        ) : (
          <span className={`block ${num}`} title={`started ${row.original.startedAt}`}>
            {formatDuration(age)}
          </span>
        );
      },
    });
  }
  if (ctx.accounting) {
    columns.push(
      counter('bytesOriginal', 'Bytes →', (k) => k.original.bytes, true, 'Bytes, original direction'),
      counter('bytesReply', 'Bytes ←', (k) => k.reply.bytes, true, 'Bytes, reply direction'),
      counter('packetsOriginal', 'Pkts →', (k) => k.original.packets, false, 'Packets, original direction'),
      counter('packetsReply', 'Pkts ←', (k) => k.reply.packets, false, 'Packets, reply direction'),
    );
  }
  columns.push(
    { id: 'mark', header: 'Mark', size: 80, meta: { hiddenByDefault: true }, cell: ({ row }) => <span className="font-mono text-xs">{formatMark(row.original.mark)}</span> },
    { id: 'zone', header: 'Zone', size: 60, meta: { hiddenByDefault: true }, cell: ({ row }) => <span className={`block ${num}`}>{row.original.zone}</span> },
  );
  return columns;
}
