'use client';
// Cleanup by uplink: pick a WAN (or type addresses); one action covers its current and former addresses in both
// families. The preview (a dry run on the live table) splits what was NATed out through it from the inbound
// port forwards to it, which are only included when asked, and warns when the WAN still carries the default route.
import { useState, type FormEvent } from 'react';
import { apiRequest, type ApiError } from '../api/http';
import type { CleanupResponse, RouterResponse } from '../api/types';
import { useApi } from '../api/useApi';
import { buttonClass } from '../ui/buttons';
import { Dialog } from '../ui/Dialog';
import { ErrorPanel } from '../ui/ErrorPanel';

export interface UplinkCleanupProps {
  /** Preselected WAN (from the Router page or the stale notice). */
  wan?: string;
  onClose: () => void;
  /** After a delete: a one-line summary for the notice area. */
  onDone: (summary: string) => void;
}

type Target = { kind: 'wan'; wan: string } | { kind: 'addresses'; addresses: string[] };

const plural = (n: number): string => `${n.toLocaleString('en-US')} connection${n === 1 ? '' : 's'}`;

function bodyOf(target: Target, inbound: boolean, dryRun: boolean) {
  return target.kind === 'wan' ? { wan: target.wan, inbound, dryRun } : { addresses: target.addresses, inbound, dryRun };
}

export function UplinkCleanup({ wan, onClose, onDone }: UplinkCleanupProps) {
  const router = useApi<RouterResponse>('router', (signal) => apiRequest<RouterResponse>('/api/router', { signal }));
  const [choice, setChoice] = useState<string>(wan ?? '');
  const [addressText, setAddressText] = useState('');
  const [inbound, setInbound] = useState(false);
  const [preview, setPreview] = useState<CleanupResponse>();
  const [target, setTarget] = useState<Target>();
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);

  const wans = router.data?.wans ?? [];
  const selected = choice || wans[0]?.name || '';

  const run = async (next: Target, dryRun: boolean) => {
    setBusy(true);
    setError(undefined);
    try {
      const result = await apiRequest<CleanupResponse>('/api/connections/cleanup', { method: 'POST', body: bodyOf(next, inbound, dryRun) });
      if (dryRun) {
        setTarget(next);
        setPreview(result);
      } else {
        const deleted = result.outbound.deleted + (result.inbound?.deleted ?? 0);
        onDone(`Deleted ${plural(deleted)} NATed to ${next.kind === 'wan' ? next.wan : next.addresses.join(', ')}.`);
      }
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setBusy(false);
    }
  };

  const onPreview = (event: FormEvent) => {
    event.preventDefault();
    if (selected === '__addresses') {
      const addresses = addressText.split(/[\s,]+/).filter(Boolean);
      void run({ kind: 'addresses', addresses }, true);
    } else if (selected) {
      void run({ kind: 'wan', wan: selected }, true);
    }
  };

  const total = preview ? preview.outbound.matched + (preview.inbound?.matched ?? 0) : 0;

  return (
    <Dialog title="Clean up an uplink" onClose={onClose} wide testId="uplink-cleanup">
      {router.error && <ErrorPanel title="Could not read the uplinks" error={router.error} />}
      {!preview ? (
        <form onSubmit={onPreview} className="space-y-3 text-sm">
          <p className="text-slate-600">
            Connections NATed to an uplink’s old address stay in the table and keep traffic on a dead path. Pick the WAN: its current and former
            addresses, IPv4 and IPv6, are covered in one action.
          </p>
          <fieldset className="space-y-1">
            <legend className="mb-1 font-medium">Uplink</legend>
            {wans.map((w) => (
              <label key={w.name} className="flex flex-wrap items-center gap-2">
                <input type="radio" name="uplink" value={w.name} checked={selected === w.name} onChange={() => setChoice(w.name)} />
                <span className="font-medium">{w.name}</span>
                <span className="font-mono text-xs text-slate-600">{[...w.addresses.map((a) => a.address), ...w.former.map((f) => `${f.address} (former)`)].join(', ') || 'no addresses'}</span>
                {w.defaultRoute.length > 0 && <span className="rounded bg-sky-100 px-1.5 text-[10px] font-semibold text-sky-800">DEFAULT ROUTE</span>}
              </label>
            ))}
            <label className="flex items-center gap-2">
              <input type="radio" name="uplink" value="__addresses" checked={selected === '__addresses'} onChange={() => setChoice('__addresses')} />
              Addresses
            </label>
            {selected === '__addresses' && (
              <input
                className="block w-full rounded border border-slate-300 px-2 py-1 font-mono"
                aria-label="Addresses to clean up"
                placeholder="203.0.113.7, 2001:db8::7"
                value={addressText}
                onChange={(e) => setAddressText(e.target.value)}
              />
            )}
          </fieldset>
          <label className="flex items-center gap-2">
            <input type="checkbox" checked={inbound} onChange={(e) => setInbound(e.target.checked)} data-testid="cleanup-inbound" />
            Also the inbound port forwards to these addresses
          </label>
          {error && <ErrorPanel title="Preview failed" error={error} />}
          <div className="flex justify-end gap-2">
            <button type="button" className={buttonClass.secondary} onClick={onClose}>
              Cancel
            </button>
            <button type="submit" className={buttonClass.primary} disabled={busy || !selected} data-testid="cleanup-preview">
              Preview
            </button>
          </div>
        </form>
      ) : (
        <div className="space-y-3 text-sm" data-testid="cleanup-result">
          <p>
            Addresses: <span className="font-mono">{preview.addresses.map((a) => `${a.address}${a.current ? '' : ' (former)'}`).join(', ')}</span>
          </p>
          <ul className="space-y-1">
            <li data-testid="cleanup-outbound">
              Outbound NATed to it: <strong>{plural(preview.outbound.matched)}</strong>
            </li>
            <li data-testid="cleanup-inbound-count">
              Inbound port forwards to it:{' '}
              {preview.inbound ? <strong>{plural(preview.inbound.matched)}</strong> : <span>{plural(preview.inboundSkipped)} (left alone; tick the box to include them)</span>}
            </li>
          </ul>
          {preview.warning && (
            <p role="alert" className="rounded border border-amber-300 bg-amber-50 px-3 py-2 text-amber-900">
              This WAN carries the default route now: {preview.warning}.
            </p>
          )}
          {error && <ErrorPanel title="Cleanup failed" error={error} />}
          <div className="flex justify-end gap-2">
            <button type="button" className={buttonClass.secondary} onClick={() => setPreview(undefined)}>
              Back
            </button>
            <button
              type="button"
              className={buttonClass.danger}
              disabled={busy || total === 0 || !target}
              onClick={() => target && void run(target, false)}
              data-testid="cleanup-confirm"
            >
              Delete {plural(total)}
            </button>
          </div>
        </div>
      )}
    </Dialog>
  );
}
