'use client';
// The expectations page: filters in the URL (helper, master, address, port), the table (expected tuple and mask,
// master with a link to it, helper, class, flags, zone, timeout), delete one, delete all of one master, and flush
// all behind a typed confirmation.
import Link from 'next/link';
import { useEffect, useState, type FormEvent } from 'react';
import { ApiError, apiRequest } from '@/app/components/api/http';
import { FLUSH_WORD, typedMatches } from '@/app/components/ui/confirm-word';
import { Dialog } from '@/app/components/ui/Dialog';
import { ErrorPanel } from '@/app/components/ui/ErrorPanel';
import { buttonClass } from '@/app/components/ui/buttons';
import { useToast } from '@/app/components/ui/Toast';
import { TypeToConfirm } from '@/app/components/ui/TypeToConfirm';
import type { ApiExpectation, ExpectationsDeleteOutcome } from '@/lib/console/expectations';
import { formatDuration } from '@/app/components/connections/format';
import { endpointText, expectedText, maskText } from './format';

const FIELDS = ['helper', 'master', 'address', 'port'] as const;
type Field = (typeof FIELDS)[number];
const LABELS: Record<Field, string> = { helper: 'Helper', master: 'Master connection id', address: 'Address or prefix', port: 'Port or range' };

export type ExpectationsSearch = Record<string, string | string[] | undefined>;

function fromSearch(search: ExpectationsSearch): Record<Field, string> {
  const one = (key: string): string => {
    const value = search[key];
    return (Array.isArray(value) ? value[0] : value) ?? '';
  };
  return Object.fromEntries(FIELDS.map((f) => [f, one(f)])) as Record<Field, string>;
}

function queryOf(values: Record<Field, string>): string {
  const params = new URLSearchParams();
  for (const field of FIELDS) if (values[field].trim()) params.set(field, values[field].trim());
  return params.toString();
}

type Pending = { kind: 'one'; item: ApiExpectation } | { kind: 'master'; master: number; count: number } | { kind: 'flush' };

const toApiError = (caught: unknown): ApiError => (caught instanceof ApiError ? caught : new ApiError(0, 'network', String(caught)));

