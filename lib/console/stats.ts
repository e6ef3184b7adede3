// The table over time: the one sampler of this process (started with the server, like the history recorder) and
// GET /api/stats/series. The sampler's new/ended rates come from the history recorder's event counters; each
// sample is judged by the table alarm (alarm.ts).
import { z } from 'zod';
import { config } from '@/lib/config';
import { historyRuntime } from '@/lib/history';
import { onShutdown } from '@/lib/lifecycle';
import { logger } from '@/lib/observability';
import { processValue } from '@/lib/process';
import { ROLLUP_RETENTION_MS, StatsSampler, StatsStore, type StatsSeries } from '@/lib/stats';
import { sharedStore } from '@/lib/store';
import { contributeAlarmNotices, updateAlarm } from './alarm';
import { instant, integer } from './schemas';
import { consoleService } from './service';

export interface StatsRuntime {
  store: StatsStore;
  sampler: StatsSampler;
}

/** The sampler of this process, started on first use (CONNTRACK_STATS_SAMPLE_SECONDS=0: it stores nothing). */
export function statsRuntime(): StatsRuntime {
  return processValue('stats', () => {
    const store = new StatsStore(sharedStore());
    contributeAlarmNotices();
    const sampler = new StatsSampler({
      source: consoleService().conntrack,
      store,
      intervalSeconds: config().stats.sampleSeconds,
      events: () => historyRuntime().recorder?.eventTotals(),
      onSample: (point) => updateAlarm(point),
      log: (message) => logger().warn(message),
    });
    sampler.start();
    onShutdown('stats', () => sampler.stop());
    return { store, sampler };
  });
}

/** Buckets per answer at most: a 30-day chart at 5 minutes is 8640. */
export const MAX_SERIES_POINTS = 10_000;
/** Buckets a chart gets when the step is not given. */
const DEFAULT_POINTS = 720;

/** GET /api/stats/series: from (default an hour ago) to (default now), step in seconds (default: ~720 buckets). */
export const statsSeriesSchema = z
  .strictObject({
    from: instant('from').optional(),
    to: instant('to').optional(),
    step: integer('step', 1, 86_400).optional(),
  })
  .transform((query, ctx) => {
    const to = query.to ?? Date.now();
    const from = query.from ?? to - 3600_000;
    if (from >= to) ctx.addIssue({ code: 'custom', path: ['from'], message: 'from must be before to' });
    else if (to - from > ROLLUP_RETENTION_MS + 86_400_000) ctx.addIssue({ code: 'custom', path: ['from'], message: 'from must be at most 31 days before to (the series are kept 30 days)' });
    const sampleSeconds = Math.max(1, Math.round(config().stats.sampleSeconds) || 10);
    const step = query.step ?? Math.max(sampleSeconds, Math.ceil((to - from) / 1000 / DEFAULT_POINTS / sampleSeconds) * sampleSeconds);
    if ((to - from) / 1000 / step > MAX_SERIES_POINTS) ctx.addIssue({ code: 'custom', path: ['step'], message: `step must be at least ${Math.ceil((to - from) / 1000 / MAX_SERIES_POINTS)} s for this range (at most ${MAX_SERIES_POINTS} buckets)` });
    return { from, to, step };
  });
export type StatsSeriesQuery = z.output<typeof statsSeriesSchema>;

export interface ApiStatsSeries extends StatsSeries {
  /** Seconds between samples (0: the sampler is off). */
  sampleSeconds: number;
}

export async function statsSeries(query: StatsSeriesQuery): Promise<ApiStatsSeries> {
  return { ...statsRuntime().store.series(query), sampleSeconds: config().stats.sampleSeconds };
}
