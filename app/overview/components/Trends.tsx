'use client';
// The table over time, from the stats sampler's series (GET /api/stats/series): entries against the maximum,
// new and ended connections per second, and the problem counters per second, for the last hour, day, week or 30
// days. Flushes, cleanups and policy runs from the audit log are marked on the time axis for who may read the
// audit log (a viewer sees the lines without markers). The charts load with a dynamic import: the rest of the
// page shows while uPlot arrives.
import dynamic from 'next/dynamic';
import { useMemo, useState } from 'react';
import type { StatsMetric } from '@/lib/stats/metrics';
import { apiRequest } from '../../components/api/http';
import type { AuditListResponse, StatsSeriesResponse } from '../../components/api/types';
import { useApi } from '../../components/api/useApi';
import { formatCount } from '../../components/format';
import { ErrorPanel } from '../../components/ui/ErrorPanel';
import { LocalTime } from '../../components/ui/LocalTime';
import type { ChartLine, ChartMarker } from './TimeChart';
import { POLL_MS, usePoll } from './Usage';

const TimeChart = dynamic(() => import('./TimeChart'), {
  ssr: false,
  loading: () => <div className="h-[180px] animate-pulse rounded bg-slate-100" data-testid="chart-loading" />,
});

const RANGES = [
  { key: '1h', label: '1 hour', ms: 3600_000 },
  { key: '24h', label: '24 hours', ms: 24 * 3600_000 },
  { key: '7d', label: '7 days', ms: 7 * 24 * 3600_000 },
  { key: '30d', label: '30 days', ms: 30 * 24 * 3600_000 },
] as const;
type RangeKey = (typeof RANGES)[number]['key'];

/** The audit actions marked on the charts, and how a marker names each. */
const MARKED = { 'connections.flush': 'flush', 'connections.cleanup': 'cleanup', 'policy.run': 'policy run' } as const;
type MarkedAction = keyof typeof MARKED;

/** Which of min/avg/max each chart line draws: peaks for the table and the problems (a 5-minute average would hide a burst of drops), averages for the churn. */
interface LineSpec {
  metric: StatsMetric;
  of: 'avg' | 'max';
  label: string;
  color: string;
  dashed?: boolean;
}

const CHARTS: { title: string; unit: 'count' | 'rate'; lines: LineSpec[] }[] = [
  {
    title: 'Entries and maximum',
    unit: 'count',
    lines: [
      { metric: 'entries', of: 'max', label: 'entries', color: '--color-sky-600' },
      { metric: 'max', of: 'max', label: 'nf_conntrack_max', color: '--color-red-600', dashed: true },
    ],
  },
  {
    title: 'New and ended connections per second',
    unit: 'rate',
    lines: [
      { metric: 'new', of: 'avg', label: 'new/s', color: '--color-emerald-600' },
      { metric: 'ended', of: 'avg', label: 'ended/s', color: '--color-amber-600' },
    ],
  },
  {
    title: 'Drops, invalid and insert_failed per second',
    unit: 'rate',
    lines: [
      { metric: 'drop', of: 'max', label: 'drop/s', color: '--color-red-600' },
      { metric: 'earlyDrop', of: 'max', label: 'early_drop/s', color: '--color-amber-600' },
      { metric: 'invalid', of: 'max', label: 'invalid/s', color: '--color-violet-600' },
      { metric: 'insertFailed', of: 'max', label: 'insert_failed/s', color: '--color-blue-600', dashed: true },
    ],
  },
];

const formatRate = (v: number): string => (v === 0 || v >= 10 ? formatCount(Math.round(v)) : v.toFixed(1)) + '/s';
const formatEntries = (v: number): string => formatCount(Math.round(v));

/**
 * The series as chart columns: times in seconds, and a null point wherever buckets are missing (the server sends
 * only buckets with samples), so a line breaks where the console was not sampling instead of bridging the gap.
 */
function columns(data: StatsSeriesResponse, lines: LineSpec[]): { times: number[]; values: (number | null)[][] } {
  const times: number[] = [];
  const values: (number | null)[][] = lines.map(() => []);
  const stepMs = data.step * 1000;
  data.times.forEach((t, i) => {
    if (i > 0 && t - data.times[i - 1] > stepMs * 1.5) {
      times.push((data.times[i - 1] + stepMs) / 1000);
      for (const column of values) column.push(null);
    }
    times.push(t / 1000);
    lines.forEach((line, k) => values[k].push(data.series[line.metric][line.of][i]));
  });
  return { times, values };
}

const entries = (n: number): string => `${formatCount(n)} ${n === 1 ? 'entry' : 'entries'}`;

/**
 * "flush (whole table) by admin: 146 entries", "policy run (policy wan2-failover-udp): 9 entries" (a policy names
 * itself), "policy run (policy wan1-failback-tcp): would delete 29 entries (dry run)": a dry run deleted nothing,
 * and its count is what it would have deleted (as the notice and the Router page say).
 */
