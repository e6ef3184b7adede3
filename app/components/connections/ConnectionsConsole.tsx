'use client';
// The Connections page: URL state in, one page of the snapshot out, and every action on it. The grid is the
// generic DataGrid with the typed connection columns; data comes from the query hooks in hooks.ts.
import { useRouter } from 'next/navigation';
import { useCallback, useEffect, useEffectEvent, useMemo, useRef, useState } from 'react';
import type { RowSelectionState, SortingState } from '@tanstack/react-table';
import type { SortKey } from '@/lib/conntrack/vocabulary';
import { LiveToggle, liveRowNote } from '@/app/components/live/LiveToggle';
import { useLiveUpdates } from '@/app/components/live/useLiveUpdates';
import { ApiError, apiRequest } from '../api/http';
import type { ApiConnection, ApiSnapshot, Me, RefreshResponse } from '../api/types';
import { DataGrid, type RowSelectionChange } from '../grid/DataGrid';
import { Pager } from '../grid/Pager';
import type { MenuItem } from '../grid/RowMenu';
import { buttonClass } from '../ui/buttons';
import { Dialog } from '../ui/Dialog';
import { useToast } from '../ui/Toast';
import { useShortcuts } from '../keyboard/useShortcuts';
import { ErrorPanel } from '../ui/ErrorPanel';
import { KernelCounters } from '../counters/KernelCounters';
import { ReverseDnsToggle } from '../names/ReverseDnsToggle';
import { rowAddresses, useReverseNames } from '../names/useReverseNames';
import { connectionColumns } from './columns';
import { DeleteFlow, type DeleteOutcome, type DeletePlan } from './DeleteFlow';
import { DetailsPanel } from './DetailsPanel';
import { UplinkCleanup } from '../uplinks/UplinkCleanup';
import { FilterBar } from './FilterBar';
import { FlushDialog } from './FlushDialog';
import { copyText, formatClock, formatCount, idList, writeClipboard, type CopyFormat } from '../format';
import { useConnections, useStats, useTableSummary } from './hooks';
import { ResultBanner, type ActionResult } from './Notices';
import { deleteFilter, describeFilters, filterParams, hasFilters, PAGE_SIZES, toSearch, type ConsoleQuery, type FilterKey, type Filters } from './query';
import { SelectionToolbar } from './SelectionToolbar';
import { SummaryHeader } from './SummaryHeader';
import type { UrlProblems } from './url-validation';

type Modal = { kind: 'delete'; plan: DeletePlan } | { kind: 'flush' } | { kind: 'multiwan' } | null;

export interface ConnectionsConsoleProps {
  query: ConsoleQuery;
  urlProblems: UrlProblems;
  /** Who is logged in: destructive controls are shown only for what their role permits. */
  me: Me;
  /** CONNTRACK_SNAPSHOT_MAX_AGE_SECONDS: opening the page takes a new snapshot when the one held is older. */
  maxAgeSeconds: number;
}

/** What the counters' change is counted from: the snapshot before the page's one, or the page's own when it is the first. */
const baselineLabel = (baseline: { snapshot: string; readAt: string }, current: string | undefined): string =>
  `${baseline.snapshot === current ? 'this snapshot' : 'the previous snapshot'} (${formatClock(baseline.readAt)})`;

/** A snapshot as the page shows it: with when it was taken on this browser's clock. */
type ShownSnapshot = ApiSnapshot & { takenLocalMs: number };

const connectionLabel = (row: ApiConnection): string => `connection ${row.id}`;

