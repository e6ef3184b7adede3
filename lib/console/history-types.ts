// The JSON shapes of the history API, shared by the routes and the pages (type-only imports in the browser). An
// ended connection is a connection (the shared base) plus when and why it ended.
import type { Cause, GapSummary, RecorderStatus } from '@/lib/history';
import type { ApiConnection, ApiConnectionBase, ApiNatTarget } from './connection';
import type { PageNames } from './names';

export interface ApiHistoryEntry extends ApiConnectionBase {
  /** The history row's own key (kernel ids are reused over time): what "Clear selected" sends. */
  key: number;
  /** ISO 8601. For cause unobserved, the end of the interval the connection ended in. */
  endedAt: string;
  /** cause unobserved: the connection ended after this and before endedBefore (it was seen open, then gone). */
  endedAfter?: string;
  endedBefore?: string;
  durationMs?: number;
  cause: Cause;
  /** The router's external address and port (SNAT: reply destination; DNAT: original destination); none when routed. */
  external?: ApiNatTarget;
  /** admin / flush: the console user (or API token) whose delete or flush ended it. */
  deletedBy?: string;
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
  /** Exact when `exact`; otherwise more than this many rows match (an exact count would cost more than the page). */
  matched: number;
  exact: boolean;
  items: ApiHistoryEntry[];
  status: ApiHistoryStatus;
}

/** One connection a NAT lookup found: ended (from the history) or still open (in the latest snapshot). */
export interface ApiNatMatch extends ApiConnectionBase {
  /** history: it has ended; table: still open. */
  source: 'history' | 'table';
  /** The LAN side: the masqueraded source (SNAT), or the forwarded-to server (DNAT). */
  lan: ApiNatTarget;
  /** The LAN host's name from a DHCP lease or hosts file (lib/names), and the MAC its lease names. */
  lanName?: string;
  lanMac?: string;
  external: ApiNatTarget;
  endedAt?: string;
  endedAfter?: string;
  durationMs?: number;
  cause?: Cause;
  deletedBy?: string;
  /** The history row, for an ended connection. */
  key?: number;
}

/** GET /api/history/nat-lookup: who used EXTERNAL[:PORT] around AT. */
export interface ApiNatLookup extends PageNames {
  query: { address: string; port?: number; at: string; windowSeconds: number; protocol?: string };
  /** Newest first: open connections, then ended ones by end time. */
  items: ApiNatMatch[];
  /** When the table was read for the connections still open (a live dump). */
  tableAt: string;
  /** History rows matched; false: more than `matched`, the first ones are listed. */
  historyMatched: number;
  historyExact: boolean;
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
