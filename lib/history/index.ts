// Connection history: the recorder of ended connections, its SQLite store, and what the history routes call.
export { CAUSES, CAUSE_LABELS, causeOf, closerOf, ClosersMap, type Cause, type Closer } from './causes';
export { historyConfig, HISTORY_DEFAULTS, type HistoryConfig } from './config';
export { deletionIntents } from './intents';
export { HistoryRecorder, recordOf, type LiveChange, type RecorderStatus } from './recorder';
export { historyRuntime, type HistoryRuntime } from './runtime';
export * from './schemas';
export { HistoryStore, HISTORY_SORT_KEYS, type HistoryQuery, type HistoryRecord, type HistoryRow, type HistorySortKey, type GapSummary } from './store';
export * from './api';
export type * from './types';
