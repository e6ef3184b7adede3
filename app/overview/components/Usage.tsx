'use client';
// How full the table is now: entries against nf_conntrack_max as a gauge marked at the alarm's thresholds, the
// expectation count, and the kernel's per-CPU counters as rates since the previous reading (the shared counters
// component, which also says whether accounting and timestamps are on).
import { useEffect, useRef, useState } from 'react';
import { apiRequest } from '../../components/api/http';
import type { StatsResponse } from '../../components/api/types';
import { useApi } from '../../components/api/useApi';
import { formatCount } from '../../components/format';
import { KernelCounters, type CounterKey, type CounterReading } from '../../components/counters/KernelCounters';
import { ErrorPanel } from '../../components/ui/ErrorPanel';

/** Every counter of `conntrack -S` that says something about load or trouble (insert is no longer counted). */
const OVERVIEW_COUNTERS: readonly CounterKey[] = ['found', 'invalid', 'insertFailed', 'drop', 'earlyDrop', 'error', 'searchRestart', 'clashResolve', 'chainTooLong'];

/** As often as the sampler looks by default: a rate over a shorter span would mostly show noise. */
export const POLL_MS = 10_000;

/** The time of the latest poll (ms), moving every `ms` while the page is visible: the key of the data polled with it. */
export function usePoll(ms: number): number {
  const [at, setAt] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') setAt(Date.now());
    }, ms);
    return () => clearInterval(timer);
  }, [ms]);
  return at;
}

function Gauge({ entries, max, warn, crit, level }: { entries: number; max: number; warn: number; crit: number; level: StatsResponse['alarm']['level'] }) {
  const percent = max ? (entries / max) * 100 : 0;
  const fill = level === 'critical' ? 'bg-red-600' : level === 'warning' ? 'bg-amber-500' : 'bg-sky-600';
  return (
    <div className="min-w-64 flex-1 space-y-1" data-testid="usage-gauge">
      <p className="flex flex-wrap items-baseline gap-x-2 text-sm">
        <strong className="text-2xl tabular-nums text-slate-900" data-testid="usage-percent">
          {percent < 10 ? percent.toFixed(1) : Math.round(percent)}%
        </strong>
        <span className="text-slate-700">
          <span data-testid="usage-entries">{formatCount(entries)}</span> of <span data-testid="usage-max">{formatCount(max)}</span> entries
          (nf_conntrack_max)
        </span>
      </p>
      <div
        role="meter"
        aria-label="Table usage"
        aria-valuemin={0}
        aria-valuemax={max}
        aria-valuenow={entries}
        aria-valuetext={`${percent.toFixed(1)}% (${formatCount(entries)} of ${formatCount(max)} entries)`}
        className="relative h-4 overflow-hidden rounded border border-slate-300 bg-slate-100"
      >
        <div className={`h-full ${fill}`} style={{ width: `${Math.min(100, percent)}%` }} />
        {[warn, crit].map((at) => (
          <div key={at} aria-hidden className="absolute top-0 h-full w-0.5 bg-slate-700" style={{ left: `${at}%` }} />
        ))}
      </div>
      <p className="text-xs text-slate-600">
        The alarm warns at {warn}% and is critical at {crit}% (each clears 5 points lower); drops over the last sample are critical too.
      </p>
    </div>
  );
}

export function Usage() {
  const tick = usePoll(POLL_MS);
  // The rates are counted from the reading before the current one: this page's previous poll, or on the first
  // one the reading taken with the latest snapshot (when it is an earlier one).
  const last = useRef<CounterReading | null>(null);
  const stats = useApi<{ now: StatsResponse; previous: CounterReading | null }>(`stats#${tick}`, async (signal) => {
    const now = await apiRequest<StatsResponse>('/api/stats', { signal });
    const before = last.current ?? now.baseline;
    last.current = now;
    return { now, previous: before && Date.parse(before.readAt) < Date.parse(now.readAt) ? before : null };
  });
  const expectations = useApi<{ matched: number }>(`expectations#${tick}`, (signal) => apiRequest<{ matched: number }>('/api/expectations', { signal }));
  const data = stats.data?.now;
  const previous = stats.data?.previous ?? null;

  return (
    <section aria-labelledby="usage-title" className="space-y-3 rounded-lg border border-slate-200 bg-white p-4">
      <h2 id="usage-title" className="text-base font-semibold text-slate-900">
        Usage
      </h2>
      {stats.error && !data && <ErrorPanel title="Could not read the table's usage" error={stats.error} />}
      {data && (
        <div className="flex flex-wrap items-start gap-x-8 gap-y-3">
          <Gauge entries={data.entries} max={data.maxEntries} warn={data.alarm.warnPercent} crit={data.alarm.critPercent} level={data.alarm.level} />
          <dl className="grid grid-cols-[auto_auto] gap-x-3 gap-y-1 text-sm">
            <dt className="text-slate-600">Expectations</dt>
            <dd className="tabular-nums text-slate-900" data-testid="expectation-count">
              {expectations.data ? formatCount(expectations.data.matched) : '…'}
            </dd>
            <dt className="text-slate-600">Alarm</dt>
            <dd className="text-slate-900" data-testid="alarm-level">
              {data.alarm.level}
            </dd>
            <dt className="text-slate-600">Hash buckets</dt>
            <dd className="tabular-nums text-slate-900">{data.sysctl.buckets === null ? 'unknown' : formatCount(data.sysctl.buckets)}</dd>
          </dl>
        </div>
      )}
      {data && (
        <KernelCounters
          current={data}
          baseline={previous}
          counters={OVERVIEW_COUNTERS}
          change="rate"
          baselineLabel={previous ? `the previous reading (${new Date(previous.readAt).toLocaleTimeString('en-GB', { hour12: false })})` : undefined}
          features={data.sysctl}
        />
      )}
    </section>
  );
}
