// The JSON shapes of the history API, shared by the routes and the pages (type-only imports in the browser). An
// ended connection is a connection (the shared base) plus when and why it ended.
import type { Cause, GapSummary, RecorderStatus } from '@/lib/history';
import type { ApiConnection, ApiConnectionBase } from './connection';
import type { PageNames } from './names';

export interface ApiHistoryEntry extends ApiConnectionBase {
  /** The history row's own key (kernel ids are reused over time): what "Clear selected" sends. */
  key: number;
  endedAt: string;
  durationMs?: number;
  cause: Cause;
}

/** Events the kernel dropped: this recorder's run plus what the database remembers of earlier gaps. */
export interface ApiHistoryLoss {
  /** Dropped events counted so far (null: some episode could not be counted). */
  lostEvents: number | null;
  overflows: number;
  /** ISO 8601 of the first loss on record, null when none. */
  since: string | null;
  last: string | null;
  /** Times the recorder was not running, and their total length (ms): connections that ended then are missing. */
  down: { gaps: number; ms: number };
  namespaceReplaced: number;
  unwrittenRows: number;
}

export interface ApiHistoryStatus {
  recorder: RecorderStatus | null;
  /** Why there is no recorder (disabled), when there is none. */
  disabled?: string;
  loss: ApiHistoryLoss;
  retention: { days: number; maxRows: number };
  rows: number;
}

export interface ApiHistoryPage extends PageNames {
  matched: number;
  items: ApiHistoryEntry[];
  status: ApiHistoryStatus;
}

export type ApiConnectionStatus =
  | { id: number; state: 'active'; connection: ApiConnection }
  | { id: number; state: 'ended'; entry: ApiHistoryEntry }
  | { id: number; state: 'unknown' };

/** One SSE "changes" message of GET /api/connections/live. */
export interface LiveChanges {
  updated: ApiConnection[];
  gone: { id: number; cause: Cause; endedAt: string }[];
  added: ApiConnection[];
  /** New connections beyond the ones listed in `added`. */
  addedMore: number;
}

export type { GapSummary, RecorderStatus, Cause };
