'use client';
// The audit log (administrators), on the shared parts: filters in the URL (the URL-state helper), date pickers
// for the time range, the shared grid and pager, one request per view (useApi). Each row's details read as the
// server's description of the entry (lib/console/audit-text.ts); Enter, a double-click or the row's "⋯" menu
// expands a row to the whole text.
import { useRouter } from 'next/navigation';
import { useMemo, useState, type FormEvent } from 'react';
import type { ColumnDef } from '@tanstack/react-table';
import { auditActionLabel, type ApiAuditEntry } from '@/lib/console/audit-text';
import { apiRequest } from '../components/api/http';
import { useApi } from '../components/api/useApi';
import { formatCount, formatTime, writeClipboard } from '../components/format';
import { DataGrid } from '../components/grid/DataGrid';
import { Pager } from '../components/grid/Pager';
import { useShortcuts } from '../components/keyboard/useShortcuts';
import { buttonClass } from '../components/ui/buttons';
import { ErrorPanel } from '../components/ui/ErrorPanel';
import { useToast } from '../components/ui/Toast';
import { usePhoneFold } from '../components/ui/usePhoneFold';
import { DateRange } from '../components/DateRange';
import { rangeDraft, rangeInstants, rangeProblem } from '../components/time-input';
import { LocalTime } from '../components/ui/LocalTime';
import { PAGE_SIZES } from '../components/url-state';
import { auditSearch, type AuditView } from './url';

type AuditRow = ApiAuditEntry;

export interface AuditConsoleProps {
  view: AuditView;
  actions: readonly string[];
  outcomes: readonly string[];
}

const rowLabel = (row: AuditRow): string => `audit entry ${row.id}`;

const ACTOR_PREFIX: Partial<Record<AuditRow['actorKind'], string>> = { token: 'token ', policy: 'policy ', system: 'console ' };

