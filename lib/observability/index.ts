// Logs, metrics and health: process-wide registries any server module may join, knowing nothing of conntrack
// or HTTP routes (lib/console fills them; scripts/serve.ts and app/ read them).
export { createLogger, logger, setProcessLogger, requestId, REDACT_PATHS, REDACTED, REQUEST_ID_HEADER, type Logger } from './logger';
export { apiLatency, counter, deletedEntries, deleteRequests, eventsLost, EVENTS_LOST_METRIC, exportChunks, gauge, histogram, METRICS_CONTENT_TYPE, metricsRegistry } from './metrics';
export { expectHealthCheck, registerHealthCheck, runHealthChecks, type CheckResult, type CheckStatus, type HealthCheck, type HealthReport } from './health';
