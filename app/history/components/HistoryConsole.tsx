'use client';
// The history page: filters in the URL, a status line (recorder, lost events), the table of ended connections
// with selection and a context menu (Copy / Clear selected / Clear all), typed confirmation for Clear all; every
// column sorts (both orders), a row opens its details, and the NAT lookup answers abuse reports.
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { ApiError, apiRequest } from '@/app/components/api/http';
import { Dialog } from '@/app/components/ui/Dialog';
import { buttonClass } from '@/app/components/ui/buttons';
import { formatBytes, formatCount, formatDuration, formatTime, hostPort } from '@/app/components/connections/format';
import { CAUSES, CAUSE_LABELS, HISTORY_SORT_KEYS, type HistorySortKey } from '@/lib/history/cause-names';
import type { ApiHistoryEntry, ApiHistoryPage, ApiHistoryStatus } from '@/lib/console/history-types';
import { AddressName } from '@/app/components/names/AddressName';
import { ReverseDnsToggle } from '@/app/components/names/ReverseDnsToggle';
import { rowAddresses, useReverseNames } from '@/app/components/names/useReverseNames';
import { HistoryDetails } from './HistoryDetails';
import { NatLookup } from './NatLookup';

const PAGE = 100;
const FIELDS = ['id', 'ip', 'host', 'port', 'external', 'protocol', 'cause', 'from', 'to'] as const;
type Field = (typeof FIELDS)[number];
const CONFIRM_TEXT = 'clear all';

export type HistorySearch = Record<string, string | string[] | undefined>;

/** The page's filters from the URL (datetime-local inputs show local time without a zone). */
interface Applied {
  values: Record<Field, string>;
  offset: number;
  sort: HistorySortKey;
  order: 'asc' | 'desc';
}

function fromSearch(search: HistorySearch): Applied {
  const one = (key: string): string => {
    const value = search[key];
    return (Array.isArray(value) ? value[0] : value) ?? '';
  };
  const values = Object.fromEntries(FIELDS.map((f) => [f, one(f)])) as Record<Field, string>;
  for (const field of ['from', 'to'] as const) {
    const ms = Date.parse(values[field]);
    if (values[field] && Number.isFinite(ms)) {
      const local = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
      values[field] = local.toISOString().slice(0, 16);
    }
  }
  const sort = (HISTORY_SORT_KEYS as readonly string[]).includes(one('sort')) ? (one('sort') as HistorySortKey) : 'ended';
  return { values, offset: Number(one('offset')) || 0, sort, order: one('order') === 'asc' ? 'asc' : 'desc' };
}

function queryOf(values: Record<Field, string>, offset: number, sort?: { sort: HistorySortKey; order: 'asc' | 'desc' }): string {
  const params = new URLSearchParams();
  for (const field of FIELDS) {
    const value = values[field].trim();
    if (!value) continue;
    // datetime-local inputs have no zone: they mean local time.
    params.set(field, field === 'from' || field === 'to' ? new Date(value).toISOString() : value);
  }
  if (sort && (sort.sort !== 'ended' || sort.order !== 'desc')) {
    params.set('sort', sort.sort);
    params.set('order', sort.order);
  }
  if (offset) params.set('offset', String(offset));
  return params.toString();
}

const endpointText = (e: ApiHistoryEntry['original'], side: 'src' | 'dst'): string => (side === 'src' ? hostPort(e.src, e.sport) : hostPort(e.dst, e.dport));

/** The columns of the table, each with the sort key it orders by. */
const COLUMNS: { label: string; sort: HistorySortKey }[] = [
  { label: 'Id', sort: 'id' },
  { label: 'Proto', sort: 'protocol' },
  { label: 'Source', sort: 'src' },
  { label: 'Destination', sort: 'dst' },
  { label: 'External', sort: 'external' },
  { label: 'Started', sort: 'started' },
  { label: 'Ended', sort: 'ended' },
  { label: 'Duration', sort: 'duration' },
  { label: 'Bytes → / ←', sort: 'bytes' },
  { label: 'Final state', sort: 'state' },
  { label: 'Cause', sort: 'cause' },
];

