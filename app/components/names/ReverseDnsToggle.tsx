'use client';
// The "Reverse DNS" switch of a view; nothing when the server does not offer reverse DNS.
import type { ReverseNamesState } from './useReverseNames';

export function ReverseDnsToggle({ state }: { state: ReverseNamesState }) {
  if (!state.offered) return null;
  return (
    <div className="flex items-center gap-2 text-sm" data-testid="reverse-dns-toggle">
      <label className="inline-flex cursor-pointer items-center gap-1">
        <input type="checkbox" role="switch" checked={state.on} onChange={(e) => state.setOn(e.target.checked)} aria-label="Reverse DNS names" />
        Reverse DNS
      </label>
      {state.on && (
        <span className="text-slate-500" data-testid="reverse-dns-state" aria-live="polite">
          {state.looking ? 'looking up…' : `${state.found} found`}
        </span>
      )}
    </div>
  );
}
