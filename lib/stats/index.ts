// Table usage over time: the sampler (CT_GET_STATS + per-CPU counters + the recorder's event counts) and its
// SQLite store. The HTTP side (series route, alarm, overview) is in lib/console.
export { POINT_RETENTION_MS, ROLLUP_MS, ROLLUP_RETENTION_MS, STATS_METRICS, type StatsMetric } from './metrics';
export { StatsSampler, type EventTotals, type SamplerOptions } from './sampler';
export { StatsStore, type StatsPoint, type StatsSeries, type StatsStoreOptions } from './store';
