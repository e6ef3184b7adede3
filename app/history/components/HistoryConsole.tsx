'use client';
// The history page, on the shared parts: filters and sort in the URL (the URL-state helper), one request per view
// (useApi), the shared grid (sorting, selection, column choice, row menu and keyboard), the shared pager, the
// toast area, and the typed confirmation (CLEAR) for Clear all. A status line says what the recorder missed;
// a row opens its details; the NAT lookup answers abuse reports.
import { useRouter } from 'next/navigation';
import { useMemo, useState, type FormEvent } from 'react';
import type { ColumnDef, RowSelectionState, SortingState } from '@tanstack/react-table';
import { ApiError, apiRequest } from '@/app/components/api/http';
import { useApi } from '@/app/components/api/useApi';
import { formatBytes, formatCount, formatDuration, formatTime, hostPort, writeClipboard } from '@/app/components/format';
import { DataGrid } from '@/app/components/grid/DataGrid';
import { Pager } from '@/app/components/grid/Pager';
import type { MenuItem } from '@/app/components/grid/RowMenu';
import { useShortcuts } from '@/app/components/keyboard/useShortcuts';
import { buttonClass } from '@/app/components/ui/buttons';
import { CLEAR_WORD, typedMatches } from '@/app/components/ui/confirm-word';
import { Dialog } from '@/app/components/ui/Dialog';
import { ErrorPanel } from '@/app/components/ui/ErrorPanel';
import { useToast } from '@/app/components/ui/Toast';
import { usePhoneFold } from '@/app/components/ui/usePhoneFold';
import { TypeToConfirm } from '@/app/components/ui/TypeToConfirm';
import { CAUSES, CAUSE_LABELS, type HistorySortKey } from '@/lib/history/cause-names';
import type { ApiHistoryEntry, ApiHistoryPage, ApiHistoryStatus } from '@/lib/console/history-types';
import { DateRange } from '@/app/components/DateRange';
import { rangeDraft, rangeInstants, rangeProblem, type DateRangeDraft } from '@/app/components/time-input';
import { AddressName } from '@/app/components/names/AddressName';
import { ReverseDnsToggle } from '@/app/components/names/ReverseDnsToggle';
import { rowAddresses, useReverseNames } from '@/app/components/names/useReverseNames';
import { HistoryDetails } from './HistoryDetails';
import { NatLookup } from './NatLookup';
import { PAGE_SIZES } from '@/app/components/url-state';
import { HISTORY_FILTERS, historyFilterParams, historyHref, sortOf, type HistoryView } from './url';

const endpointText = (e: ApiHistoryEntry['original'], side: 'src' | 'dst'): string => (side === 'src' ? hostPort(e.src, e.sport) : hostPort(e.dst, e.dport));
const rowLabel = (entry: ApiHistoryEntry): string => `ended connection ${entry.id}`;
const toApiError = (caught: unknown): ApiError => (caught instanceof ApiError ? caught : new ApiError(0, 'network', String(caught)));

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
          {loss.down.gaps > 0 && `The recorder was not running ${loss.down.gaps} times (${formatDuration(loss.down.ms / 1000)} in all): connections that ended then are missing. `}
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

type Draft = Record<'id' | 'ip' | 'host' | 'port' | 'external' | 'protocol' | 'cause', string> & { range: DateRangeDraft };

const draftOf = (view: HistoryView): Draft => ({
  id: view.id ?? '',
  ip: view.ip ?? '',
  host: view.host ?? '',
  port: view.port ?? '',
  external: view.external ?? '',
  protocol: view.protocol ?? '',
  cause: view.cause ?? '',
  range: rangeDraft(view.from, view.to),
});