export function AuditConsole({ view, actions, outcomes }: AuditConsoleProps) {
  const router = useRouter();
  const toast = useToast();
  const navigate = (next: AuditView) => router.push(`/audit${auditSearch.search(next)}`, { scroll: false });
  const [draft, setDraft] = useState(() => ({ action: view.action ?? '', actor: view.actor ?? '', outcome: view.outcome ?? '', range: rangeDraft(view.since, view.until) }));
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());

  const apiQuery = useMemo(() => {
    const params = new URLSearchParams();
    for (const key of ['action', 'actor', 'outcome', 'since', 'until'] as const) if (view[key]) params.set(key, view[key] ?? '');
    params.set('limit', String(view.size));
    params.set('offset', String((view.page - 1) * view.size));
    return params.toString();
  }, [view]);
  const list = useApi<{ matched: number; items: AuditRow[] }>(apiQuery, (signal) => apiRequest(`/api/audit?${apiQuery}`, { signal }));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (rangeProblem(draft.range)) return;
    setExpanded(new Set());
    const { from, to } = rangeInstants(draft.range);
    navigate({
      ...view,
      action: draft.action || undefined,
      actor: draft.actor.trim() || undefined,
      outcome: draft.outcome || undefined,
      since: from,
      until: to,
      page: 1,
    });
  };
  const toggle = (row: AuditRow) =>
    setExpanded((prev) => {
      const next = new Set(prev);
      const id = String(row.id);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  const columns = useMemo<ColumnDef<AuditRow>[]>(
    () => [
      { id: 'at', header: 'When', size: 200, enableSorting: false, cell: ({ row }) => <LocalTime iso={row.original.at} /> },
      {
        id: 'actor',
        header: 'Who',
        size: 170,
        enableSorting: false,
        cell: ({ row }) => (
          <span className="block truncate" title={`${row.original.actorKind} ${row.original.actor} from ${row.original.source}`}>
            {ACTOR_PREFIX[row.original.actorKind] ?? ''}
            {row.original.actor}
            {row.original.role && <span className="text-slate-600"> ({row.original.role})</span>}
          </span>
        ),
      },
      { id: 'source', header: 'From', size: 110, enableSorting: false, meta: { hiddenByDefault: true }, cell: ({ row }) => <span className="font-mono text-xs">{row.original.source}</span> },
      {
        id: 'action',
        header: 'Action',
        size: 180,
        enableSorting: false,
        cell: ({ row }) => (
          <span className="font-mono text-xs" title={auditActionLabel(row.original.action)}>
            {row.original.action}
          </span>
        ),
      },
      { id: 'target', header: 'Target', size: 140, enableSorting: false, cell: ({ row }) => <span className="block truncate" title={row.original.target ?? ''}>{row.original.target ?? '—'}</span> },
      {
        id: 'counts',
        header: 'Expected / affected',
        size: 140,
        enableSorting: false,
        meta: { label: 'Expected / affected' },
        cell: ({ row }) => (
          <span className="block text-right tabular-nums">
            {row.original.expected === null ? '—' : formatCount(row.original.expected)} / {row.original.affected === null ? '—' : formatCount(row.original.affected)}
          </span>
        ),
      },
      {
        id: 'outcome',
        header: 'Outcome',
        size: 95,
        enableSorting: false,
        cell: ({ row }) => (
          <span data-testid="audit-outcome" className={row.original.outcome === 'ok' ? 'text-emerald-800' : row.original.outcome === 'pending' ? 'text-amber-800' : 'text-red-800'}>
            {row.original.outcome}
          </span>
        ),
      },
      {
        id: 'details',
        header: 'Details',
        size: 300,
        enableSorting: false,
        cell: ({ row }) => {
          const text = row.original.description;
          const open = expanded.has(String(row.original.id));
          if (!text) return <span className="text-slate-500">—</span>;
          return (
            <div className="flex min-w-0 items-start gap-1" data-testid="audit-details">
              <button
                type="button"
                tabIndex={-1}
                aria-label={open ? 'Show less' : 'Show all of the details'}
                aria-expanded={open}
                onClick={(event) => {
                  event.stopPropagation();
                  toggle(row.original);
                }}
                className="shrink-0 rounded px-1 text-slate-600 hover:bg-slate-200"
              >
                {open ? '▾' : '▸'}
              </button>
              {open ? (
                <p className="min-w-0 text-xs break-words whitespace-pre-wrap" data-testid="audit-details-full">
                  {text}
                </p>
              ) : (
                <span className="min-w-0 truncate text-xs" title={text}>
                  {text}
                </span>
              )}
            </div>
          );
        },
      },
    ],
    // toggle only sets state; the details cell follows `expanded`.
    [expanded],
  );

  const shortcuts = useShortcuts({ refresh: list.reload });
  const field = 'rounded border border-slate-300 bg-white px-2 py-1';
  const fold = usePhoneFold({ active: (['action', 'actor', 'outcome', 'since', 'until'] as const).filter((key) => view[key]).length });
  return (
    <div className="w-full space-y-3 px-4 py-4 sm:px-6">
      <h1 className="text-xl font-semibold">Audit log</h1>
      {fold.toggle}
      <form id={fold.id} onSubmit={submit} className={`${fold.display} flex-wrap items-end gap-3 text-sm sm:flex`} aria-label="Audit filters">
        <label className="flex flex-col">
          Action
          <select value={draft.action} onChange={(e) => setDraft({ ...draft, action: e.target.value })} className={field} data-testid="audit-action">
            <option value="">any</option>
            {actions.map((a) => (
              <option key={a} value={a}>
                {auditActionLabel(a)}
              </option>
            ))}
          </select>
        </label>
        <label className="flex flex-col">
          Actor
          <input value={draft.actor} onChange={(e) => setDraft({ ...draft, actor: e.target.value })} className={field} data-shortcut="search" data-testid="audit-actor" />
        </label>
        <label className="flex flex-col">
          Outcome
          <select value={draft.outcome} onChange={(e) => setDraft({ ...draft, outcome: e.target.value })} className={field} data-testid="audit-outcome-filter">
            <option value="">any</option>
            {outcomes.map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </select>
        </label>
        <DateRange
          value={draft.range}
          onChange={(range) => setDraft({ ...draft, range })}
          labels={{ from: 'From', to: 'Until' }}
          testIds={{ from: 'audit-since', to: 'audit-until' }}
          invalid={list.error?.field === 'since' ? 'from' : list.error?.field === 'until' ? 'to' : undefined}
          className={field}
        />
        <button type="submit" className={buttonClass.primary} data-testid="audit-apply">
          Filter
        </button>
      </form>
      {list.error && <ErrorPanel title={list.error.status === 400 ? 'The filter was rejected' : 'Could not read the audit log'} error={list.error} />}
      <DataGrid
        label="Audit log"
        data={list.data?.items ?? []}
        columns={columns}
        getRowId={(row) => String(row.id)}
        rowLabel={rowLabel}
        sorting={[]}
        onSortingChange={() => undefined}
        onRowOpen={toggle}
        rowActions={(row) => [
          { label: expanded.has(String(row.id)) ? 'Show less' : 'Show all of the details', onSelect: () => toggle(row) },
          {
            label: 'Copy as text',
            onSelect: () =>
              void writeClipboard(`${formatTime(row.at)} ${row.actor} ${row.action} ${row.outcome}\n${row.description}`).then(
                () => toast.show('Copied the entry as text'),
                (error: unknown) => toast.show(`Copy failed: ${error instanceof Error ? error.message : String(error)}`, 'error'),
              ),
          },
        ]}
        rowAttributes={(row) => ({ 'data-expanded': String(expanded.has(String(row.id))) })}
        toolbar={
          <div className="flex flex-wrap items-center gap-2 text-sm">
            <span className="text-slate-600" data-testid="audit-matched">
              {list.data ? `${formatCount(list.data.matched)} entries, newest first` : 'Loading…'}
            </span>
            <button type="button" aria-disabled={list.loading} className={buttonClass.secondary} onClick={() => list.loading || list.reload()} data-testid="audit-refresh">
              Refresh
            </button>
          </div>
        }
        rowTestId="audit-row"
        storageKey="audit"
        loading={list.loading}
        empty={<p className="text-center text-sm text-slate-600">No audit entry matches these filters.</p>}
      />
      {list.data && (
        <Pager page={view.page} size={view.size} sizes={PAGE_SIZES} matched={list.data.matched} onPage={(page) => navigate({ ...view, page })} onSize={(size) => navigate({ ...view, size, page: 1 })} />
      )}
      {shortcuts}
    </div>
  );
}