export function ConnectionsConsole({ query, urlProblems, me, maxAgeSeconds }: ConnectionsConsoleProps) {
  const router = useRouter();
  // The server refuses what the role does not permit anyway; the page just does not offer it.
  const canDelete = me.permissions.includes('delete');
  const canFlush = me.permissions.includes('flush');
  const [snapshot, setSnapshot] = useState<ShownSnapshot>();
  // The snapshot a refresh took, until the page shows it: the held one stays on screen, marked "refreshing".
  const [target, setTarget] = useState<string>();
  const [generation, setGeneration] = useState(0);
  const [posting, setPosting] = useState(false);
  const [refreshError, setRefreshError] = useState<ApiError>();
  const urlOk = Object.keys(urlProblems).length === 0;

  // The age is counted on this browser's clock from the server's own figure, so a skewed clock does not matter.
  const pin = useCallback((next: ApiSnapshot) => setSnapshot((prev) => (prev?.id === next.id ? prev : { ...next, takenLocalMs: Date.now() - next.ageMs })), []);
  const list = useConnections(query, target ?? snapshot?.id, generation, urlOk, pin);
  const refreshing = posting || (target !== undefined && snapshot?.id !== target);
  const stats = useStats(generation, snapshot?.id);
  const summary = useTableSummary(snapshot?.id);

  const navigate = useCallback((next: ConsoleQuery) => router.push(`/${toSearch(next)}`, { scroll: false }), [router]);
  const applyFilters = useCallback((filters: Filters) => navigate({ ...query, filters, page: 1, details: undefined }), [navigate, query]);

  // ---- rows deleted from this snapshot: marked gone until a new snapshot ----
  const [goneRows, setGoneRows] = useState<Map<number, string>>(new Map());
  const [goneScope, setGoneScope] = useState(snapshot?.id);
  if (goneScope !== snapshot?.id) {
    setGoneScope(snapshot?.id);
    setGoneRows(new Map());
  }

  // ---- selection ----
  const [selected, setSelected] = useState<Map<number, ApiConnection>>(new Map());
  const [allMatching, setAllMatching] = useState(false);
  const selectionScope = JSON.stringify([query.filters, query.sort, query.order, snapshot?.id]);
  const [scope, setScope] = useState(selectionScope);
  if (scope !== selectionScope) {
    // A different filter, sort or snapshot means a different set of rows: the old selection no longer applies.
    setScope(selectionScope);
    setSelected(new Map());
    setAllMatching(false);
  }
  const rows = useMemo(() => list.data?.items ?? [], [list.data]);
  // Live (off by default): rows on screen follow the kernel's events; ended rows stay, dimmed, until a refresh.
  const [liveOn, setLiveOn] = useState(false);
  const rowIds = useMemo(() => rows.map((r) => r.id), [rows]);
  const live = useLiveUpdates(rowIds, { enabled: liveOn, filter: Object.fromEntries(filterParams(query.filters)) });
  const shownRows = useMemo(() => rows.map((r) => live.updated.get(r.id) ?? r), [rows, live.updated]);
  const pageAddresses = useMemo(() => rowAddresses(rows), [rows]);
  const { names: pageNames, reverse } = useReverseNames('connections', list.data, pageAddresses);
  // The grid changes the selection (click, Ctrl+click, Shift+click, Space, the page checkbox); the page keeps the
  // rows it names, since a selection spans pages.
  const rowSelection = useMemo<RowSelectionState>(
    () => Object.fromEntries((allMatching ? rows.map((r) => r.id) : [...selected.keys()]).map((id) => [String(id), true])),
    [allMatching, rows, selected],
  );
  const changeSelection = ({ next }: RowSelectionChange<ApiConnection>) => {
    setAllMatching(false);
    setSelected((prev) => {
      const out = new Map<number, ApiConnection>();
      for (const [key, on] of Object.entries(next)) {
        const id = Number(key);
        const row = prev.get(id) ?? rows.find((r) => r.id === id);
        if (on && row) out.set(id, row);
      }
      return out;
    });
  };
  const selectOnly = (picked: ApiConnection[]) => {
    setAllMatching(false);
    setSelected(new Map(picked.map((r) => [r.id, r])));
  };

  // ---- actions ----
  const [modal, setModal] = useState<Modal>(null);
  const [result, setResult] = useState<ActionResult>();
  const toast = useToast();
  // The row whose details just closed gets the focus back (also when the details were opened from a link).
  const [focusRow, setFocusRow] = useState<{ id: string }>();

  const matchingFilter = deleteFilter(query.filters);
  const matchingBlocked = query.filters.q
    ? 'Free-text search cannot be used to delete: narrow the filter with fields (IP, port, protocol...) instead.'
    : Object.keys(matchingFilter).length === 0
      ? 'Set a filter first; to delete everything use Flush table.'
      : undefined;

  const refresh = async () => {
    setPosting(true);
    setRefreshError(undefined);
    try {
      const { snapshot: next } = await apiRequest<RefreshResponse>('/api/connections/refresh', { method: 'POST' });
      setTarget(next.id);
      setResult(undefined);
      setGeneration((g) => g + 1);
    } catch (error) {
      setRefreshError(error instanceof ApiError ? error : new ApiError(0, 'client', String(error)));
    } finally {
      setPosting(false);
    }
  };

  // Opening the page (not a filter change: those keep this component) replaces a snapshot older than the limit.
  const ageChecked = useRef(false);
  const refreshIfOld = useEffectEvent((shown: ShownSnapshot) => {
    if (Date.now() - shown.takenLocalMs > maxAgeSeconds * 1000) void refresh();
  });
  useEffect(() => {
    if (ageChecked.current || !snapshot) return;
    ageChecked.current = true;
    refreshIfOld(snapshot);
  }, [snapshot]);

  const copy = async (picked: ApiConnection[], format: CopyFormat) => {
    if (picked.length === 0) return;
    const what = format === 'json' ? 'JSON' : format === 'command' ? 'conntrack -D commands' : 'text';
    try {
      await writeClipboard(copyText(picked, format));
      toast.show(`Copied ${picked.length} connection${picked.length === 1 ? '' : 's'} as ${what}`);
    } catch (error) {
      toast.show(`Copy failed: ${error instanceof Error ? error.message : String(error)}`, 'error');
    }
  };

  const deleteSelection = () => {
    if (allMatching) {
      if (!matchingBlocked) setModal({ kind: 'delete', plan: { kind: 'filter', filter: matchingFilter } });
      return;
    }
    const picked = [...selected.values()];
    if (picked.length) setModal({ kind: 'delete', plan: { kind: 'ids', ids: picked.map((r) => r.id), rows: picked } });
  };

  const finishDelete = (outcome: DeleteOutcome) => {
    setModal(null);
    setSelected(new Map());
    setAllMatching(false);
    const { result: done, plan } = outcome;
    // The rows that went are marked at once; the rest of the page is still the snapshot.
    const marks = new Map(goneRows);
    for (const id of done.deletedIds ?? []) marks.set(id, 'deleted');
    for (const id of done.goneIds ?? []) marks.set(id, 'already gone');
    if (plan.kind === 'filter') {
      const wholePage = JSON.stringify(plan.filter) === JSON.stringify(matchingFilter);
      const went = new Set((done.went ?? []).map((ref) => ref.id));
      for (const row of rows) if (wholePage || went.has(row.id) || (plan.filter.replyDst !== undefined && row.reply.dst === plan.filter.replyDst)) marks.set(row.id, 'gone');
    }
    setGoneRows(marks);
    const notes = [
      done.goneIds?.length ? `Already gone: ${idList(done.goneIds)}.` : done.alreadyGone ? `${formatCount(done.alreadyGone)} were already gone.` : '',
      done.failedIds?.length ? `Refused by the kernel: ${idList(done.failedIds)} (see the server log).` : done.failed ? `${formatCount(done.failed)} could not be deleted (see the server log).` : '',
      done.audit === 'pending' ? 'The audit log could not record the result yet: its entry reads "pending" until the server writes it.' : '',
    ];
    setResult({ message: `Deleted ${outcome.what}.`, detail: notes.filter(Boolean).join(' ') || undefined });
    stats.reload();
  };

  // Keyboard: `/` search, `r` refresh, Delete deletes the selection (after confirmation), Ctrl+A selects the
  // page, Escape clears, `?` lists them.
  const shortcutsHelp = useShortcuts({
    refresh: () => void refresh(),
    deleteSelection: canDelete && (selected.size || allMatching) ? deleteSelection : undefined,
    selectAll: rows.length ? () => selectOnly(rows) : undefined,
    clearSelection: selected.size || allMatching ? () => selectOnly([]) : undefined,
  });

  // ---- grid ----
  const accounting = stats.data?.sysctl.acct !== false || rows.some((r) => r.counters);
  const timestamps = stats.data?.sysctl.timestamp !== false || rows.some((r) => r.startedAt);
  const open = useCallback((row: ApiConnection) => navigate({ ...query, details: row.id }), [navigate, query]);
  const columns = useMemo(
    () =>
      connectionColumns({
        takenAt: snapshot?.takenAt,
        takenLocalMs: snapshot?.takenLocalMs,
        accounting,
        timestamps,
        onOpen: open,
        endedNote: (row) => (live.gone.has(row.id) ? liveRowNote(live, row.id) : (goneRows.get(row.id) ?? null)),
        names: pageNames,
      }),
    [snapshot?.takenAt, snapshot?.takenLocalMs, accounting, timestamps, open, live, pageNames, goneRows],
  );
  const sorting: SortingState = query.sort ? [{ id: query.sort, desc: query.order === 'desc' }] : [];
  const onSortingChange = (next: SortingState) => {
    const first = next[0];
    navigate({ ...query, sort: first ? (first.id as SortKey) : undefined, order: first?.desc ? 'desc' : 'asc', page: 1 });
  };

  const menuItems = (row: ApiConnection): MenuItem[] => {
    const picked = selected.has(row.id) ? [...selected.values()] : [row];
    const n = picked.length;
    const reading: MenuItem[] = [
      { label: 'Show details', onSelect: () => open(row) },
      { label: n > 1 ? `Copy ${n} rows as text` : 'Copy as text', onSelect: () => void copy(picked, 'text'), separatorBefore: true },
      { label: n > 1 ? `Copy ${n} rows as JSON` : 'Copy as JSON', onSelect: () => void copy(picked, 'json') },
      { label: n > 1 ? `Copy ${n} conntrack -D commands` : 'Copy as conntrack -D command', onSelect: () => void copy(picked, 'command') },
    ];
    if (!canDelete) return reading;
    return [
      ...reading,
      {
        label: n > 1 ? `Delete ${n} selected…` : 'Delete this connection…',
        danger: true,
        separatorBefore: true,
        onSelect: () => setModal({ kind: 'delete', plan: { kind: 'ids', ids: picked.map((r) => r.id), rows: picked } }),
      },
      {
        label: list.data ? `Delete all ${formatCount(list.data.matched)} matching filter…` : 'Delete all matching filter…',
        danger: true,
        disabled: !!matchingBlocked,
        onSelect: () => setModal({ kind: 'delete', plan: { kind: 'filter', filter: matchingFilter } }),
      },
    ];
  };

  const exportHref = (format: 'csv' | 'json') => {
    const params = filterParams(query.filters);
    if (query.sort) {
      params.set('sort', query.sort);
      params.set('order', query.order);
    }
    if (snapshot) params.set('snapshot', snapshot.id);
    params.set('format', format);
    return `/api/connections/export?${params}`;
  };

  const serverProblem: UrlProblems = list.error?.status === 400 && list.error.field ? { [list.error.field]: list.error.message } : {};
  const problems = { ...urlProblems, ...serverProblem };
  const filtered = hasFilters(query.filters);
  const detailsRow = query.details !== undefined ? shownRows.find((r) => r.id === query.details) : undefined;

  const empty = (
    <div className="text-center text-sm text-slate-600" data-testid="empty-state">
      {filtered ? (
        <>
          <p className="font-medium text-slate-800">No connection matches {describeFilters(query.filters)}.</p>
          <p className="mt-1">Loosen the filter, or refresh if you expect new connections.</p>
          <button type="button" className={`${buttonClass.secondary} mt-3`} onClick={() => applyFilters({})}>
            Clear filters
          </button>
        </>
      ) : (
        <>
          <p className="font-medium text-slate-800">The connection table is empty.</p>
          <p className="mt-1">Nothing was tracked when the snapshot was taken. Refresh to take a new one.</p>
        </>
      )}
    </div>
  );

  return (
    <div className="flex flex-1 flex-col">
      <SummaryHeader
        snapshot={snapshot}
        stats={stats.data}
        statsError={stats.error}
        summary={summary.data}
        refreshing={refreshing}
        onRefresh={refresh}
        onCleanup={canDelete ? () => setModal({ kind: 'multiwan' }) : undefined}
        onFlush={canFlush ? () => setModal({ kind: 'flush' }) : undefined}
        onFilter={(key: FilterKey, value: string) => applyFilters({ ...query.filters, [key]: value })}
      />
      <FilterBar filters={query.filters} problems={problems} onApply={applyFilters} />
      <div className="flex-1 space-y-3 px-4 py-4 sm:px-6">
        {result && <ResultBanner result={result} onRefresh={refresh} onDismiss={() => setResult(undefined)} />}
        {refreshError && <ErrorPanel title="Could not take a new snapshot" error={refreshError} />}
        {!urlOk && (
          <div role="alert" data-testid="url-problems" className="rounded-md border border-amber-300 bg-amber-50 p-4 text-sm text-amber-900">
            <p className="font-semibold">This link has filter values the console cannot use:</p>
            <ul className="mt-1 list-disc pl-5">
              {Object.entries(urlProblems).map(([key, message]) => (
                <li key={key}>
                  <span className="font-mono">{key}</span>: {message}
                </li>
              ))}
            </ul>
            <p className="mt-1">Fix them in the filter bar above, or remove them with ×.</p>
          </div>
        )}
        {list.error && (
          <ErrorPanel
            title={list.error.status === 400 ? 'The filter was rejected' : 'Could not load connections'}
            error={list.error}
            action={
              <button type="button" className={buttonClass.secondary} onClick={list.reload}>
                Retry
              </button>
            }
          />
        )}
        {stats.data && (
          <KernelCounters
            current={stats.data}
            baseline={stats.data.baseline}
            baselineLabel={stats.data.baseline ? baselineLabel(stats.data.baseline, snapshot?.id) : undefined}
            features={stats.data.sysctl}
          />
        )}
        {urlOk && !(list.error && !list.data) && (
          <>
            <DataGrid
              label="Connections"
              data={shownRows}
              columns={columns}
              getRowId={(r) => String(r.id)}
              sorting={sorting}
              onSortingChange={onSortingChange}
              rowLabel={connectionLabel}
              rowSelection={rowSelection}
              onRowSelectionChange={changeSelection}
              onRowOpen={open}
              rowActions={menuItems}
              storageKey="connections"
              focusRow={focusRow}
              toolbar={
                <div className="flex flex-wrap items-center gap-4">
                  <LiveToggle enabled={liveOn} onChange={setLiveOn} live={live} />
                  <ReverseDnsToggle state={reverse} />
                  <div className="min-w-0 basis-full sm:flex-1 sm:basis-auto">
                    <SelectionToolbar
                      selectedCount={selected.size}
                      allMatching={allMatching}
                      matched={list.data?.matched}
                      pageCount={rows.length}
                      matchingBlocked={matchingBlocked}
                      exportHref={exportHref}
                      onCopy={(format) => void copy([...selected.values()], format)}
                      onDeleteSelected={canDelete ? deleteSelection : undefined}
                      onDeleteMatching={canDelete ? () => setModal({ kind: 'delete', plan: { kind: 'filter', filter: matchingFilter } }) : undefined}
                      onSelectAllMatching={() => setAllMatching(true)}
                      onClear={() => selectOnly([])}
                    />
                  </div>
                </div>
              }
              loading={list.loading}
              empty={empty}
              rowClassName={(r) => (live.gone.has(r.id) || goneRows.has(r.id) ? 'opacity-50' : '')}
            />
            {list.data && (
              <Pager
                page={query.page}
                size={query.size}
                sizes={PAGE_SIZES}
                matched={list.data.matched}
                onPage={(page) => navigate({ ...query, page })}
                onSize={(size) => navigate({ ...query, size, page: 1 })}
              />
            )}
          </>
        )}
      </div>

      {query.details !== undefined && (
        <DetailsPanel
          key={query.details}
          id={query.details}
          known={detailsRow}
          names={pageNames}
          snapshot={snapshot?.id}
          takenAt={snapshot?.takenAt}
          statusKey={live.gone.get(query.details)?.endedAt}
          onClose={() => {
            setFocusRow({ id: String(query.details) });
            navigate({ ...query, details: undefined });
          }}
          onCopy={(picked, format) => void copy(picked, format)}
          onDelete={canDelete ? (row) => setModal({ kind: 'delete', plan: { kind: 'ids', ids: [row.id], rows: [row] } }) : undefined}
        />
      )}
      {shortcutsHelp}
      {modal?.kind === 'delete' && (
        <Dialog title="Delete connections" onClose={() => setModal(null)} wide testId="delete-dialog">
          <DeleteFlow plan={modal.plan} snapshot={snapshot?.id} onDone={finishDelete} onCancel={() => setModal(null)} />
        </Dialog>
      )}
      {modal?.kind === 'multiwan' && (
        <UplinkCleanup
          onClose={() => setModal(null)}
          onDone={(summary) => {
            setModal(null);
            setResult({ message: summary });
            stats.reload();
          }}
        />
      )}
      {modal?.kind === 'flush' && (
        <FlushDialog
          total={snapshot?.total}
          onClose={() => setModal(null)}
          onDone={(what) => {
            setModal(null);
            setSelected(new Map());
            setResult({ message: `Deleted ${what}.` });
            stats.reload();
          }}
        />
      )}
    </div>
  );
}
