'use client';
// Demo only (the console manages a demo lab): make the lab's uplinks do what real ones do - a new address as after a
// PPPoE reconnect, the carrier lost upstream, the link down, the default route moved - and watch the page react.
import { useState } from 'react';
import { apiRequest, type ApiError } from '../components/api/http';
import type { DemoAction, DemoOutcome } from '@/lib/console/demo';
import { buttonClass } from '../components/ui/buttons';
import { ErrorPanel } from '../components/ui/ErrorPanel';

const LAB_WANS = ['wan1', 'wan2'] as const;
const ACTIONS: { action: DemoAction; label: string }[] = [
  { action: 'new-address', label: 'New address' },
  { action: 'carrier-down', label: 'Cut carrier' },
  { action: 'carrier-up', label: 'Restore carrier' },
  { action: 'link-down', label: 'Set down' },
  { action: 'link-up', label: 'Set up' },
  { action: 'default-route', label: 'Move default route here' },
];

export function DemoControls({ onChanged }: { onChanged: () => void }) {
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string>();
  const [error, setError] = useState<ApiError>();
  const run = async (wan: (typeof LAB_WANS)[number], action: DemoAction) => {
    setBusy(true);
    setError(undefined);
    try {
      const outcome = await apiRequest<DemoOutcome>('/api/router/demo', { method: 'POST', body: { wan, action } });
      setDone(`Done: ${outcome.done}.`);
      onChanged();
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="demo-heading" className="space-y-2 rounded-lg border border-dashed border-slate-300 p-4" data-testid="demo-controls">
      <h2 id="demo-heading" className="text-lg font-semibold">
        Demo lab uplinks
      </h2>
      <p className="text-sm text-slate-600">
        What happens to real uplinks, done to the demo lab&apos;s router. wan1 masquerades (the kernel drops its entries when its address goes or the
        link is set down); wan2 SNATs to a fixed address (nothing is dropped: its entries go stale).
      </p>
      {LAB_WANS.map((wan) => (
        <div key={wan} role="group" aria-label={`Demo actions for ${wan}`} className="flex flex-wrap items-center gap-2 text-sm">
          <span className="w-12 font-medium">{wan}</span>
          {ACTIONS.map(({ action, label }) => (
            <button key={action} type="button" className={buttonClass.secondary} disabled={busy} onClick={() => void run(wan, action)} data-testid={`demo-${wan}-${action}`}>
              {label}
            </button>
          ))}
        </div>
      ))}
      {done && (
        <p role="status" className="text-sm" data-testid="demo-result">
          {done}
        </p>
      )}
      {error && <ErrorPanel title="The demo action failed" error={error} />}
    </section>
  );
}
