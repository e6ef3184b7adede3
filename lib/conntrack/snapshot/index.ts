// The columnar snapshot: builder (wire -> columns), match (the one filter evaluator), order, text, summary, groups and
// the read-only Snapshot that answers queries.
export { SnapshotBuilder, type BuilderMark, type ColumnBuffers } from './builder';
export { emptyFields, emptyProgress, Snapshot, type EntryFields, type EntryProgress, type SnapshotInfo, type SnapshotQuery, type Page, type RowMask, type RowCursor, type SnapshotStorage, type SpareBuffers } from './snapshot';
export { evaluate } from './match';
export { matches } from './matches';
export { FAMILY_V6, NO_STATE, SHAPE, startedMs, type Columns } from './columns';
export type { SnapshotSummary } from './summary';
export type { ColumnGroupKey, Group, Grouping, KeyColumn, Others } from './groups';
export { GROUP_KEYS, GROUP_METRICS, type GroupKey, type GroupMetric } from '../vocabulary';
export { SORT_KEYS, type SortKey } from '../vocabulary';