function markerLabel(action: MarkedAction, entry: AuditListResponse['items'][number]): string {
  const target = entry.target ? ` (${entry.target})` : '';
  const who = entry.actorKind === 'policy' || entry.actorKind === 'system' ? '' : ` by ${entry.actor}`;
  const wouldDelete = entry.details?.dryRun === true && typeof entry.details.count === 'number' ? entry.details.count : undefined;
  const affected = wouldDelete !== undefined ? `: would delete ${entries(wouldDelete)} (dry run)` : entry.affected === null ? '' : `: ${entries(entry.affected)}`;
  return `${MARKED[action]}${target}${who}${affected}`;
}

function useMarkers(enabled: boolean, from: number, tick: number): ChartMarker[] {
  const since = new Date(from).toISOString();
  const answer = useApi<ChartMarker[]>(enabled ? `markers#${since}#${tick}` : null, async (signal) => {
    const lists = await Promise.all(
      (Object.keys(MARKED) as MarkedAction[]).map(async (action) => {
        const { items } = await apiRequest<AuditListResponse>(`/api/audit?action=${action}&since=${encodeURIComponent(since)}&limit=1000`, { signal });
        return items.map((entry): ChartMarker => ({ at: Date.parse(entry.at) / 1000, label: markerLabel(action, entry) }));
      }),
    );
    return lists.flat().sort((a, b) => a.at - b.at);
  });
  return answer.data ?? NO_MARKERS;
}
const NO_MARKERS: ChartMarker[] = [];

export function Trends({ canReadAudit }: { canReadAudit: boolean }) {
  const [rangeKey, setRangeKey] = useState<RangeKey>('1h');
  const range = RANGES.find((r) => r.key === rangeKey) ?? RANGES[0];
  // The window ends at the latest poll and moves with it.
  const to = usePoll(POLL_MS);
  const from = to - range.ms;
  const url = `/api/stats/series?from=${from}&to=${to}`;
  const series = useApi<StatsSeriesResponse>(url, (signal) => apiRequest<StatsSeriesResponse>(url, { signal }));
  const markers = useMarkers(canReadAudit, from, to);
  const data = series.data;
  const charts = useMemo(
    () =>
      data
        ? CHARTS.map((chart) => {
            const { times, values } = columns(data, chart.lines);
            const lines: ChartLine[] = chart.lines.map((line, k) => ({ label: line.label, color: line.color, dashed: line.dashed, values: values[k] }));
            return { ...chart, times, lines };
          })
        : [],
    [data],
  );
  const xRange = useMemo((): [number, number] => [from / 1000, to / 1000], [from, to]);

  return (
    <section aria-labelledby="trends-title" className="space-y-3">
      <div className="flex flex-wrap items-center gap-x-4 gap-y-2">
        <h2 id="trends-title" className="text-base font-semibold text-slate-900">
          Over time
        </h2>
        <div role="group" aria-label="Time range" className="flex flex-wrap gap-1 text-sm">
          {RANGES.map((r) => (
            <button
              key={r.key}
              type="button"
              aria-pressed={r.key === rangeKey}
              onClick={() => setRangeKey(r.key)}
              data-testid={`range-${r.key}`}
              className={`rounded border px-2 py-1 ${r.key === rangeKey ? 'border-sky-700 bg-sky-50 font-semibold text-sky-900' : 'border-slate-300 bg-white text-slate-700 hover:bg-slate-100'}`}
            >
              {r.label}
            </button>
          ))}
        </div>
        {data && (
          <span className="text-xs text-slate-600" data-testid="series-source">
            {data.sampleSeconds === 0
              ? 'The sampler is off (CONNTRACK_STATS_SAMPLE_SECONDS=0): nothing is recorded.'
              : `${formatCount(data.times.length)} point${data.times.length === 1 ? '' : 's'} of ${data.source === 'samples' ? `${data.sampleSeconds}-second samples` : '5-minute summaries'}, one per ${data.step} s; peaks for entries and problems, averages for new/ended.`}
          </span>
        )}
      </div>
      {series.error && <ErrorPanel title="Could not load the series" error={series.error} />}
      <div className="grid gap-3 xl:grid-cols-3">
        {charts.map((chart) => (
          <figure key={chart.title} className="min-w-0 rounded-lg border border-slate-200 bg-white p-3" data-testid="trend-chart">
            <figcaption className="mb-1 text-sm font-semibold text-slate-900">{chart.title}</figcaption>
            <TimeChart times={chart.times} lines={chart.lines} markers={markers} range={xRange} format={chart.unit === 'rate' ? formatRate : formatEntries} syncKey="overview" />
          </figure>
        ))}
      </div>
      {markers.length > 0 && (
        <div className="text-sm" data-testid="markers">
          <h3 className="font-medium text-slate-700">Marked on the charts (dashed violet lines)</h3>
          <ul className="mt-1 space-y-0.5 text-slate-700">
            {markers
              .slice(-10)
              .reverse()
              .map((m) => (
                <li key={`${m.at}-${m.label}`} data-testid="marker">
                  <LocalTime iso={new Date(m.at * 1000).toISOString()} /> {m.label}
                </li>
              ))}
          </ul>
          {markers.length > 10 && <p className="text-xs text-slate-600">The 10 latest of {formatCount(markers.length)}; the Audit log has them all.</p>}
        </div>
      )}
    </section>
  );
}
