'use client';
// Everything the kernel said about one connection, both directions side by side, and a live check: the
// snapshot may be minutes old, the administrator wants to know whether the entry is still there now.
import { useState, type ReactNode } from 'react';
import { ConnectionStatusLine } from '@/app/components/live/ConnectionStatusLine';
import { ApiError, apiRequest } from '../api/http';
import type { ApiConnection, ConnectionResponse, ListResponse, PageNames } from '../api/types';
import { useApi } from '../api/useApi';
import { hostText } from '../names/format';
import { buttonClass } from '../ui/buttons';
import { Dialog } from '../ui/Dialog';
import { ErrorPanel } from '../ui/ErrorPanel';
import { LabelBadges } from './LabelBadges';
import { ageSeconds, formatBytes, formatCount, formatDuration, formatMark, formatTime, hostPort, icmpText, type CopyFormat } from '../format';

type Live = { kind: 'present'; connection: ApiConnection; at: Date } | { kind: 'gone'; at: Date } | { kind: 'error'; error: ApiError };

export interface DetailsPanelProps {
  id: number;
  /** The row, when the current page has it. */
  known: ApiConnection | undefined;
  snapshot: string | undefined;
  takenAt: string | undefined;
  /** Changes when the live stream saw this connection end: the status line asks again. */
  statusKey?: string;
  onClose: () => void;
  onCopy: (rows: ApiConnection[], format: CopyFormat) => void;
  /** Absent when the user may not delete: no delete button. */
  onDelete?: (row: ApiConnection) => void;
  /** The names of the page the row came from. */
  names?: PageNames;
}

/** The uplink line: the WAN, and for a NATed entry whether its external address is still there ("was on wan1 until ..."). */
function uplinkText(c: ApiConnection): string {
  const x = c.external;
  if (!x) return c.wan ?? '—';
  if (x.held) return `${c.wan ?? x.wan ?? '—'} (external address ${x.address})`;
  if (x.wan && x.until) return `stale: ${x.address} was on ${x.wan} until ${formatTime(x.until)}`;
  return `stale: ${x.address} is on no interface`;
}

function Row({ label, children, testId }: { label: string; children: ReactNode; testId?: string }) {
  return (
    <tr className="border-t border-slate-100 align-top">
      <th scope="row" className="w-40 py-1 pr-3 text-left font-medium text-slate-500">
        {label}
      </th>
      <td className="py-1 font-mono" data-testid={testId}>
        {children}
      </td>
    </tr>
  );
}

/** An expected (RELATED) connection's master, and the expectations this connection's helper created. */
function RelatedRows({ id, related }: { id: number; related: ConnectionResponse | undefined }) {
  if (!related) return null;
  const master = related.master;
  const masterTuple = related.connection.master;
  return (
    <>
      {master && masterTuple && (
        <Row label="Master" testId="details-master">
          {master.id !== null ? (
            <a href={`/?id=${master.id}`} className="underline" title={`Open connection ${master.id}`}>
              connection {master.id}
            </a>
          ) : (
            'gone'
          )}{' '}
          ({hostPort(masterTuple.src, masterTuple.sport)} → {hostPort(masterTuple.dst, masterTuple.dport)})
        </Row>
      )}
      {related.connection.helper !== undefined && (
        <Row label="Expectations" testId="details-expectations">
          {related.expectations.length === 0 ? (
            'none pending'
          ) : (
            <ul>
              {related.expectations.map((e) => (
                <li key={e.id}>
                  {e.helper ?? 'helper'} expects {hostPort(e.mask.src === '0.0.0.0' || e.mask.src === '::' ? '*' : e.expected.src, e.mask.sport === 0 ? undefined : e.expected.sport)} →{' '}
                  {hostPort(e.expected.dst, e.expected.dport)} ({formatDuration(e.timeout)} left)
                </li>
              ))}
            </ul>
          )}
          <a href={`/expectations?master=${id}`} className="ml-1 font-sans text-sky-800 underline">
            Expectations page
          </a>
        </Row>
      )}
    </>
  );
}


/** The described name of an address of this page, if it has one. */
const nameOf = (names: PageNames | undefined, address: string): string | undefined => hostText(names?.names[address]);

