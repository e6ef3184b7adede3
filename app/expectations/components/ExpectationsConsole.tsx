'use client';
// The expectations page, on the shared parts: filters, sort and page in the URL (the URL-state helper), one
// request per view (useApi), the shared grid (sorting, column choice, the row menu by right-click, "⋯" and the
// keyboard) and pager, the toast area, and the typed confirmation (FLUSH) for Flush all. A row's menu deletes it,
// deletes every expectation of its master, or opens the master connection.
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useMemo, useState, type FormEvent } from 'react';
import type { ColumnDef, SortingState } from '@tanstack/react-table';
import { ApiError, apiRequest } from '@/app/components/api/http';
import { useApi } from '@/app/components/api/useApi';
import { formatCount, formatDuration } from '@/app/components/format';
import { DataGrid } from '@/app/components/grid/DataGrid';
import { Pager } from '@/app/components/grid/Pager';
import type { MenuItem } from '@/app/components/grid/RowMenu';
import { useShortcuts } from '@/app/components/keyboard/useShortcuts';
import { FLUSH_WORD, typedMatches } from '@/app/components/ui/confirm-word';
import { Dialog } from '@/app/components/ui/Dialog';
import { ErrorPanel } from '@/app/components/ui/ErrorPanel';
import { buttonClass } from '@/app/components/ui/buttons';
import { useToast } from '@/app/components/ui/Toast';
import { usePhoneFold } from '@/app/components/ui/usePhoneFold';
import { TypeToConfirm } from '@/app/components/ui/TypeToConfirm';
import { PAGE_SIZES } from '@/app/components/url-state';
import type { ApiExpectation, ExpectationsDeleteOutcome } from '@/lib/console/expectations';
import { endpointText, expectedText, maskText } from './tuple-text';
import { EXPECTATION_FILTERS, expectationFilterParams, expectationsSearch, type ExpectationSortKey, type ExpectationsView } from './url';

type Field = (typeof EXPECTATION_FILTERS)[number];
const LABELS: Record<Field, string> = { helper: 'Helper', master: 'Master connection id', address: 'Address or prefix', port: 'Port or range' };

type Pending = { kind: 'one'; item: ApiExpectation } | { kind: 'master'; master: number; count: number } | { kind: 'flush' };

const toApiError = (caught: unknown): ApiError => (caught instanceof ApiError ? caught : new ApiError(0, 'network', String(caught)));
const rowLabel = (e: ApiExpectation): string => `expectation ${e.id}`;

/** What each sortable column sorts by; ties in id order. */
const SORT_VALUE: Record<ExpectationSortKey, (e: ApiExpectation) => number | string> = {
  id: (e) => e.id,
  protocol: (e) => e.protocol,
  master: (e) => e.master.id ?? -1,
  helper: (e) => e.helper ?? '',
  timeout: (e) => e.timeout,
};

function sorted(items: ApiExpectation[], sort: ExpectationSortKey | undefined, desc: boolean): ApiExpectation[] {
  if (!sort) return items;
  const value = SORT_VALUE[sort];
  return [...items].sort((a, b) => {
    const [x, y] = [value(a), value(b)];
    const order = x < y ? -1 : x > y ? 1 : a.id - b.id;
    return desc ? -order : order;
  });
}

const draftOf = (view: ExpectationsView): Record<Field, string> => Object.fromEntries(EXPECTATION_FILTERS.map((f) => [f, view[f] ?? ''])) as Record<Field, string>;

