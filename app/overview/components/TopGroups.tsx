'use client';
// What fills the table: for each grouping the overview API offers, the snapshot's top 10 groups and "others" as
// bars (entries, share, bytes both ways), ordered by entries or bytes. A bar is a link to Connections filtered to
// exactly its group; "Delete" beside it runs the usual delete-matching preview and confirmation.
import { GROUP_KEYS, type GroupKey, type GroupMetric } from '@/lib/conntrack/vocabulary';
import { useEffect } from 'react';
import { type ApiError, apiRequest } from '../../components/api/http';
import type { OverviewResponse } from '../../components/api/types';
import { useApi } from '../../components/api/useApi';
import { formatBytes, formatCount } from '../../components/format';
import { describeFilters } from '../../components/connections/query';
import { ErrorPanel } from '../../components/ui/ErrorPanel';

/** What each grouping is called, and what its ungrouped entries lack (a new grouping of the API must be named here). */
const TITLES: Record<GroupKey, { title: string; ungrouped?: string }> = {
  src: { title: 'Source hosts' },
  dst: { title: 'Destination hosts' },
  dport: { title: 'Destination ports', ungrouped: 'without ports (ICMP and others)' },
  external: { title: 'External addresses', ungrouped: 'not NATed' },
  wan: { title: 'WANs', ungrouped: 'on no WAN' },
  protocol: { title: 'Protocols' },
  state: { title: 'TCP states and UDP replied', ungrouped: 'neither TCP nor UDP' },
  udp: { title: 'UDP replied or unreplied', ungrouped: 'not UDP' },
  zone: { title: 'Zones' },
  mark: { title: 'Marks' },
};

export const TOP = 10;

const weight = (g: { count: number; bytes: { original: number; reply: number } }, metric: GroupMetric): number => (metric === 'count' ? g.count : g.bytes.original + g.bytes.reply);

const share = (count: number, total: number): string => {
  const percent = total ? (count / total) * 100 : 0;
  return `${percent >= 10 || percent === 0 ? Math.round(percent) : percent.toFixed(1)}%`;
};

export type Group = OverviewResponse['groups'][number];

function Bar({ value, largest, muted }: { value: number; largest: number; muted?: boolean }) {
  return (
    <div className="h-2 rounded-sm bg-slate-100" aria-hidden>
      <div className={`h-full rounded-sm ${muted ? 'bg-slate-400' : 'bg-sky-600'}`} style={{ width: `${largest ? Math.max(0.5, (value / largest) * 100) : 0}%` }} />
    </div>
  );
}

function Figures({ count, bytes, total }: { count: number; bytes: Group['bytes']; total: number }) {
  return (
    <span className="flex flex-wrap justify-between gap-x-3 text-xs text-slate-600 tabular-nums">
      <span>
        <span data-testid="group-count">{formatCount(count)}</span> {count === 1 ? 'entry' : 'entries'} · {share(count, total)}
      </span>
      <span>
        {formatBytes(bytes.original)} orig · {formatBytes(bytes.reply)} reply
      </span>
    </span>
  );
}

const isSnapshotGone = (error: ApiError | undefined): boolean => error?.code === 'snapshot_expired' || error?.code === 'snapshot_not_found';

function GroupCard({ by, snapshot, metric, canDelete, onDelete, onStale }: TopGroupsProps & { by: GroupKey }) {
  const url = `/api/overview?by=${by}&metric=${metric}&limit=${TOP}&snapshot=${encodeURIComponent(snapshot)}`;
  const answer = useApi<OverviewResponse>(url, (signal) => apiRequest<OverviewResponse>(url, { signal }));
  // Another tab replaced the snapshot (the server keeps two): take a new one for every card.
  const stale = isSnapshotGone(answer.error);
  useEffect(() => {
    if (stale) onStale();
  }, [stale, onStale]);
  const { title, ungrouped } = TITLES[by];
  const data = answer.data;
  const largest = data ? Math.max(1, ...data.groups.map((g) => weight(g, metric)), weight(data.others, metric)) : 1;
  const headingId = `groups-${by}`;
  return (
    <section aria-labelledby={headingId} className="min-w-0 rounded-lg border border-slate-200 bg-white p-3" data-testid={`groups-${by}`} aria-busy={answer.loading}>
      <h3 id={headingId} className="text-sm font-semibold text-slate-900">
        {title}
      </h3>
      {answer.error && !stale && <ErrorPanel title={`Could not group by ${by}`} error={answer.error} />}
      {data && data.groups.length === 0 && <p className="mt-2 text-sm text-slate-600">No entries to group.</p>}
      {data && data.groups.length > 0 && (
        <ol className="mt-2 space-y-1">
          {data.groups.map((group) => (
            <li key={group.key} className="flex items-stretch gap-1" data-testid="group">
              <a
                href={`/?${new URLSearchParams(group.filter).toString()}`}
                className="block min-w-0 flex-1 space-y-0.5 rounded px-1 py-0.5 hover:bg-slate-50"
                data-testid="group-link"
                data-key={group.key}
              >
                <span className="flex items-baseline gap-2 text-sm">
                  <span className="truncate font-mono text-slate-900">{group.key}</span>
                  {group.name && <span className="truncate text-xs text-slate-600">{group.name}</span>}
                </span>
                <Bar value={weight(group, metric)} largest={largest} />
                <Figures count={group.count} bytes={group.bytes} total={data.total} />
                <span className="sr-only">open in Connections</span>
              </a>
              {canDelete && (
                <button
                  type="button"
                  className="shrink-0 self-center rounded border border-red-300 bg-white px-2 py-1 text-xs font-medium text-red-700 hover:bg-red-50"
                  aria-label={`Delete the connections matching ${describeFilters(group.filter)}`}
                  data-testid="group-delete"
                  onClick={() => onDelete(group)}
                >
                  Delete
                </button>
              )}
            </li>
          ))}
          {data.others.groups > 0 && (
            <li className="space-y-0.5 px-1 py-0.5" data-testid="group-others">
              <span className="block text-sm text-slate-700">
                {formatCount(data.others.groups)} other{data.others.groups === 1 ? '' : 's'}
              </span>
              <Bar value={weight(data.others, metric)} largest={largest} muted />
              <Figures count={data.others.count} bytes={data.others.bytes} total={data.total} />
            </li>
          )}
        </ol>
      )}
      {data && data.ungrouped > 0 && (
        <p className="mt-1 px-1 text-xs text-slate-600">
          {formatCount(data.ungrouped)} more {data.ungrouped === 1 ? 'entry' : 'entries'} {ungrouped ?? 'without this property'}.
        </p>
      )}
    </section>
  );
}

export interface TopGroupsProps {
  /** Every card groups this snapshot, so their figures agree. */
  snapshot: string;
  metric: GroupMetric;
  canDelete: boolean;
  onDelete: (group: Group) => void;
  /** The snapshot is gone from the server. */
  onStale: () => void;
}

export function TopGroups(props: TopGroupsProps) {
  return (
    <div className="grid gap-3 md:grid-cols-2 xl:grid-cols-3">
      {GROUP_KEYS.map((by) => (
        <GroupCard key={by} by={by} {...props} />
      ))}
    </div>
  );
}
