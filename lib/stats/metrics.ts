// What the sampler records, by the names the API and the charts use (client-safe: no server imports).

/** Sampled values: entries and nf_conntrack_max, then rates per second over the sample interval. */
export const STATS_METRICS = ['entries', 'max', 'new', 'ended', 'drop', 'earlyDrop', 'invalid', 'insertFailed'] as const;
export type StatsMetric = (typeof STATS_METRICS)[number];

/** Resolutions the store keeps: every sample for a day, 5-minute min/avg/max for 30 days. */
export const POINT_RETENTION_MS = 24 * 3600_000;
export const ROLLUP_MS = 5 * 60_000;
export const ROLLUP_RETENTION_MS = 30 * 24 * 3600_000;
