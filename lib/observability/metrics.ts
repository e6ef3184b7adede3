// Prometheus metrics: one prom-client registry per process, on globalThis (Next bundles each route separately,
// and scripts/serve.ts loads its own copy of these modules), with get-or-create helpers so another module (the
// history recorder's events-lost counter, say) registers its metrics once, whoever asks first.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { config } from '@/lib/config';
import { processValue } from '@/lib/process';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

interface Holder {
  registry: Registry;
}

/** The process's registry (with the process_* / nodejs_* default metrics, the event-loop delay sampled as configured). */
export function metricsRegistry(): Registry {
  return processValue<Holder>('metrics', () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: config().metrics.eventLoopResolutionMs });
    return { registry };
  }).registry;
}

interface MetricSpec<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
}

function getOrCreate<M>(name: string, create: (registry: Registry) => M): M {
  const registry = metricsRegistry();
  return (registry.getSingleMetric(name) as M | undefined) ?? create(registry);
}

/** The counter `name`, registered on first use. */
export function counter<L extends string = string>(spec: MetricSpec<L>): Counter<L> {
  return getOrCreate(spec.name, (registry) => new Counter<L>({ ...spec, labelNames: spec.labelNames ?? [], registers: [registry] }));
}

/** The gauge `name`, registered on first use. */
export function gauge<L extends string = string>(spec: MetricSpec<L>): Gauge<L> {
  return getOrCreate(spec.name, (registry) => new Gauge<L>({ ...spec, labelNames: spec.labelNames ?? [], registers: [registry] }));
}

/** The histogram `name`, registered on first use. */
export function histogram<L extends string = string>(spec: MetricSpec<L> & { buckets?: number[] }): Histogram<L> {
  return getOrCreate(spec.name, (registry) => new Histogram<L>({ ...spec, labelNames: spec.labelNames ?? [], registers: [registry] }));
}

/** Time spent answering API requests, by route pattern, method and status (observed by lib/console/route.ts). */
export const apiLatency = () =>
  histogram({
    name: 'conntrack_console_http_request_duration_seconds',
    help: 'Time to answer an API request (until the response headers), by route pattern, method and status code.',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  });

/** Entries removed by the console, by how they were asked for (id, ids, filter, flush). */
export const deletedEntries = () =>
  counter({ name: 'conntrack_console_deleted_entries_total', help: 'Conntrack entries deleted through the console, by kind of delete (id, ids, filter, flush).', labelNames: ['kind'] as const });

/** Delete requests, by kind and outcome (ok, failed). */
export const deleteRequests = () =>
  counter({ name: 'conntrack_console_delete_requests_total', help: 'Delete and flush requests carried out, by kind and outcome.', labelNames: ['kind', 'outcome'] as const });

/** The name the history recorder's lost-events counter uses (it registers it with counter()). */
export const EVENTS_LOST_METRIC = 'conntrack_console_events_lost_total';

/** Lost conntrack events (ENOBUFS on the event socket): for the history recorder. */
export const eventsLost = () =>
  counter({ name: EVENTS_LOST_METRIC, help: 'Conntrack events the kernel could not deliver (event socket overrun), as counted by the history recorder.' });

/** Export chunks sent, by whether the chunk's buffer was one written before (the export's ring) or a new one. */
export const exportChunks = () =>
  counter({
    name: 'conntrack_console_export_chunks_total',
    help: 'Chunks of export bodies sent, by buffer: reused (written already, back in the ring) or new (the first few of an export, one too big for the ring, or none back because nothing reports writes, e.g. a compressed response).',
    labelNames: ['buffer'] as const,
  });
