// Table usage over time in SQLite: one row per sample for a day, and per 5-minute bucket the min/avg/max of its
// samples for 30 days (recomputed from the samples as each one arrives, so the current bucket is always
// current). Series are read at any step: samples grouped by the step while they are kept, buckets after that.
import { migrate, type Store } from '@/lib/store';
import { POINT_RETENTION_MS, ROLLUP_MS, ROLLUP_RETENTION_MS, STATS_METRICS, type StatsMetric } from './metrics';
import { STATS_MIGRATIONS } from './schema';

/** One sample: entries and the maximum now, rates per second since the sample before (null when unknown). */
export type StatsPoint = { at: number; entries: number; max: number } & Record<Exclude<StatsMetric, 'entries' | 'max'>, number | null>;

/** A series: bucket start times (ms) and, per metric, the min/avg/max of each bucket (null: no value there). */
export interface StatsSeries {
  from: number;
  to: number;
  /** Seconds per bucket. */
  step: number;
  /** Where the buckets come from: the samples (kept a day) or the 5-minute rollups (kept 30 days). */
  source: 'samples' | 'rollups';
  times: number[];
  series: Record<StatsMetric, { min: (number | null)[]; avg: (number | null)[]; max: (number | null)[] }>;
}

/** Column of each metric in stats_points (and the prefix of its three columns in stats_rollups). */
const COLUMN: Record<StatsMetric, string> = {
  entries: 'entries',
  max: 'max_entries',
  new: 'new_ps',
  ended: 'ended_ps',
  drop: 'drop_ps',
  earlyDrop: 'early_drop_ps',
  invalid: 'invalid_ps',
  insertFailed: 'insert_failed_ps',
};
const COLUMNS = STATS_METRICS.map((m) => COLUMN[m]);

export interface StatsStoreOptions {
  /** The clock retention is measured against (tests and the benchmark pass their own). */
  now?: () => number;
}

export class StatsStore {
  private readonly insertPoint;
  private readonly rollup;
  private readonly prunePoints;
  private readonly pruneRollups;
  private readonly now: () => number;

  constructor(
    readonly db: Store,
    options: StatsStoreOptions = {},
  ) {
    migrate(db, 'stats', STATS_MIGRATIONS);
    this.now = options.now ?? Date.now;
    this.insertPoint = db.prepare(`INSERT OR REPLACE INTO stats_points (at, ${COLUMNS.join(', ')}) VALUES (${Array(COLUMNS.length + 1).fill('?').join(', ')})`);
    const aggregates = COLUMNS.map((c) => `MIN(${c}), AVG(${c}), MAX(${c})`).join(', ');
    this.rollup = db.prepare(`INSERT OR REPLACE INTO stats_rollups SELECT ?, COUNT(*), ${aggregates} FROM stats_points WHERE at >= ? AND at < ?`);
    this.prunePoints = db.prepare('DELETE FROM stats_points WHERE at < ?');
    this.pruneRollups = db.prepare('DELETE FROM stats_rollups WHERE at < ?');
  }

  /** Stores a sample, brings its 5-minute bucket up to date and drops what is past its retention, in one transaction. */
  insert(point: StatsPoint): void {
    const bucket = Math.floor(point.at / ROLLUP_MS) * ROLLUP_MS;
    const now = this.now();
    this.db.transaction(() => {
      this.insertPoint.run(point.at, ...STATS_METRICS.map((m) => point[m]));
      this.rollup.run(bucket, bucket, bucket + ROLLUP_MS);
      this.prunePoints.run(now - POINT_RETENTION_MS);
      this.pruneRollups.run(now - ROLLUP_RETENTION_MS);
    })();
  }

  /** The newest samples, oldest first. */
  latest(count: number): StatsPoint[] {
    const rows = this.db.prepare(`SELECT at, ${COLUMNS.join(', ')} FROM stats_points ORDER BY at DESC LIMIT ?`).raw().all(count) as (number | null)[][];
    return rows.reverse().map((row) => Object.fromEntries([['at', row[0]], ...STATS_METRICS.map((m, i) => [m, row[i + 1]])]) as StatsPoint);
  }

  /**
   * Buckets of `step` seconds from `from` to `to` (ms). Samples answer while the range lies within their day and
   * the step is below 5 minutes; otherwise the 5-minute rollups do, at a step of at least 5 minutes (rounded up
   * to whole 5 minutes).
   */
  series(range: { from: number; to: number; step: number }): StatsSeries {
    const fromSamples = range.step * 1000 < ROLLUP_MS && range.from >= this.now() - POINT_RETENTION_MS;
    const step = fromSamples ? range.step : Math.ceil(range.step / (ROLLUP_MS / 1000)) * (ROLLUP_MS / 1000);
    const stepMs = step * 1000;
    const select = fromSamples
      ? COLUMNS.map((c) => `MIN(${c}), AVG(${c}), MAX(${c})`)
      : // A bucket's average weighs each rollup by its samples.
        COLUMNS.map((c) => `MIN(${c}_min), SUM(${c}_avg * samples) / SUM(CASE WHEN ${c}_avg IS NOT NULL THEN samples END), MAX(${c}_max)`);
    const rows = this.db
      .prepare(`SELECT (at / CAST(? AS INTEGER)) * CAST(? AS INTEGER) AS t, ${select.join(', ')} FROM ${fromSamples ? 'stats_points' : 'stats_rollups'} WHERE at >= ? AND at <= ? GROUP BY t ORDER BY t`)
      .raw()
      .all(stepMs, stepMs, Math.floor(range.from / stepMs) * stepMs, range.to) as (number | null)[][];
    const series = Object.fromEntries(STATS_METRICS.map((m) => [m, { min: [], avg: [], max: [] }])) as unknown as StatsSeries['series'];
    const times: number[] = [];
    for (const row of rows) {
      times.push(row[0] as number);
      STATS_METRICS.forEach((m, i) => {
        series[m].min.push(row[1 + i * 3]);
        series[m].avg.push(row[2 + i * 3]);
        series[m].max.push(row[3 + i * 3]);
      });
    }
    return { from: range.from, to: range.to, step, source: fromSamples ? 'samples' : 'rollups', times, series };
  }
}