function StatusLine({ status }: { status: ApiHistoryStatus }) {
  const recorder = status.recorder;
  const loss = status.loss;
  return (
    <div className="mb-3 space-y-1 text-sm" data-testid="history-status">
      {!recorder && <p className="rounded bg-amber-50 px-3 py-2 text-amber-900">{status.disabled}</p>}
      {recorder && !recorder.running && (
        <p className="rounded bg-red-50 px-3 py-2 text-red-900" data-testid="recorder-down">
          The recorder is not running{recorder.error ? `: ${recorder.error}` : ''}. Ended connections are not being recorded.
        </p>
      )}
      {recorder && (
        <p className={recorder.eventsSysctl.value === 1 ? 'text-slate-600' : 'rounded bg-amber-50 px-3 py-2 text-amber-900'} data-testid="sysctl-notice">
          net.netfilter.nf_conntrack_events is {String(recorder.eventsSysctl.value ?? 'unreadable')}
          {recorder.eventsSysctl.error ? ` and could not be set to 1 (${recorder.eventsSysctl.error})` : ''}: {recorder.eventsMeaning}.
        </p>
      )}
      {recorder?.writeError && (
        <p className="rounded bg-red-50 px-3 py-2 text-red-900" data-testid="rows-unwritten">
          {recorder.unwritten.toLocaleString('en-US')} ended connections are not written yet ({recorder.writeError}); they are retried.
        </p>
      )}
      {(loss.down.gaps > 0 || loss.unwrittenRows > 0 || loss.namespaceReplaced > 0) && (
        <p className="rounded bg-amber-50 px-3 py-2 text-amber-900" data-testid="history-gaps">
          {loss.down.gaps > 0 && `The recorder was not running ${loss.down.gaps} times (${Math.round(loss.down.ms / 1000).toLocaleString('en-US')} s in all): connections that ended then are missing. `}
          {loss.namespaceReplaced > 0 && `The managed namespace was replaced ${loss.namespaceReplaced} times; the recorder subscribed again. `}
          {loss.unwrittenRows > 0 && `${loss.unwrittenRows.toLocaleString('en-US')} ended connections could not be written and were dropped.`}
        </p>
      )}
      {loss.overflows > 0 && (
        <p className="rounded bg-amber-50 px-3 py-2 text-amber-900" data-testid="events-lost">
          {loss.lostEvents === null ? 'Some events' : `${loss.lostEvents.toLocaleString('en-US')} events`} lost since {formatTime(loss.since)} (the kernel&apos;s
          buffer overflowed {loss.overflows} times): connections that ended then may be missing.
        </p>
      )}
      {recorder?.startedAt && (
        <p className="text-slate-600" data-testid="recording-since">
          Recording since {formatTime(recorder.startedAt)}: the {formatCount(recorder.openAtStart)} connections open then are recorded when a later dump
          finds them gone{recorder.openWatched ? ` (${formatCount(recorder.openWatched)} still open)` : ''}; connections before that are not in the history.
        </p>
      )}
      <p className="text-slate-600">
        {status.rows.toLocaleString('en-US')} rows kept{status.retention.days ? `, ${status.retention.days} days` : ''}
        {status.retention.maxRows ? `, at most ${status.retention.maxRows.toLocaleString('en-US')} rows` : ''}.
      </p>
    </div>
  );
}

interface Menu {
  x: number;
  y: number;
  entry: ApiHistoryEntry;
}

