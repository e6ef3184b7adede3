// Connection history: the recorder of ended connections and its SQLite store (the HTTP side is in lib/console).
export { CAUSES, CAUSE_LABELS, causeOf, closerOf, ClosersMap, type Cause, type Closer } from './causes';
export { historyConfig, HISTORY_DEFAULTS, type HistoryConfig } from './config';
export { deletionIntents } from './intents';
export { HistoryRecorder, recordOf, type LiveChange, type RecorderStatus } from './recorder';
export { historyRuntime, type HistoryRuntime } from './runtime';
export { connectionOf, HistoryStore, HISTORY_SORT_KEYS, type HistoryQuery, type HistoryRecord, type HistoryRow, type HistorySortKey, type GapSummary } from './store';
