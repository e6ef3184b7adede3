// The stats store: samples kept a day, 5-minute min/avg/max kept 30 days, series read at any step; the series
// query's validation.
import { describe, expect, it } from 'vitest';
import { statsSeriesSchema } from '@/lib/console/stats';
import { POINT_RETENTION_MS, ROLLUP_MS, STATS_METRICS, StatsStore, type StatsPoint } from '@/lib/stats';
import { openMemoryStore } from '@/lib/store';

const START = Date.UTC(2026, 0, 1);

/** A deterministic, uneven point at `at` (i-th sample); drops only now and then; the first point has no rates. */
function pointAt(i: number, at: number): StatsPoint {
  const wave = (k: number) => Math.round(1000 + 700 * Math.sin(i / k) + ((i * 7919) % 97));
  return {
    at,
    entries: wave(5),
    max: 262_144,
    new: i === 0 ? null : wave(3) / 10,
    ended: i === 0 ? null : wave(4) / 10,
    drop: i === 0 ? null : i % 13 === 0 ? 2.5 : 0,
    earlyDrop: i === 0 ? null : 0,
    invalid: i === 0 ? null : (i % 5) / 10,
    insertFailed: i === 0 ? null : i % 17 === 0 ? 0.1 : 0,
  };
}

const stats = (values: (number | null)[]) => {
  const known = values.filter((v): v is number => v !== null);
  if (!known.length) return { min: null, avg: null, max: null };
  return { min: Math.min(...known), avg: known.reduce((a, b) => a + b, 0) / known.length, max: Math.max(...known) };
};

describe('StatsStore', () => {
  it('answers with the samples at the sample step, and groups them into min/avg/max at a coarser step', () => {
    let now = START;
    const store = new StatsStore(openMemoryStore(), { now: () => now });
    const points: StatsPoint[] = [];
    for (let i = 0; i < 90; i++) {
      now = START + i * 10_000;
      points.push(pointAt(i, now));
      store.insert(points[i]);
    }
    const fine = store.series({ from: START, to: now, step: 10 });
    expect(fine.source).toBe('samples');
    expect(fine.times).toEqual(points.map((p) => p.at));
    for (const metric of STATS_METRICS) {
      expect(fine.series[metric].avg).toEqual(points.map((p) => p[metric]));
      expect(fine.series[metric].min).toEqual(points.map((p) => p[metric]));
    }
    const minute = store.series({ from: START, to: now, step: 60 });
    expect(minute.times.length).toBe(15);
    minute.times.forEach((t, b) => {
      const inBucket = points.filter((p) => p.at >= t && p.at < t + 60_000);
      for (const metric of STATS_METRICS) {
        const expected = stats(inBucket.map((p) => p[metric]));
        expect(minute.series[metric].min[b]).toBe(expected.min);
        expect(minute.series[metric].max[b]).toBe(expected.max);
        if (expected.avg === null) expect(minute.series[metric].avg[b]).toBeNull();
        else expect(minute.series[metric].avg[b]).toBeCloseTo(expected.avg, 9);
      }
    });
    expect(store.latest(3)).toEqual(points.slice(-3));
  });

  it('keeps 5-minute rollups with the right min/avg/max after the samples are pruned, and reads long ranges from them', () => {
    let now = START;
    const store = new StatsStore(openMemoryStore(), { now: () => now });
    const points: StatsPoint[] = [];
    // 26 hours of samples every 10 s: the first two hours' samples are pruned, their rollups stay.
    for (let i = 0; i < 26 * 360; i++) {
      now = START + i * 10_000;
      points.push(pointAt(i, now));
      store.insert(points[i]);
    }
    const kept = store.db.prepare('SELECT MIN(at) AS first, COUNT(*) AS n FROM stats_points').get() as { first: number; n: number };
    expect(kept.first).toBeGreaterThanOrEqual(now - POINT_RETENTION_MS);
    expect(kept.n).toBe(POINT_RETENTION_MS / 10_000 + 1);
    const series = store.series({ from: START, to: START + 3600_000 - 1, step: 10 });
    expect(series.source).toBe('rollups');
    expect(series.step).toBe(ROLLUP_MS / 1000);
    expect(series.times).toEqual(Array.from({ length: 12 }, (_, b) => START + b * ROLLUP_MS));
    series.times.forEach((t, b) => {
      const inBucket = points.filter((p) => p.at >= t && p.at < t + ROLLUP_MS);
      expect(inBucket.length).toBe(30);
      for (const metric of STATS_METRICS) {
        const expected = stats(inBucket.map((p) => p[metric]));
        expect(series.series[metric].min[b]).toBe(expected.min);
        expect(series.series[metric].max[b]).toBe(expected.max);
        if (expected.avg !== null) expect(series.series[metric].avg[b]).toBeCloseTo(expected.avg, 9);
      }
    });
    // An hour step over rollups: min of the minima, max of the maxima, the samples' average.
    const hourly = store.series({ from: START, to: START + 2 * 3600_000 - 1, step: 3600 });
    expect(hourly.times).toEqual([START, START + 3600_000]);
    hourly.times.forEach((t, b) => {
      const inHour = points.filter((p) => p.at >= t && p.at < t + 3600_000);
      const expected = stats(inHour.map((p) => p.entries));
      expect(hourly.series.entries.min[b]).toBe(expected.min);
      expect(hourly.series.entries.max[b]).toBe(expected.max);
      expect(hourly.series.entries.avg[b]).toBeCloseTo(expected.avg ?? NaN, 9);
    });
  });
});

describe('GET /api/stats/series query', () => {
  const fieldOf = (query: Record<string, unknown>) => {
    const result = statsSeriesSchema.safeParse(query);
    return result.success ? undefined : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('defaults to the last hour at ~720 buckets, with a step of whole samples', () => {
    const result = statsSeriesSchema.parse({});
    expect(result.to - result.from).toBe(3600_000);
    expect(result.step).toBe(10);
    expect(statsSeriesSchema.parse({ from: '0', to: String(30 * 86_400_000) }).step).toBe(3600);
  });

  it.each([
    [{ from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' }, 'from: from must be before to'],
    [{ from: 'yesterday' }, 'from: from must be an ISO 8601 time or milliseconds since the epoch'],
    [{ from: '0', to: String(40 * 86_400_000) }, 'from: from must be at most 31 days before to (the series are kept 30 days)'],
    [{ step: '0' }, 'step: step must be >= 1'],
    [{ step: 1.5 }, 'step: step must be a whole number'],
    [{ from: '0', to: String(30 * 86_400_000), step: '10' }, 'step: step must be at least 260 s for this range (at most 10000 buckets)'],
  ])('refuses %j naming the field', (query, message) => {
    expect(fieldOf(query)?.[0]).toBe(message);
  });
});