export function HistoryConsole({ canClear, view }: { canClear: boolean; view: HistoryView }) {
  const router = useRouter();
  const toast = useToast();
  const navigate = (next: HistoryView) => router.push(historyHref(next), { scroll: false });
  const [draft, setDraft] = useState<Draft>(() => draftOf(view));
  const [selection, setSelection] = useState<RowSelectionState>({});
  const [details, setDetails] = useState<ApiHistoryEntry | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [typed, setTyped] = useState('');
  const [failure, setFailure] = useState<ApiError>();
  // A new view (a link, Back, Apply) starts the form from it and drops a selection of rows no longer shown.
  const viewKey = historyHref(view);
  const [shownKey, setShownKey] = useState(viewKey);
  if (shownKey !== viewKey) {
    setShownKey(viewKey);
    setDraft(draftOf(view));
    setSelection({});
  }

  const { sort, order } = sortOf(view);
  const request = useMemo(() => {
    const params = historyFilterParams(view);
    params.set('sort', sort);
    params.set('order', order);
    params.set('limit', String(view.size));
    params.set('offset', String((view.page - 1) * view.size));
    return `/api/history?${params}`;
  }, [view, sort, order]);
  const list = useApi<ApiHistoryPage>(request, (signal) => apiRequest<ApiHistoryPage>(request, { signal }));
  const items = useMemo(() => list.data?.items ?? [], [list.data]);
  const addresses = useMemo(() => rowAddresses(items), [items]);
  const { names, reverse } = useReverseNames('history', list.data, addresses);
  const selectedKeys = Object.keys(selection).filter((k) => selection[k]).map(Number);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (rangeProblem(draft.range)) return;
    const { from, to } = rangeInstants(draft.range);
    navigate({
      ...view,
      id: draft.id.trim() || undefined,
      ip: draft.ip.trim() || undefined,
      host: draft.host.trim() || undefined,
      port: draft.port.trim() || undefined,
      external: draft.external.trim() || undefined,
      protocol: draft.protocol || undefined,
      cause: draft.cause || undefined,
      from,
      to,
      page: 1,
    });
  };

  const run = (work: () => Promise<void>) => {
    setFailure(undefined);
    work().catch((caught: unknown) => setFailure(toApiError(caught)));
  };
  const clearRows = (keys: number[]) =>
    run(async () => {
      if (!keys.length) return;
      const { deleted } = await apiRequest<{ deleted: number }>('/api/history/delete', { method: 'POST', body: { keys } });
      toast.show(`Cleared ${formatCount(deleted)} ${deleted === 1 ? 'row' : 'rows'}.`);
      setSelection({});
      list.reload();
    });
  const clearAll = () =>
    run(async () => {
      const { deleted } = await apiRequest<{ deleted: number }>('/api/history/clear', { method: 'POST', body: {} });
      setConfirming(false);
      setTyped('');
      toast.show(`Cleared the whole history (${formatCount(deleted)} rows).`);
      setSelection({});
      list.reload();
    });

  const copy = (picked: ApiHistoryEntry[]) => {
    const text = picked.map((entry) => `${entry.id} ${entry.protocol} ${endpointText(entry.original, 'src')} -> ${endpointText(entry.original, 'dst')} ended ${entry.endedAt} (${entry.cause})`).join('\n');
    writeClipboard(text).then(
      () => toast.show(`Copied ${picked.length === 1 ? '1 row' : `${picked.length} rows`}.`),
      (error: unknown) => toast.show(`Copy failed: ${error instanceof Error ? error.message : String(error)}`, 'error'),
    );
  };

  const columns = useMemo<ColumnDef<ApiHistoryEntry>[]>(
    () => [
      {
        id: 'id',
        header: 'Id',
        size: 110,
        sortDescFirst: true,
        cell: ({ row }) => (
          <button
            type="button"
            tabIndex={-1}
            className="font-mono text-sky-700 underline"
            onClick={(event) => {
              event.stopPropagation();
              setDetails(row.original);
            }}
            title="Show the details of this ended connection"
            data-testid="history-open-details"
          >
            {row.original.id}
          </button>
        ),
      },
      { id: 'protocol', header: 'Proto', size: 64, sortDescFirst: true, cell: ({ row }) => row.original.protocol },
      {
        id: 'src',
        header: 'Source',
        size: 200,
        sortDescFirst: true,
        cell: ({ row }) => (
          <span className="block min-w-0">
            <span className="font-mono">{endpointText(row.original.original, 'src')}</span>
            <AddressName names={names} address={row.original.original.src} testId="history-name-src" />
          </span>
        ),
      },
      {
        id: 'dst',
        header: 'Destination',
        size: 200,
        sortDescFirst: true,
        cell: ({ row }) => {
          const e = row.original;
          const service = e.original.dport !== undefined ? names?.services[`${e.protocol}/${e.original.dport}`] : undefined;
          return (
            <span className="block min-w-0">
              <span className="font-mono">{endpointText(e.original, 'dst')}</span>
              {service && <span className="text-xs text-slate-500"> {service}</span>}
              <AddressName names={names} address={e.original.dst} testId="history-name-dst" />
            </span>
          );
        },
      },
      {
        id: 'external',
        header: 'External',
        size: 180,
        sortDescFirst: true,
        meta: { hiddenByDefault: true },
        cell: ({ row }) => (
          <span className="font-mono" data-testid="history-external">
            {row.original.external ? hostPort(row.original.external.address, row.original.external.port) : '—'}
          </span>
        ),
      },
      { id: 'started', header: 'Started', size: 150, sortDescFirst: true, meta: { hiddenByDefault: true }, cell: ({ row }) => formatTime(row.original.startedAt) },
      {
        id: 'ended',
        header: 'Ended',
        size: 150,
        sortDescFirst: true,
        cell: ({ row }) => {
          const e = row.original;
          return <span title={e.endedAfter ? `ended between ${formatTime(e.endedAfter)} and ${formatTime(e.endedBefore)}` : undefined}>{e.endedAfter ? `by ${formatTime(e.endedAt)}` : formatTime(e.endedAt)}</span>;
        },
      },
      { id: 'duration', header: 'Duration', size: 90, sortDescFirst: true, cell: ({ row }) => (row.original.durationMs === undefined ? '—' : formatDuration(row.original.durationMs / 1000)) },
      {
        id: 'bytes',
        header: 'Bytes → / ←',
        size: 130,
        sortDescFirst: true,
        cell: ({ row }) => (row.original.counters ? `${formatBytes(row.original.counters.original.bytes)} / ${formatBytes(row.original.counters.reply.bytes)}` : '—'),
      },
      { id: 'state', header: 'Final state', size: 110, sortDescFirst: true, meta: { hiddenByDefault: true }, cell: ({ row }) => row.original.state ?? '—' },
      {
        id: 'cause',
        header: 'Cause',
        size: 220,
        sortDescFirst: true,
        cell: ({ row }) => {
          const e = row.original;
          return (
            <span data-testid="history-cause" data-cause={e.cause} title={e.closedBy && e.cause !== e.closedBy ? `first FIN from the ${e.closedBy}` : undefined}>
              {CAUSE_LABELS[e.cause]}
              {e.deletedBy ? ` (${e.deletedBy})` : ''}
            </span>
          );
        },
      },
    ],
    [names],
  );

  const sorting: SortingState = [{ id: sort, desc: order === 'desc' }];
  const onSortingChange = (next: SortingState) => {
    const first = next[0];
    // Unsorted means the default: newest end first.
    navigate({ ...view, sort: (first?.id as HistorySortKey | undefined) ?? 'ended', order: first ? (first.desc ? 'desc' : 'asc') : 'desc', page: 1 });
  };

  const menuItems = (entry: ApiHistoryEntry): MenuItem[] => {
    const picked = selection[String(entry.key)] ? items.filter((e) => selection[String(e.key)]) : [entry];
    const reading: MenuItem[] = [
      { label: 'Show details', onSelect: () => setDetails(entry) },
      { label: picked.length > 1 ? `Copy ${picked.length} rows` : 'Copy', onSelect: () => copy(picked) },
    ];
    if (!canClear) return reading;
    return [
      ...reading,
      { label: `Clear selected (${picked.length})`, danger: true, separatorBefore: true, onSelect: () => clearRows(picked.map((e) => e.key)) },
      { label: 'Clear all…', danger: true, onSelect: () => setConfirming(true) },
    ];
  };

  const shortcuts = useShortcuts({
    refresh: list.reload,
    deleteSelection: canClear && selectedKeys.length ? () => clearRows(selectedKeys) : undefined,
    selectAll: items.length ? () => setSelection(Object.fromEntries(items.map((e) => [String(e.key), true]))) : undefined,
    clearSelection: selectedKeys.length ? () => setSelection({}) : undefined,
  });

  const exportQuery = (() => {
    const params = historyFilterParams(view);
    if (sort !== 'ended' || order !== 'desc') {
      params.set('sort', sort);
      params.set('order', order);
    }
    return params.toString();
  })();
  const page = list.data;
  const total = page ? (page.exact ? formatCount(page.matched) : `more than ${formatCount(page.matched)}`) : '';
  const field = 'rounded border border-slate-300 bg-white px-2 py-1';
  const fold = usePhoneFold({ active: ([...HISTORY_FILTERS, 'from', 'to'] as const).filter((key) => view[key]).length });

  return (
    <div className="w-full space-y-3 px-4 py-4 sm:px-6">
      <h1 className="text-xl font-semibold">Connection history</h1>
      {fold.toggle}
      <form id={fold.id} onSubmit={submit} className={`${fold.display} flex-wrap items-end gap-3 text-sm sm:flex`} aria-label="History filters">
        {(['id', 'ip', 'host', 'port', 'external'] as const).map((key) => (
          <label key={key} className="flex flex-col">
            {{ id: 'Connection id', ip: 'Address or prefix', host: 'Host name', port: 'Port', external: 'External address' }[key]}
            <input
              name={key}
              value={draft[key]}
              onChange={(e) => setDraft({ ...draft, [key]: e.target.value })}
              className={`${field} w-44`}
              data-testid={`history-filter-${key}`}
              data-shortcut={key === 'ip' ? 'search' : undefined}
              aria-invalid={list.error?.field === key || undefined}
            />
          </label>
        ))}
        <label className="flex flex-col">
          Protocol
          <select value={draft.protocol} onChange={(e) => setDraft({ ...draft, protocol: e.target.value })} className={field} data-testid="history-filter-protocol">
            <option value="">any</option>
            {['tcp', 'udp', 'icmp', 'icmpv6', 'sctp'].map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </label>
        <label className="flex flex-col">
          Cause
          <select value={draft.cause} onChange={(e) => setDraft({ ...draft, cause: e.target.value })} className={field} data-testid="history-filter-cause">
            <option value="">any</option>
            {CAUSES.map((c) => (
              <option key={c} value={c}>
                {CAUSE_LABELS[c]}
              </option>
            ))}
          </select>
        </label>
        <DateRange
          value={draft.range}
          onChange={(range) => setDraft({ ...draft, range })}
          labels={{ from: 'Ended from', to: 'to' }}
          testIds={{ from: 'history-filter-from', to: 'history-filter-to' }}
          invalid={list.error?.field === 'from' ? 'from' : list.error?.field === 'to' ? 'to' : undefined}
          className={field}
        />
        <button type="submit" className={buttonClass.primary} data-testid="history-apply">
          Search
        </button>
      </form>
      {page && <StatusLine status={page.status} />}
      <NatLookup />
      {list.error && <ErrorPanel title={list.error.status === 400 ? 'The filter was rejected' : 'Could not read the history'} error={list.error} />}
      {failure && <ErrorPanel title="Clearing failed" error={failure} />}
      <DataGrid
        label="History"
        data={items}
        columns={columns}
        getRowId={(entry) => String(entry.key)}
        rowLabel={rowLabel}
        sorting={sorting}
        onSortingChange={onSortingChange}
        rowSelection={selection}
        onRowSelectionChange={({ next }) => setSelection(next)}
        onRowOpen={setDetails}
        rowActions={menuItems}
        rowAttributes={(entry) => ({ 'data-id': String(entry.id) })}
        rowTestId="history-row"
        storageKey="history"
        loading={list.loading}
        empty={<p className="text-center text-sm text-slate-600">No ended connection matches these filters.</p>}
        toolbar={
          <div className="flex flex-wrap items-center gap-2 text-sm">
            <ReverseDnsToggle state={reverse} />
            <span data-testid="history-matched">{page ? `${total} ended connections` : 'Loading…'}</span>
            <button type="button" aria-disabled={list.loading} className={buttonClass.secondary} onClick={() => list.loading || list.reload()} data-testid="history-refresh">
              Refresh
            </button>
            <a className={buttonClass.secondary} href={`/api/history/export?${exportQuery}${exportQuery ? '&' : ''}format=csv`}>
              Export CSV
            </a>
            <a className={buttonClass.secondary} href={`/api/history/export?${exportQuery}${exportQuery ? '&' : ''}format=json`}>
              Export JSON
            </a>
            {canClear && (
              <>
                <button type="button" className={buttonClass.dangerOutline} disabled={!selectedKeys.length} onClick={() => clearRows(selectedKeys)} data-testid="history-clear-selected">
                  Clear selected ({selectedKeys.length})
                </button>
                <button type="button" className={buttonClass.danger} onClick={() => setConfirming(true)} data-testid="history-clear-all">
                  Clear all…
                </button>
              </>
            )}
          </div>
        }
      />
      {page && (
        <Pager
          page={view.page}
          size={view.size}
          sizes={PAGE_SIZES}
          matched={page.matched}
          approximate={!page.exact}
          onPage={(n) => navigate({ ...view, page: n })}
          onSize={(size) => navigate({ ...view, size, page: 1 })}
        />
      )}
      {details && <HistoryDetails entry={details} names={names} onClose={() => setDetails(null)} />}
      {shortcuts}
      {confirming && (
        <Dialog
          title="Clear the whole history"
          onClose={() => {
            setConfirming(false);
            setTyped('');
          }}
          testId="history-clear-dialog"
          footer={
            <>
              <button type="button" className={buttonClass.secondary} onClick={() => setConfirming(false)}>
                Cancel
              </button>
              <button type="button" className={buttonClass.danger} disabled={!typedMatches(CLEAR_WORD, typed)} onClick={clearAll} data-testid="history-clear-confirm">
                Clear all
              </button>
            </>
          }
        >
          <div className="space-y-3 text-sm">
            <p>Every recorded connection ({page ? formatCount(page.status.rows) : '?'} rows) is deleted for good.</p>
            <TypeToConfirm word={CLEAR_WORD} value={typed} onChange={setTyped} onConfirm={clearAll} testId="history-clear-typed" />
            {failure && <ErrorPanel title="Clearing failed" error={failure} />}
          </div>
        </Dialog>
      )}
    </div>
  );
}