export function DetailsPanel({ id, known, snapshot, takenAt, statusKey, onClose, onCopy, onDelete, names: pageNames }: DetailsPanelProps) {
  const lookup = useApi<ListResponse>(known ? null : `details#${id}#${snapshot ?? ''}`, (signal) =>
    apiRequest<ListResponse>(`/api/connections?id=${id}&limit=1${snapshot ? `&snapshot=${encodeURIComponent(snapshot)}` : ''}`, { signal }),
  );
  // Helper, master and expectations are live facts the snapshot does not keep: ask the kernel when the panel opens.
  const related = useApi<ConnectionResponse>(`related#${id}#${statusKey ?? ''}`, (signal) => apiRequest<ConnectionResponse>(`/api/connections/${id}`, { signal }));
  const [live, setLive] = useState<Live>();
  const [checking, setChecking] = useState(false);
  const c = known ?? lookup.data?.items[0];
  const names = known ? pageNames : lookup.data;

  const checkLive = async () => {
    setChecking(true);
    try {
      const { connection } = await apiRequest<ConnectionResponse>(`/api/connections/${id}`);
      setLive({ kind: 'present', connection, at: new Date() });
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) setLive({ kind: 'gone', at: new Date() });
      else setLive({ kind: 'error', error: error instanceof ApiError ? error : new ApiError(0, 'client', String(error)) });
    } finally {
      setChecking(false);
    }
  };

  const direction = (which: 'original' | 'reply') => {
    if (!c) return null;
    const t = c[which];
    return { src: t.src, dst: t.dst, sport: t.sport, dport: t.dport, icmp: icmpText(c, t), counters: c.counters?.[which] };
  };
  const o = direction('original');
  const r = direction('reply');
  const age = c ? ageSeconds(c, takenAt) : undefined;

  return (
    <Dialog title={`Connection ${id}`} onClose={onClose} wide testId="details-panel">
      {!c && lookup.loading && <p className="text-sm text-slate-600">Loading connection {id}…</p>}
      {!c && lookup.error && <ErrorPanel title={`Could not load connection ${id}`} error={lookup.error} />}
      {!c && lookup.data && lookup.data.items.length === 0 && (
        <p className="text-sm text-slate-700" data-testid="details-missing">
          Connection {id} is not in the current snapshot. It may have closed or been deleted; check whether the kernel still has it.
        </p>
      )}
      {c && o && r && (
        <div className="space-y-4 text-sm">
          <table className="w-full text-left" data-testid="details-directions">
            <thead className="text-slate-500">
              <tr>
                <th className="w-40" />
                <th className="py-1">Original (client → server)</th>
                <th className="py-1">Reply (server → client)</th>
              </tr>
            </thead>
            <tbody className="font-mono">
              {(
                [
                  ['Source', o.src, r.src],
                  ['Source name', nameOf(names, o.src), nameOf(names, r.src)],
                  ['Destination', o.dst, r.dst],
                  ['Destination name', nameOf(names, o.dst), nameOf(names, r.dst)],
                  ['Source MAC (neighbour table)', names?.macs[o.src], names?.macs[r.src]],
                  ['Destination MAC (neighbour table)', names?.macs[o.dst], names?.macs[r.dst]],
                  ['Source port', o.sport, r.sport],
                  ['Destination port', o.dport, r.dport],
                  ['Service', o.dport === undefined ? undefined : names?.services[`${c?.protocol}/${o.dport}`], undefined],
                  ['ICMP', o.icmp, r.icmp],
                  ['Packets', o.counters && formatCount(o.counters.packets), r.counters && formatCount(r.counters.packets)],
                  ['Bytes', o.counters && `${formatCount(o.counters.bytes)} (${formatBytes(o.counters.bytes)})`, r.counters && `${formatCount(r.counters.bytes)} (${formatBytes(r.counters.bytes)})`],
                ] as const
              )
                .filter(([, a, b]) => a !== undefined || b !== undefined)
                .map(([label, a, b]) => (
                  <tr key={label} className="border-t border-slate-100">
                    <th scope="row" className="py-1 pr-3 font-sans font-medium text-slate-500">
                      {label}
                    </th>
                    <td>{a ?? '—'}</td>
                    <td>{b ?? '—'}</td>
                  </tr>
                ))}
            </tbody>
          </table>
          <table className="w-full">
            <tbody>
              <Row label="ID">{c.id}</Row>
              <Row label="Family">{c.family}</Row>
              <Row label="Protocol">
                {c.protocol} ({c.protocolNumber})
              </Row>
              {c.state && <Row label="TCP state">{c.state}</Row>}
              {c.closedBy && <Row label="Closed by">{c.closedBy} (sent the first FIN)</Row>}
              <Row label="Timeout">
                {formatDuration(c.timeout)} left at snapshot time
              </Row>
              <Row label="Status flags" testId="details-status">
                {c.status.join(' ') || '(none)'}
              </Row>
              <Row label="SNAT">{c.nat.snat ? hostPort(c.nat.snat.address, c.nat.snat.port) : '—'}</Row>
              <Row label="DNAT">{c.nat.dnat ? hostPort(c.nat.dnat.address, c.nat.dnat.port) : '—'}</Row>
              <Row label="WAN" testId="details-wan">
                {uplinkText(c)}
              </Row>
              <Row label="Mark">
                {formatMark(c.mark)} ({c.mark})
              </Row>
              <Row label="Zone">{c.zone}</Row>
              <Row label="Helper" testId="details-helper">
                {c.helper ?? related.data?.connection.helper ?? '—'}
              </Row>
              <Row label="Labels" testId="details-labels">
                {c.labels?.length ? <LabelBadges labels={c.labels} /> : '—'}
              </Row>
              <RelatedRows id={id} related={related.data} />
              <Row label="Use">{c.use}</Row>
              <Row label="Started">{c.startedAt ? `${formatTime(c.startedAt)}${age !== undefined ? ` (${formatDuration(age)} before the snapshot)` : ''}` : 'unknown (timestamps off)'}</Row>
              {!c.counters && <Row label="Counters">off when this entry was created (sysctl -w net.netfilter.nf_conntrack_acct=1)</Row>}
            </tbody>
          </table>
        </div>
      )}
      <div className="mt-4 space-y-2 border-t border-slate-200 pt-3">
        <ConnectionStatusLine id={id} refreshKey={`${statusKey ?? ''}|${live && live.kind !== 'error' ? live.at.getTime() : ''}`} />
        <div className="flex flex-wrap gap-2">
          <button type="button" className={buttonClass.primary} onClick={checkLive} disabled={checking} data-testid="check-live">
            {checking ? 'Checking…' : 'Check live status'}
          </button>
          {c && (
            <>
              <button type="button" className={buttonClass.secondary} onClick={() => onCopy([c], 'text')}>
                Copy as text
              </button>
              <button type="button" className={buttonClass.secondary} onClick={() => onCopy([c], 'json')}>
                Copy as JSON
              </button>
              <button type="button" className={buttonClass.secondary} onClick={() => onCopy([c], 'command')}>
                Copy conntrack -D
              </button>
              {onDelete && (
                <button type="button" className={buttonClass.dangerOutline} onClick={() => onDelete(c)}>
                  Delete…
                </button>
              )}
            </>
          )}
        </div>
        {live && (
          <div data-testid="live-status" data-live={live.kind} className="text-sm">
            {live.kind === 'present' && (
              <p className="text-emerald-800">
                Still in the table at {formatTime(live.at.toISOString())}: {live.connection.state ? `${live.connection.state}, ` : ''}
                {formatDuration(live.connection.timeout)} left{live.connection.counters ? `, ${formatCount(live.connection.counters.original.packets + live.connection.counters.reply.packets)} packets` : ''}.
              </p>
            )}
            {live.kind === 'gone' && <p className="text-amber-800">Gone: the kernel no longer has connection {id} (checked {formatTime(live.at.toISOString())}).</p>}
            {live.kind === 'error' && <ErrorPanel title="Could not check the live status" error={live.error} />}
          </div>
        )}
      </div>
    </Dialog>
  );
}
