'use client';
// The top of the console: how full the table is, what is in it, how old the snapshot is, and the table-wide
// actions (refresh, MultiWAN cleanup, flush).
import type { ApiError } from '../api/http';
import type { ApiSnapshot, StatsResponse, SummaryResponse } from '../api/types';
import { buttonClass } from '../ui/buttons';
import { useNow } from '../ui/clock';
import { formatClock, formatCount, formatDuration } from '../format';
import type { FilterKey } from './query';

export interface SummaryHeaderProps {
  snapshot: (ApiSnapshot & { takenLocalMs: number }) | undefined;
  stats: StatsResponse | undefined;
  statsError: ApiError | undefined;
  summary: SummaryResponse | undefined;
  refreshing: boolean;
  onRefresh: () => void;
  /** Absent when the user may not delete: no MultiWAN cleanup button. */
  onCleanup?: () => void;
  /** Absent when the user may not flush: no flush button. */
  onFlush?: () => void;
  onFilter: (key: FilterKey, value: string) => void;
}

/** Non-zero counts, largest first (ties by name). */
const byCount = (counts: Record<string, number>): [string, number][] => Object.entries(counts).sort(([a, x], [b, y]) => y - x || a.localeCompare(b));

/** Coloured by the table alarm's usage level (CONNTRACK_ALARM_WARN_PERCENT / _CRIT_PERCENT, with hysteresis). */
function usageColour(level: StatsResponse['alarm']['usage']): { bar: string; text: string } {
  if (level === 'critical') return { bar: 'bg-red-600', text: 'text-red-700' };
  if (level === 'warning') return { bar: 'bg-amber-500', text: 'text-amber-700' };
  return { bar: 'bg-emerald-600', text: 'text-slate-700' };
}

/** Past this age the snapshot's figure is shown in the warning colour, with a prompt to refresh. */
const STALE_SECONDS = 60;

/** "12 s", "3 min 5 s", "2 h 5 min": how long ago, in whole seconds (it ticks). */
const agoText = (seconds: number): string => formatDuration(Math.floor(seconds));

/** "146 in this snapshot · taken 3 min 5 s ago (12:01:02 +01:00) · took 378 ms", the age ticking. */
function SnapshotAge({ snapshot, takenLocalMs, refreshing, onRefresh }: { snapshot: ApiSnapshot; takenLocalMs: number; refreshing: boolean; onRefresh: () => void }) {
  const now = useNow();
  // Before the first tick (and on the server) the age is the one the answer carried.
  const seconds = now === 0 ? snapshot.ageMs / 1000 : Math.max(0, (now - takenLocalMs) / 1000);
  const stale = seconds > STALE_SECONDS;
  const time = formatClock(snapshot.takenAt);
  const took = snapshot.tookMs >= 1000 ? `${(snapshot.tookMs / 1000).toFixed(1)} s` : `${Math.round(snapshot.tookMs)} ms`;
  return (
    <>
      <span data-testid="snapshot-count">{formatCount(snapshot.total)} in this snapshot</span>
      {' · '}
      <span className={stale ? 'font-medium text-amber-800' : undefined} data-testid="snapshot-age" data-stale={stale}>
        taken {agoText(seconds)} ago
      </span>{' '}
      ({time}) · took {took}
      {refreshing ? (
        <span role="status" className="ml-2 font-medium text-sky-800" data-testid="snapshot-refreshing">
          refreshing…
        </span>
      ) : (
        stale && (
          <button type="button" onClick={onRefresh} className="ml-2 font-medium text-amber-800 underline" data-testid="stale-refresh">
            Refresh: this view is {agoText(seconds)} old
          </button>
        )
      )}
    </>
  );
}

/** Entries the kernel sent that the console could not decode: left out of the snapshot, and said so. */
const skippedText = (skipped: number): string => `${formatCount(skipped)} ${skipped === 1 ? 'entry' : 'entries'} could not be read`;

