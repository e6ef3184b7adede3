'use client';
// The "Live" switch of the Connections page: off by default; when on, a small legend says what is streaming.
import { CAUSE_LABELS, type Cause } from '@/lib/history/cause-names';
import type { LiveState } from './useLiveUpdates';

export function LiveToggle({ enabled, onChange, live }: { enabled: boolean; onChange: (enabled: boolean) => void; live: LiveState }) {
  return (
    <div className="flex items-center gap-2 text-sm" data-testid="live-toggle">
      <label className="inline-flex cursor-pointer items-center gap-1">
        <input type="checkbox" role="switch" checked={enabled} onChange={(e) => onChange(e.target.checked)} aria-label="Live updates" />
        Live
      </label>
      {enabled && (
        <span className={live.connected ? 'text-emerald-700' : 'text-slate-500'} data-testid="live-state">
          {live.connected ? '● streaming' : '○ connecting…'}
          {live.added.length + live.addedMore > 0 && ` · ${live.added.length + live.addedMore} new`}
          {live.gone.size > 0 && ` · ${live.gone.size} ended`}
          {live.overflowAt && ' · events were lost: refresh'}
        </span>
      )}
    </div>
  );
}

/** What a row on screen should show while live: "ended (cause)" once gone, else the latest state. */
export function liveRowNote(live: LiveState, id: number): string | null {
  const gone = live.gone.get(id);
  if (gone) return `ended: ${CAUSE_LABELS[gone.cause as Cause] ?? gone.cause}`;
  const updated = live.updated.get(id);
  return updated?.state ?? null;
}