export function ExpectationsConsole({ canDelete, canFlush, search }: { canDelete: boolean; canFlush: boolean; search: ExpectationsSearch }) {
  const [values, setValues] = useState<Record<Field, string>>(() => fromSearch(search));
  const [applied, setApplied] = useState<Record<Field, string>>(() => fromSearch(search));
  const [reloads, setReloads] = useState(0);
  const [items, setItems] = useState<ApiExpectation[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [pending, setPending] = useState<Pending | null>(null);
  const [typed, setTyped] = useState('');
  const [running, setRunning] = useState(false);
  const [failure, setFailure] = useState<ApiError | null>(null);
  const toast = useToast();

  useEffect(() => {
    const query = queryOf(applied);
    window.history.replaceState(null, '', query ? `/expectations?${query}` : '/expectations');
    const controller = new AbortController();
    apiRequest<{ matched: number; items: ApiExpectation[] }>(`/api/expectations${query ? `?${query}` : ''}`, { signal: controller.signal }).then(
      (page) => {
        setItems(page.items);
        setError(null);
      },
      (caught: unknown) => {
        if (!controller.signal.aborted) setError(toApiError(caught));
      },
    );
    return () => controller.abort();
  }, [applied, reloads]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setApplied(values);
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
      setReloads((n) => n + 1);
    } catch (caught) {
      setFailure(toApiError(caught));
      setRunning(false);
    }
  };

  const list = items ?? [];
  const masterCount = (master: number) => list.filter((e) => e.master.id === master).length;

  return (
    <div className="w-full px-4 py-4 sm:px-6">
      <h1 className="mb-4 text-xl font-semibold">Expectations</h1>
      <p className="mb-3 max-w-3xl text-sm text-slate-600">
        Connections a helper (ftp, sip, tftp, …) has announced on behalf of its master connection: the kernel admits them as RELATED when they arrive.
        A <span className="font-mono">*</span> matches anything.
      </p>
      <form onSubmit={submit} className="mb-3 flex flex-wrap items-end gap-3 text-sm" aria-label="Expectation filters">
        {FIELDS.map((field) => (
          <label key={field} className="flex flex-col">
            {LABELS[field]}
            <input
              name={field}
              value={values[field]}
              onChange={(e) => setValues({ ...values, [field]: e.target.value })}
              className="w-40 rounded border border-slate-300 px-2 py-1"
              aria-invalid={error?.field === field || undefined}
              data-testid={`expect-filter-${field}`}
            />
          </label>
        ))}
        <button type="submit" className={buttonClass.primary} data-testid="expect-apply">
          Search
        </button>
        <button type="button" className={buttonClass.secondary} onClick={() => setReloads((n) => n + 1)} data-testid="expect-refresh">
          Refresh
        </button>
        {canFlush && (
          <button type="button" className={buttonClass.danger} onClick={() => setPending({ kind: 'flush' })} data-testid="expect-flush">
            Flush all…
          </button>
        )}
      </form>
      {error && (
        <div className="mb-3">
          <ErrorPanel title="The expectations could not be listed" error={error} />
        </div>
      )}
      <p className="mb-2 text-sm" data-testid="expect-matched">
        {items === null ? 'Loading…' : `${list.length} ${list.length === 1 ? 'expectation' : 'expectations'}`}
      </p>
      <div className="overflow-x-auto">
        <table className="w-full border-collapse text-sm" aria-label="Expectations" aria-busy={items === null}>
          <thead>
            <tr className="border-b text-left">
              <th className="p-1">Id</th>
              <th className="p-1">Proto</th>
              <th className="p-1">Expected (and mask)</th>
              <th className="p-1">Master</th>
              <th className="p-1">Helper</th>
              <th className="p-1">Class</th>
              <th className="p-1">Flags</th>
              <th className="p-1">Zone</th>
              <th className="p-1">Timeout</th>
              {canDelete && <th className="p-1">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {list.map((e) => (
              <tr key={e.id} className="border-b align-top hover:bg-slate-100" data-testid="expect-row" data-id={e.id} data-master={e.master.id ?? ''}>
                <td className="p-1 font-mono">{e.id}</td>
                <td className="p-1">{e.protocol}</td>
                <td className="p-1 font-mono">
                  <span data-testid="expect-expected">{expectedText(e.expected, e.mask)}</span>
                  <div className="text-xs text-slate-600" title="The mask: which bits of the expected tuple must match">
                    mask {maskText(e.mask)}
                  </div>
                  {e.nat && (
                    <div className="text-xs text-slate-600">
                      NAT {e.nat.src ? `to ${e.nat.src}${e.nat.sport !== undefined ? `:${e.nat.sport}` : ''}` : `keeps port ${e.nat.sport ?? '?'}`}
                    </div>
                  )}
                </td>
                <td className="p-1 font-mono" data-testid="expect-master">
                  {e.master.id !== null ? (
                    <Link href={`/?id=${e.master.id}`} className="underline" title={`Open connection ${e.master.id}`}>
                      {endpointText(e.master.original)}
                    </Link>
                  ) : (
                    <span title="The master connection is no longer in the table">{endpointText(e.master.original)}</span>
                  )}
                </td>
                <td className="p-1" data-testid="expect-helper">
                  {e.helper ?? '—'}
                </td>
                <td className="p-1">{e.class}</td>
                <td className="p-1">{e.flags.length ? e.flags.join(' ') : '—'}{e.fn ? <div className="text-xs text-slate-600">{e.fn}</div> : null}</td>
                <td className="p-1">{e.zone}</td>
                <td className="p-1 whitespace-nowrap">{formatDuration(e.timeout)}</td>
                {canDelete && (
                  <td className="p-1">
                    <div className="flex flex-wrap gap-1">
                      <button type="button" className={buttonClass.dangerOutline} onClick={() => setPending({ kind: 'one', item: e })} aria-label={`Delete expectation ${e.id}`} data-testid="expect-delete">
                        Delete
                      </button>
                      {e.master.id !== null && (
                        <button
                          type="button"
                          className={buttonClass.dangerOutline}
                          onClick={() => e.master.id !== null && setPending({ kind: 'master', master: e.master.id, count: masterCount(e.master.id) })}
                          aria-label={`Delete every expectation of connection ${e.master.id}`}
                          data-testid="expect-delete-master"
                        >
                          All of master
                        </button>
                      )}
                    </div>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {items !== null && list.length === 0 && !error && (
        <p className="mt-3 text-sm text-slate-600" data-testid="expect-empty">
          No expectations{queryOf(applied) ? ' match these filters' : ''}. They appear while a helper waits for a related connection (an FTP data connection after PASV, a SIP media stream, …).
        </p>
      )}
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
                <p>Every expectation in the table goes ({list.length} listed now, more if a filter is applied). Pending FTP data connections, SIP media and the like will be refused or untracked.</p>
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