export function SummaryHeader({ snapshot, stats, statsError, summary, refreshing, onRefresh, onCleanup, onFlush, onFilter }: SummaryHeaderProps) {
  const ratio = stats ? (stats.fillRatio ?? stats.entries / Math.max(1, stats.maxEntries)) : 0;
  const colour = usageColour(stats?.alarm.usage ?? 'none');
  const chip = 'rounded-full border border-slate-300 bg-white px-2 py-0.5 text-xs hover:border-sky-500 hover:bg-sky-50';
  return (
    <header className="space-y-3 border-b border-slate-200 bg-white px-4 py-3 sm:px-6">
      <div className="flex flex-wrap items-center gap-x-6 gap-y-2">
        <h1 className="text-xl font-semibold">Connections</h1>
        <div className="min-w-56" data-testid="table-usage">
          {stats ? (
            <>
              <div className={`text-sm font-medium ${colour.text}`}>
                <span data-testid="kernel-count">{formatCount(stats.entries)} now in the kernel</span> of {formatCount(stats.maxEntries)} ({(ratio * 100).toFixed(ratio < 0.1 ? 1 : 0)}%)
                {stats.alarm.usage !== 'none' && <span role="status"> — table nearly full: new connections will be dropped</span>}
              </div>
              <div className="mt-1 h-1.5 w-56 overflow-hidden rounded bg-slate-200" aria-hidden>
                <div className={`h-full ${colour.bar}`} style={{ width: `${Math.min(100, ratio * 100)}%` }} />
              </div>
            </>
          ) : statsError ? (
            <span className="text-sm text-red-700" title={statsError.message}>
              table usage unavailable
            </span>
          ) : (
            <span className="text-sm text-slate-400">reading table usage…</span>
          )}
        </div>
        <div className="text-sm text-slate-600" data-testid="snapshot-info" data-snapshot-id={snapshot?.id}>
          {snapshot ? <SnapshotAge snapshot={snapshot} takenLocalMs={snapshot.takenLocalMs} refreshing={refreshing} onRefresh={onRefresh} /> : refreshing ? 'taking a snapshot…' : 'no snapshot yet'}
          {snapshot && snapshot.skipped > 0 && (
            <span role="status" className="ml-2 font-medium text-amber-800" data-testid="snapshot-skipped">
              {skippedText(snapshot.skipped)}
            </span>
          )}
        </div>
        <div className="ml-auto flex flex-wrap items-center gap-2">
          <button
            type="button"
            // aria-disabled, not disabled: a disabled button drops the keyboard focus to <body> while the refresh runs.
            aria-disabled={refreshing}
            className={`${buttonClass.primary} aria-disabled:cursor-wait aria-disabled:opacity-60`}
            onClick={() => refreshing || onRefresh()}
            data-testid="refresh"
          >
            {refreshing ? 'Refreshing…' : 'Refresh'}
          </button>
          {onCleanup && (
            <button type="button" className={buttonClass.secondary} onClick={onCleanup} data-testid="open-multiwan">
              Clean up an old external address
            </button>
          )}
          {onFlush && (
            <button type="button" className={buttonClass.dangerOutline} onClick={onFlush} data-testid="open-flush">
              Flush table…
            </button>
          )}
        </div>
      </div>
      {summary && (
        <div className="flex flex-wrap items-center gap-x-6 gap-y-2 text-sm" data-testid="table-summary">
          <div className="flex flex-wrap items-center gap-1.5" aria-label="Connections by protocol">
            <span className="text-slate-500">Protocols</span>
            {Object.keys(summary.byProtocol).length === 0 && <span className="text-slate-400">none</span>}
            {byCount(summary.byProtocol).map(([name, count]) => (
              <button key={name} type="button" className={chip} onClick={() => onFilter('protocol', name)} data-testid={`count-protocol-${name}`}>
                {name} <strong className="tabular-nums">{formatCount(count)}</strong>
              </button>
            ))}
          </div>
          <div className="flex flex-wrap items-center gap-1.5" aria-label="TCP connections by state">
            <span className="text-slate-500">TCP states</span>
            {Object.keys(summary.byState).length === 0 && <span className="text-slate-400">none</span>}
            {Object.entries(summary.byState).map(([name, count]) => (
              <button key={name} type="button" className={chip} onClick={() => onFilter('state', name)} data-testid={`count-state-${name}`}>
                {name} <strong className="tabular-nums">{formatCount(count)}</strong>
              </button>
            ))}
          </div>
          <div className="flex flex-wrap items-center gap-1.5" aria-label="Connections by family">
            <span className="text-slate-500">Families</span>
            {byCount(summary.byFamily)
              .filter(([, count]) => count > 0)
              .map(([name, count]) => (
                <button key={name} type="button" className={chip} onClick={() => onFilter('family', name)} data-testid={`count-family-${name}`}>
                  {name === 'ipv6' ? 'IPv6' : 'IPv4'} <strong className="tabular-nums">{formatCount(count)}</strong>
                </button>
              ))}
          </div>
        </div>
      )}
    </header>
  );
}