export function HistoryConsole({ canClear, search }: { canClear: boolean; search: HistorySearch }) {
  const [values, setValues] = useState<Record<Field, string>>(() => fromSearch(search).values);
  const [applied, setApplied] = useState<Applied>(() => fromSearch(search));
  const [details, setDetails] = useState<ApiHistoryEntry | null>(null);
  const [reloads, setReloads] = useState(0);
  const [page, setPage] = useState<ApiHistoryPage | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [menu, setMenu] = useState<Menu | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [typed, setTyped] = useState('');
  const [notice, setNotice] = useState('');

  useEffect(() => {
    const query = queryOf(applied.values, applied.offset, applied);
    window.history.replaceState(null, '', query ? `/history?${query}` : '/history');
    const controller = new AbortController();
    apiRequest<ApiHistoryPage>(`/api/history?${queryOf(applied.values, 0)}&sort=${applied.sort}&order=${applied.order}&limit=${PAGE}&offset=${applied.offset}`, { signal: controller.signal }).then(
      (next) => {
        setPage(next);
        setError(null);
      },
      (caught: unknown) => {
        if (!controller.signal.aborted) setError(caught instanceof ApiError ? caught : new ApiError(0, 'network', String(caught)));
      },
    );
    return () => controller.abort();
  }, [applied, reloads]);

  const load = async () => setReloads((n) => n + 1);

  useEffect(() => {
    if (!menu) return;
    const close = () => setMenu(null);
    window.addEventListener('click', close);
    window.addEventListener('keydown', close);
    return () => {
      window.removeEventListener('click', close);
      window.removeEventListener('keydown', close);
    };
  }, [menu]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSelected(new Set());
    setApplied({ ...applied, values, offset: 0 });
  };

  const sortBy = (sort: HistorySortKey) =>
    setApplied({ ...applied, sort, order: applied.sort === sort && applied.order === 'desc' ? 'asc' : 'desc', offset: 0 });

  const clearSelected = async (keys: number[]) => {
    if (!keys.length) return;
    const { deleted } = await apiRequest<{ deleted: number }>('/api/history/delete', { method: 'POST', body: { keys } });
    setNotice(`Cleared ${deleted} ${deleted === 1 ? 'row' : 'rows'}.`);
    setSelected(new Set());
    await load();
  };

  const clearAll = async () => {
    const { deleted } = await apiRequest<{ deleted: number }>('/api/history/clear', { method: 'POST', body: {} });
    setConfirming(false);
    setTyped('');
    setNotice(`Cleared the whole history (${deleted} rows).`);
    setSelected(new Set());
    await load();
  };

  const act = (work: () => Promise<void>) => () => {
    setMenu(null);
    work().catch((caught: unknown) => setError(caught instanceof ApiError ? caught : new ApiError(0, 'network', String(caught))));
  };

  const copy = (entry: ApiHistoryEntry) => {
    const text = `${entry.id} ${entry.protocol} ${endpointText(entry.original, 'src')} -> ${endpointText(entry.original, 'dst')} ended ${entry.endedAt} (${entry.cause})`;
    void navigator.clipboard?.writeText(text).then(
      () => setNotice('Copied.'),
      () => setNotice(text),
    );
  };

  const items = useMemo(() => page?.items ?? [], [page]);
  const addresses = useMemo(() => rowAddresses(items), [items]);
  const { names, reverse } = useReverseNames('history', page ?? undefined, addresses);
  const allSelected = items.length > 0 && items.every((e) => selected.has(e.key));
  const exportQuery = queryOf(applied.values, 0, applied);
  const total = page ? (page.exact ? formatCount(page.matched) : `more than ${formatCount(page.matched)}`) : '';

  return (
    <div className="w-full px-4 py-4 sm:px-6">
      <h1 className="mb-4 text-xl font-semibold">Connection history</h1>
      <form onSubmit={submit} className="mb-3 flex flex-wrap items-end gap-3 text-sm" aria-label="History filters">
        {(['id', 'ip', 'host', 'port', 'external'] as const).map((field) => (
          <label key={field} className="flex flex-col">
            {{ id: 'Connection id', ip: 'Address or prefix', host: 'Host name', port: 'Port', external: 'External address' }[field]}
            <input
              name={field}
              value={values[field]}
              onChange={(e) => setValues({ ...values, [field]: e.target.value })}
              className="rounded border px-2 py-1"
              data-testid={`history-filter-${field}`}
            />
          </label>
        ))}
        <label className="flex flex-col">
          Protocol
          <select value={values.protocol} onChange={(e) => setValues({ ...values, protocol: e.target.value })} className="rounded border px-2 py-1" data-testid="history-filter-protocol">
            <option value="">any</option>
            {['tcp', 'udp', 'icmp', 'icmpv6', 'sctp'].map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </label>
        <label className="flex flex-col">
          Cause
          <select value={values.cause} onChange={(e) => setValues({ ...values, cause: e.target.value })} className="rounded border px-2 py-1" data-testid="history-filter-cause">
            <option value="">any</option>
            {CAUSES.map((c) => (
              <option key={c} value={c}>
                {CAUSE_LABELS[c]}
              </option>
            ))}
          </select>
        </label>
        <label className="flex flex-col">
          Ended from
          <input type="datetime-local" value={values.from} onChange={(e) => setValues({ ...values, from: e.target.value })} className="rounded border px-2 py-1" />
        </label>
        <label className="flex flex-col">
          to
          <input type="datetime-local" value={values.to} onChange={(e) => setValues({ ...values, to: e.target.value })} className="rounded border px-2 py-1" />
        </label>
        <button type="submit" className={buttonClass.primary} data-testid="history-apply">
          Search
        </button>
        <a className={buttonClass.secondary} href={`/api/history/export?${exportQuery}${exportQuery ? '&' : ''}format=csv`}>
          Export CSV
        </a>
        <a className={buttonClass.secondary} href={`/api/history/export?${exportQuery}${exportQuery ? '&' : ''}format=json`}>
          Export JSON
        </a>
      </form>
      {page && <StatusLine status={page.status} />}
      <NatLookup />
      {error && (
        <p role="alert" className="mb-3 rounded bg-red-50 px-3 py-2 text-sm text-red-900" data-testid="history-error">
          {error.message} {error.advice}
        </p>
      )}
      {notice && (
        <p role="status" className="mb-3 text-sm text-slate-700" data-testid="history-notice">
          {notice}
        </p>
      )}
      <div className="mb-2 flex flex-wrap items-center gap-2 text-sm">
        <ReverseDnsToggle state={reverse} />
        <span data-testid="history-matched">{page ? `${total} ended connections` : 'Loading…'}</span>
        {canClear && (
          <>
            <button type="button" className={buttonClass.dangerOutline} disabled={!selected.size} onClick={act(() => clearSelected([...selected]))} data-testid="history-clear-selected">
              Clear selected ({selected.size})
            </button>
            <button type="button" className={buttonClass.danger} onClick={() => setConfirming(true)} data-testid="history-clear-all">
              Clear all…
            </button>
          </>
        )}
      </div>
      {/* Wide on a phone: the table scrolls on its own, the page does not. */}
      <div className="overflow-x-auto">
        <table className="w-full border-collapse text-sm" aria-label="History" aria-busy={page === null}>
          <thead>
            <tr className="border-b text-left">
              {/* 36 px wide and 24 px tall targets: the checkbox and the first sort button are far enough apart (WCAG 2.5.8). */}
              <th className="w-9 p-1 text-center">
                <input type="checkbox" aria-label="Select all" checked={allSelected} onChange={() => setSelected(allSelected ? new Set() : new Set(items.map((e) => e.key)))} />
              </th>
              {COLUMNS.map((column) => (
                <th key={column.sort} className="p-1" aria-sort={applied.sort === column.sort ? (applied.order === 'asc' ? 'ascending' : 'descending') : 'none'}>
                  <button type="button" className="min-h-6 px-1 font-semibold hover:underline" onClick={() => sortBy(column.sort)} data-testid={`history-sort-${column.sort}`}>
                    {column.label}
                    {applied.sort === column.sort ? (applied.order === 'asc' ? ' ▲' : ' ▼') : ''}
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {items.map((entry) => (
              <tr
                key={entry.key}
                className="border-b hover:bg-slate-100"
                data-testid="history-row"
                data-id={entry.id}
                onContextMenu={(event) => {
                  event.preventDefault();
                  setMenu({ x: event.clientX, y: event.clientY, entry });
                }}
              >
                <td className="w-9 p-1 text-center">
                  <input
                    type="checkbox"
                    aria-label={`Select ${entry.id}`}
                    checked={selected.has(entry.key)}
                    onChange={() => {
                      const next = new Set(selected);
                      if (next.has(entry.key)) next.delete(entry.key);
                      else next.add(entry.key);
                      setSelected(next);
                    }}
                  />
                </td>
                <td className="p-1 font-mono">
                  <button type="button" className="underline" onClick={() => setDetails(entry)} title="Show the details of this ended connection" data-testid="history-open-details">
                    {entry.id}
                  </button>
                </td>
                <td className="p-1">{entry.protocol}</td>
                <td className="p-1">
                  <span className="font-mono">{endpointText(entry.original, 'src')}</span>
                  <AddressName names={names} address={entry.original.src} testId="history-name-src" />
                </td>
                <td className="p-1">
                  <span className="font-mono">{endpointText(entry.original, 'dst')}</span>
                  {entry.original.dport !== undefined && names?.services[`${entry.protocol}/${entry.original.dport}`] && (
                    <span className="text-xs text-slate-500"> {names.services[`${entry.protocol}/${entry.original.dport}`]}</span>
                  )}
                  <AddressName names={names} address={entry.original.dst} testId="history-name-dst" />
                </td>
                <td className="p-1 font-mono" data-testid="history-external">
                  {entry.external ? hostPort(entry.external.address, entry.external.port) : '—'}
                </td>
                <td className="p-1">{formatTime(entry.startedAt)}</td>
                <td className="p-1" title={entry.endedAfter ? `ended between ${formatTime(entry.endedAfter)} and ${formatTime(entry.endedBefore)}` : undefined}>
                  {entry.endedAfter ? `by ${formatTime(entry.endedAt)}` : formatTime(entry.endedAt)}
                </td>
                <td className="p-1">{entry.durationMs === undefined ? '—' : formatDuration(entry.durationMs / 1000)}</td>
                <td className="p-1">
                  {entry.counters ? `${formatBytes(entry.counters.original.bytes)} / ${formatBytes(entry.counters.reply.bytes)}` : '—'}
                </td>
                <td className="p-1">{entry.state ?? '—'}</td>
                <td className="p-1" data-testid="history-cause" data-cause={entry.cause} title={entry.closedBy && entry.cause !== entry.closedBy ? `first FIN from the ${entry.closedBy}` : undefined}>
                  {CAUSE_LABELS[entry.cause]}
                  {entry.deletedBy ? ` (${entry.deletedBy})` : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {page && (page.matched > PAGE || !page.exact) && (
        <div className="mt-2 flex items-center gap-2 text-sm">
          <button type="button" className={buttonClass.secondary} disabled={applied.offset === 0} onClick={() => setApplied({ ...applied, offset: Math.max(0, applied.offset - PAGE) })}>
            Previous
          </button>
          <span>
            {applied.offset + 1}–{applied.offset + items.length} of {total}
          </span>
          <button type="button" className={buttonClass.secondary} disabled={items.length < PAGE || (page.exact && applied.offset + PAGE >= page.matched)} onClick={() => setApplied({ ...applied, offset: applied.offset + PAGE })}>
            Next
          </button>
        </div>
      )}
      {menu && (
        <ul role="menu" className="fixed z-30 min-w-44 rounded border bg-white py-1 text-sm shadow" style={{ left: menu.x, top: menu.y }} data-testid="history-menu">
          <li>
            <button type="button" role="menuitem" className="w-full px-3 py-1 text-left hover:bg-slate-100" onClick={() => copy(menu.entry)}>
              Copy
            </button>
          </li>
          {canClear && (
            <>
              <li>
                <button
                  type="button"
                  role="menuitem"
                  className="w-full px-3 py-1 text-left hover:bg-slate-100"
                  onClick={act(() => clearSelected(selected.size ? [...selected] : [menu.entry.key]))}
                >
                  Clear selected{selected.size ? ` (${selected.size})` : ''}
                </button>
              </li>
              <li>
                <button type="button" role="menuitem" className="w-full px-3 py-1 text-left text-red-700 hover:bg-slate-100" onClick={() => setConfirming(true)}>
                  Clear all…
                </button>
              </li>
            </>
          )}
        </ul>
      )}
      {details && <HistoryDetails entry={details} names={names} onClose={() => setDetails(null)} />}
      {confirming && (
        <Dialog
          title="Clear the whole history"
          onClose={() => setConfirming(false)}
          testId="history-clear-dialog"
          footer={
            <>
              <button type="button" className={buttonClass.secondary} onClick={() => setConfirming(false)}>
                Cancel
              </button>
              <button type="button" className={buttonClass.danger} disabled={typed.trim().toLowerCase() !== CONFIRM_TEXT} onClick={act(clearAll)} data-testid="history-clear-confirm">
                Clear all
              </button>
            </>
          }
        >
          <p className="mb-2 text-sm">
            Every recorded connection ({page?.status.rows.toLocaleString('en-US') ?? '?'} rows) is deleted for good. Type <strong>{CONFIRM_TEXT}</strong> to confirm.
          </p>
          <input value={typed} onChange={(e) => setTyped(e.target.value)} className="w-full rounded border px-2 py-1" aria-label="Confirmation" data-testid="history-clear-typed" />
        </Dialog>
      )}
    </div>
  );
}
