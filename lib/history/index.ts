// Connection history: the recorder of ended connections and its SQLite store (the HTTP side is in lib/console).
export { CAUSES, CAUSE_LABELS, causeOf, closerOf, closerOfFlags, ClosersMap, type Cause, type Closer } from './causes';
export { historyConfig, HISTORY_DEFAULTS, type HistoryConfig } from './config';
export { deletionIntents, type DeletionClaim } from './intents';
export { OpenEntries, type OpenEntryEnd } from './open-entries';
export { CONNECTION_LINE_VERSION, ConnectionLines, connectionLine, type ConnectionLine, type LinesTarget } from './lines';
export { HistoryRecorder, recordOf, type LiveChange, type RecorderStatus } from './recorder';
export { historyRuntime, type HistoryRuntime } from './runtime';
export { HISTORY_SORT_KEYS, type HistorySortKey } from './cause-names';
export { connectionOf, COUNT_CAP, historyWhere, HistoryStore, type HistoryPage, type HistoryPartition, type HistoryQuery, type HistoryRecord, type HistoryRow, type HistoryWhere, type GapSummary } from './store';