export function ExpectationsConsole({ canDelete, canFlush, view }: { canDelete: boolean; canFlush: boolean; view: ExpectationsView }) {
  const router = useRouter();
  const toast = useToast();
  const navigate = (next: ExpectationsView) => router.push(`/expectations${expectationsSearch.search(next)}`, { scroll: false });
  const [draft, setDraft] = useState(() => draftOf(view));
  const [pending, setPending] = useState<Pending | null>(null);
  const [typed, setTyped] = useState('');
  const [running, setRunning] = useState(false);
  const [failure, setFailure] = useState<ApiError | null>(null);
  // A new view (a link, Back, Search) starts the form from it.
  const viewKey = expectationsSearch.search(view);
  const [shownKey, setShownKey] = useState(viewKey);
  if (shownKey !== viewKey) {
    setShownKey(viewKey);
    setDraft(draftOf(view));
  }

  const filterQuery = expectationFilterParams(view).toString();
  const list = useApi<{ matched: number; items: ApiExpectation[] }>(`expectations?${filterQuery}`, (signal) =>
    apiRequest(`/api/expectations${filterQuery ? `?${filterQuery}` : ''}`, { signal }),
  );
  const all = useMemo(() => sorted(list.data?.items ?? [], view.sort, view.order === 'desc'), [list.data, view.sort, view.order]);
  const shown = all.slice((view.page - 1) * view.size, view.page * view.size);
  const masterCount = (master: number) => all.filter((e) => e.master.id === master).length;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    navigate({ ...view, ...Object.fromEntries(EXPECTATION_FILTERS.map((f) => [f, draft[f].trim() || undefined])), page: 1 });
  };

  const close = () => {
    setPending(null);
    setTyped('');
    setFailure(null);
    setRunning(false);
  };

  const confirm = async () => {
    if (!pending) return;
    setRunning(true);
    setFailure(null);
    try {
      if (pending.kind === 'one') {
        await apiRequest(`/api/expectations/${pending.item.id}`, { method: 'DELETE' });
        toast.show(`Deleted expectation ${pending.item.id}.`);
      } else if (pending.kind === 'master') {
        const outcome = await apiRequest<ExpectationsDeleteOutcome>('/api/expectations/delete', { method: 'POST', body: { master: pending.master } });
        toast.show(`Deleted ${outcome.deleted} of ${outcome.matched} expectations of connection ${pending.master}${outcome.alreadyGone ? ` (${outcome.alreadyGone} already gone)` : ''}.`);
      } else {
        const { deleted } = await apiRequest<{ deleted: number }>('/api/expectations/flush', { method: 'POST', body: {} });
        toast.show(`Flushed every expectation (${deleted}).`);
      }
      close();
      list.reload();
    } catch (caught) {
      setFailure(toApiError(caught));
      setRunning(false);
    }
  };

  const columns = useMemo<ColumnDef<ApiExpectation>[]>(
    () => [
      { id: 'id', header: 'Id', size: 110, cell: ({ row }) => <span className="font-mono">{row.original.id}</span> },
      { id: 'protocol', header: 'Proto', size: 64, cell: ({ row }) => row.original.protocol },
      {
        id: 'expected',
        header: 'Expected (and mask)',
        size: 340,
        enableSorting: false,
        cell: ({ row }) => {
          const e = row.original;
          return (
            <span className="block min-w-0 font-mono">
              <span data-testid="expect-expected">{expectedText(e.expected, e.mask)}</span>
              <span className="block truncate text-xs text-slate-600" title="The mask: which bits of the expected tuple must match">
                mask {maskText(e.mask)}
              </span>
              {e.nat && (
                <span className="block truncate text-xs text-slate-600">
                  NAT {e.nat.src ? `to ${e.nat.src}${e.nat.sport !== undefined ? `:${e.nat.sport}` : ''}` : `keeps port ${e.nat.sport ?? '?'}`}
                </span>
              )}
            </span>
          );
        },
      },
      {
        id: 'master',
        header: 'Master',
        size: 320,
        cell: ({ row }) => {
          const { master } = row.original;
          return (
            <span className="block truncate font-mono" data-testid="expect-master">
              {master.id !== null ? (
                // The row is the grid's tab stop; its menu opens the master from the keyboard.
                <Link href={`/?id=${master.id}`} tabIndex={-1} className="text-sky-700 underline" title={`Open connection ${master.id}`} onClick={(event) => event.stopPropagation()}>
                  {endpointText(master.original)}
                </Link>
              ) : (
                <span title="The master connection is no longer in the table">{endpointText(master.original)}</span>
              )}
            </span>
          );
        },
      },
      {
        id: 'helper',
        header: 'Helper',
        size: 80,
        cell: ({ row }) => <span data-testid="expect-helper">{row.original.helper ?? '—'}</span>,
      },
      { id: 'class', header: 'Class', size: 64, enableSorting: false, meta: { hiddenByDefault: true }, cell: ({ row }) => row.original.class },
      {
        id: 'flags',
        header: 'Flags',
        size: 150,
        enableSorting: false,
        cell: ({ row }) => (
          <span className="block min-w-0">
            {row.original.flags.length ? row.original.flags.join(' ') : '—'}
            {row.original.fn && <span className="block truncate text-xs text-slate-600">{row.original.fn}</span>}
          </span>
        ),
      },
      { id: 'zone', header: 'Zone', size: 60, enableSorting: false, meta: { hiddenByDefault: true }, cell: ({ row }) => row.original.zone },
      { id: 'timeout', header: 'Timeout', size: 90, sortDescFirst: true, cell: ({ row }) => <span className="block text-right tabular-nums">{formatDuration(row.original.timeout)}</span> },
    ],
    [],
  );

  const sorting: SortingState = view.sort ? [{ id: view.sort, desc: view.order === 'desc' }] : [];
  const onSortingChange = (next: SortingState) => {
    const first = next[0];
    navigate({ ...view, sort: first?.id as ExpectationSortKey | undefined, order: first ? (first.desc ? 'desc' : 'asc') : undefined, page: 1 });
  };

  const menuItems = (e: ApiExpectation): MenuItem[] => {
    const master = e.master.id;
    const reading: MenuItem[] = master !== null ? [{ label: `Open connection ${master}`, onSelect: () => router.push(`/?id=${master}`) }] : [];
    if (!canDelete) return reading;
    return [
      ...reading,
      { label: 'Delete this expectation…', danger: true, separatorBefore: reading.length > 0, onSelect: () => setPending({ kind: 'one', item: e }) },
      ...(master !== null ? [{ label: `Delete every expectation of connection ${master}…`, danger: true, onSelect: () => setPending({ kind: 'master', master, count: masterCount(master) }) }] : []),
    ];
  };

  const shortcuts = useShortcuts({ refresh: list.reload });
  const fold = usePhoneFold({ active: EXPECTATION_FILTERS.filter((key) => view[key]).length });
  const items = list.data?.items;
  return (
    <div className="w-full space-y-3 px-4 py-4 sm:px-6">
      <h1 className="text-xl font-semibold">Expectations</h1>
      <p className="max-w-3xl text-sm text-slate-600">
        Connections a helper (ftp, sip, tftp, …) has announced on behalf of its master connection: the kernel admits them as RELATED when they arrive.
        A <span className="font-mono">*</span> matches anything.
      </p>
      {fold.toggle}
      <form id={fold.id} onSubmit={submit} className={`${fold.display} flex-wrap items-end gap-3 text-sm sm:flex`} aria-label="Expectation filters">
        {EXPECTATION_FILTERS.map((field) => (
          <label key={field} className="flex flex-col">
            {LABELS[field]}
            <input
              name={field}
              value={draft[field]}
              onChange={(e) => setDraft({ ...draft, [field]: e.target.value })}
              className="w-40 rounded border border-slate-300 bg-white px-2 py-1"
              aria-invalid={list.error?.field === field || undefined}
              data-testid={`expect-filter-${field}`}
              data-shortcut={field === 'address' ? 'search' : undefined}
            />
          </label>
        ))}
        <button type="submit" className={buttonClass.primary} data-testid="expect-apply">
          Search
        </button>
      </form>
      {list.error && <ErrorPanel title="The expectations could not be listed" error={list.error} />}
      <DataGrid
        label="Expectations"
        data={shown}
        columns={columns}
        getRowId={(e) => String(e.id)}
        rowLabel={rowLabel}
        sorting={sorting}
        onSortingChange={onSortingChange}
        rowActions={menuItems}
        rowAttributes={(e) => ({ 'data-id': String(e.id), 'data-master': e.master.id === null ? '' : String(e.master.id) })}
        rowTestId="expect-row"
        storageKey="expectations"
        loading={list.loading}
        empty={
          <p className="text-center text-sm text-slate-600" data-testid="expect-empty">
            No expectations{filterQuery ? ' match these filters' : ''}. They appear while a helper waits for a related connection (an FTP data connection after PASV, a SIP
            media stream, …).
          </p>
        }
        toolbar={
          <div className="flex flex-wrap items-center gap-2 text-sm">
            <span data-testid="expect-matched">{items === undefined ? 'Loading…' : `${formatCount(items.length)} ${items.length === 1 ? 'expectation' : 'expectations'}`}</span>
            <button type="button" aria-disabled={list.loading} className={buttonClass.secondary} onClick={() => list.loading || list.reload()} data-testid="expect-refresh">
              Refresh
            </button>
            {canFlush && (
              <button type="button" className={buttonClass.danger} onClick={() => setPending({ kind: 'flush' })} data-testid="expect-flush">
                Flush all…
              </button>
            )}
          </div>
        }
      />
      {items && items.length > 0 && (
        <Pager page={view.page} size={view.size} sizes={PAGE_SIZES} matched={items.length} onPage={(page) => navigate({ ...view, page })} onSize={(size) => navigate({ ...view, size, page: 1 })} />
      )}
      {shortcuts}
      {pending && (
        <Dialog
          title={pending.kind === 'one' ? `Delete expectation ${pending.item.id}` : pending.kind === 'master' ? `Delete the expectations of connection ${pending.master}` : 'Flush every expectation'}
          onClose={close}
          testId="expect-dialog"
          footer={
            <>
              <button type="button" className={buttonClass.secondary} onClick={close}>
                Cancel
              </button>
              <button
                type="button"
                className={buttonClass.danger}
                disabled={running || (pending.kind === 'flush' && !typedMatches(FLUSH_WORD, typed))}
                onClick={() => void confirm()}
                data-testid="expect-confirm"
              >
                {running ? 'Deleting…' : pending.kind === 'flush' ? 'Flush' : 'Delete'}
              </button>
            </>
          }
        >
          <div className="space-y-3 text-sm">
            {pending.kind === 'one' && (
              <p>
                The {pending.item.helper ?? 'helper'} expectation of <span className="font-mono">{expectedText(pending.item.expected, pending.item.mask)}</span> goes: that
                connection, if it comes, is no longer RELATED to its master.
              </p>
            )}
            {pending.kind === 'master' && (
              <p>
                Every expectation of connection {pending.master} ({pending.count} listed now) goes. The master connection itself stays.
              </p>
            )}
            {pending.kind === 'flush' && (
              <>
                <p>
                  Every expectation in the table goes ({formatCount(all.length)} listed now, more if a filter is applied). Pending FTP data connections, SIP media and the like will be
                  refused or untracked.
                </p>
                <TypeToConfirm word={FLUSH_WORD} value={typed} onChange={setTyped} onConfirm={() => running || void confirm()} testId="expect-flush-typed" />
              </>
            )}
            {failure && <ErrorPanel title="The delete failed" error={failure} />}
          </div>
        </Dialog>
      )}
    </div>
  );
}
