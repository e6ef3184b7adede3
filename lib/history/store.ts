// Ended connections in SQLite: batched inserts (one transaction per flush), filtered and sorted pages with the
// shared filter vocabulary, deletes, retention pruning, and the record of event-loss gaps.
import { PORTED_PROTOCOLS, type Connection, type Family, type Filter, type TcpState, type Tuple } from '@/lib/conntrack';
import { parseAddress, type Prefix } from '@/lib/conntrack/address';
import { migrate, type Store } from '@/lib/store';
import type { Cause } from './causes';
import { HISTORY_MIGRATIONS } from './schema';

/** One ended connection, as the recorder hands it over. */
export interface HistoryRecord {
  id: number;
  family: Family;
  original: Tuple;
  reply: Tuple;
  status: number;
  zone: number;
  mark: number;
  state?: TcpState;
  /** ms since the epoch. */
  startedAt?: number;
  endedAt: number;
  counters?: { original: { packets: number; bytes: number }; reply: { packets: number; bytes: number } };
  cause: Cause;
  closedBy?: 'client' | 'server';
}

/** A stored row. */
export interface HistoryRow {
  key: number;
  id: number;
  family: 4 | 6;
  protocol: number;
  src: string;
  dst: string;
  sport: number | null;
  dport: number | null;
  reply_src: string;
  reply_dst: string;
  reply_sport: number | null;
  reply_dport: number | null;
  icmp_type: number | null;
  icmp_code: number | null;
  icmp_id: number | null;
  zone: number;
  mark: number;
  status: number;
  state: TcpState | null;
  started_at: number | null;
  ended_at: number;
  packets_orig: number | null;
  bytes_orig: number | null;
  packets_reply: number | null;
  bytes_reply: number | null;
  cause: Cause;
  closed_by: 'client' | 'server' | null;
}

/** A stored row as the library's Connection (what the kernel last said of it), so the API derives it like a live one. */
export function connectionOf(r: HistoryRow): Connection {
  const tuple = (src: string, dst: string, sport: number | null, dport: number | null): Tuple => ({
    src,
    dst,
    protocol: r.protocol,
    ...(sport !== null ? { sport } : {}),
    ...(dport !== null ? { dport } : {}),
    ...(r.icmp_type !== null && r.icmp_code !== null && r.icmp_id !== null ? { icmp: { type: r.icmp_type, code: r.icmp_code, id: r.icmp_id } } : {}),
  });
  const connection: Connection = {
    family: r.family === 4 ? 'ipv4' : 'ipv6',
    original: tuple(r.src, r.dst, r.sport, r.dport),
    reply: tuple(r.reply_src, r.reply_dst, r.reply_sport, r.reply_dport),
    id: r.id,
    status: r.status,
    mark: r.mark,
    zone: r.zone,
  };
  if (r.state) connection.protoinfo = { tcp: { state: r.state as TcpState } };
  if (r.packets_orig !== null && r.bytes_orig !== null && r.packets_reply !== null && r.bytes_reply !== null) {
    connection.counters = { original: { packets: BigInt(r.packets_orig), bytes: BigInt(r.bytes_orig) }, reply: { packets: BigInt(r.packets_reply), bytes: BigInt(r.bytes_reply) } };
  }
  if (r.started_at !== null) connection.timestamp = { start: BigInt(r.started_at) * 1_000_000n, stop: BigInt(r.ended_at) * 1_000_000n };
  return connection;
}

export const HISTORY_SORT_KEYS = ['ended', 'started', 'duration', 'id', 'protocol', 'state', 'cause', 'src', 'dst', 'bytes', 'packets'] as const;
export type HistorySortKey = (typeof HISTORY_SORT_KEYS)[number];

const ORDER_BY: Record<HistorySortKey, string> = {
  ended: 'ended_at',
  started: 'started_at',
  duration: '(ended_at - started_at)',
  id: 'id',
  protocol: 'protocol',
  state: 'state',
  cause: 'cause',
  src: 'family, src_b',
  dst: 'family, dst_b',
  bytes: '(COALESCE(bytes_orig, 0) + COALESCE(bytes_reply, 0))',
  packets: '(COALESCE(packets_orig, 0) + COALESCE(packets_reply, 0))',
};

export interface HistoryQuery {
  filter: Filter;
  /** Ended at or after / before, ms since the epoch. */
  from?: number;
  to?: number;
  causes?: Cause[];
  sort?: HistorySortKey;
  order?: 'asc' | 'desc';
  limit: number;
  offset: number;
}

/** Why a gap: the kernel dropped events, the console was not running, the namespace was replaced, rows were not written. */
export type GapReason = 'overflow' | 'down' | 'namespace' | 'unwritten';

export interface GapSummary {
  /** Gaps of any reason: the kernel dropped events, the recorder was down, the namespace was replaced, rows were not written. */
  gaps: number;
  overflows: number;
  /** Dropped events of the overflow episodes (null when one could not count them); since/last bound those episodes. */
  lostEvents: number | null;
  since: number | null;
  last: number | null;
  /** Times the recorder was not running (from the last heartbeat to the next start), and how long in all. */
  down: { gaps: number; ms: number };
  /** Times the managed namespace was replaced (or the event socket failed) and the recorder subscribed again. */
  namespaceReplaced: number;
  /** Ended connections dropped because their rows could not be written. */
  unwrittenRows: number;
}

const familyNumber = (family: Family): 4 | 6 => (family === 'ipv4' ? 4 : 6);

function addressBytes(text: string): Buffer {
  const parsed = parseAddress(text);
  return parsed ? Buffer.from(parsed.bytes) : Buffer.alloc(0);
}

/** The inclusive byte range of a prefix. */
function prefixRange(prefix: Prefix): [Buffer, Buffer] {
  const lo = Buffer.from(prefix.bytes);
  const hi = Buffer.from(prefix.bytes);
  for (let bit = prefix.length; bit < hi.length * 8; bit++) hi[bit >> 3] |= 0x80 >> (bit & 7);
  return [lo, hi];
}

type Param = number | string | Buffer | null;

/** The WHERE clause of a query: every condition of the filter, the time range and the causes. */
function whereOf(query: Pick<HistoryQuery, 'filter' | 'from' | 'to' | 'causes'>): { sql: string; params: Param[] } {
  const parts: string[] = [];
  const params: Param[] = [];
  const f = query.filter;
  const prefixIn = (columns: string[], prefix: Prefix) => {
    const [lo, hi] = prefixRange(prefix);
    parts.push(`(family = ? AND (${columns.map((c) => `${c} BETWEEN ? AND ?`).join(' OR ')}))`);
    params.push(familyNumber(prefix.family));
    for (let i = 0; i < columns.length; i++) params.push(lo, hi);
  };
  const portIn = (columns: string[], range: { min: number; max: number }) => {
    // As the evaluator: only protocols with ports have ports (a GRE entry's keys are stored in the port columns).
    parts.push(`(protocol IN (${PORTED_PROTOCOLS.join(', ')}) AND (${columns.map((c) => `${c} BETWEEN ? AND ?`).join(' OR ')}))`);
    for (let i = 0; i < columns.length; i++) params.push(range.min, range.max);
  };
  if (f.family) {
    parts.push('family = ?');
    params.push(familyNumber(f.family));
  }
  if (f.protocol !== undefined) {
    parts.push('protocol = ?');
    params.push(f.protocol);
  }
  if (f.states) {
    parts.push(`state IN (${f.states.map(() => '?').join(', ')})`);
    params.push(...f.states);
  }
  if (f.status) {
    parts.push('(status & ?) = ?');
    params.push(f.status.mask, f.status.value);
  }
  if (f.mark) {
    parts.push('(mark & ?) = ?');
    params.push(f.mark.mask, f.mark.value);
  }
  if (f.zone !== undefined) {
    parts.push('zone = ?');
    params.push(f.zone);
  }
  if (f.id !== undefined) {
    parts.push('id = ?');
    params.push(f.id);
  }
  if (f.ip) prefixIn(['src_b', 'dst_b', 'reply_src_b', 'reply_dst_b'], f.ip);
  if (f.src) prefixIn(['src_b'], f.src);
  if (f.dst) prefixIn(['dst_b'], f.dst);
  if (f.replySrc) prefixIn(['reply_src_b'], f.replySrc);
  if (f.replyDst) prefixIn(['reply_dst_b'], f.replyDst);
  if (f.port) portIn(['sport', 'dport', 'reply_sport', 'reply_dport'], f.port);
  if (f.sport) portIn(['sport'], f.sport);
  if (f.dport) portIn(['dport'], f.dport);
  if (query.from !== undefined) {
    parts.push('ended_at >= ?');
    params.push(query.from);
  }
  if (query.to !== undefined) {
    parts.push('ended_at <= ?');
    params.push(query.to);
  }
  if (query.causes?.length) {
    parts.push(`cause IN (${query.causes.map(() => '?').join(', ')})`);
    params.push(...query.causes);
  }
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

export class HistoryStore {
  private readonly insertStatement;
  private rowCount: number;

  constructor(readonly db: Store) {
    migrate(db, 'history', HISTORY_MIGRATIONS);
    this.insertStatement = db.prepare(`INSERT INTO history (
      id, family, protocol, src, dst, sport, dport, reply_src, reply_dst, reply_sport, reply_dport,
      src_b, dst_b, reply_src_b, reply_dst_b, icmp_type, icmp_code, icmp_id, zone, mark, status, state,
      started_at, ended_at, packets_orig, bytes_orig, packets_reply, bytes_reply, cause, closed_by
    ) VALUES (${Array(30).fill('?').join(', ')})`);
    this.rowCount = (db.prepare('SELECT COUNT(*) AS n FROM history').get() as { n: number }).n;
  }

  /** Rows stored now. */
  get size(): number {
    return this.rowCount;
  }

  /** Writes the records in one transaction. */
  insert(records: readonly HistoryRecord[]): void {
    if (!records.length) return;
    const statement = this.insertStatement;
    this.db.transaction(() => {
      for (const r of records) {
        const o = r.original;
        const p = r.reply;
        statement.run(
          r.id,
          familyNumber(r.family),
          o.protocol,
          o.src,
          o.dst,
          o.sport ?? null,
          o.dport ?? null,
          p.src,
          p.dst,
          p.sport ?? null,
          p.dport ?? null,
          addressBytes(o.src),
          addressBytes(o.dst),
          addressBytes(p.src),
          addressBytes(p.dst),
          o.icmp?.type ?? null,
          o.icmp?.code ?? null,
          o.icmp?.id ?? null,
          r.zone,
          r.mark,
          r.status,
          r.state ?? null,
          r.startedAt ?? null,
          r.endedAt,
          r.counters?.original.packets ?? null,
          r.counters?.original.bytes ?? null,
          r.counters?.reply.packets ?? null,
          r.counters?.reply.bytes ?? null,
          r.cause,
          r.closedBy ?? null,
        );
      }
    })();
    this.rowCount += records.length;
  }

  query(query: HistoryQuery): { matched: number; rows: HistoryRow[] } {
    const where = whereOf(query);
    const matched = (this.db.prepare(`SELECT COUNT(*) AS n FROM history ${where.sql}`).get(...where.params) as { n: number }).n;
    const order = query.order ?? 'desc';
    const orderBy = ORDER_BY[query.sort ?? 'ended']
      .split(', ')
      .map((column) => `${column} ${order.toUpperCase()}`)
      .join(', ');
    const rows = this.db
      .prepare(`SELECT * FROM history ${where.sql} ORDER BY ${orderBy}, key ${order.toUpperCase()} LIMIT ? OFFSET ?`)
      .all(...where.params, query.limit, query.offset) as HistoryRow[];
    return { matched, rows };
  }

  /** The most recent row of a kernel id. */
  latestById(id: number): HistoryRow | undefined {
    return this.db.prepare('SELECT * FROM history WHERE id = ? ORDER BY ended_at DESC, key DESC LIMIT 1').get(id) as HistoryRow | undefined;
  }

  /** Deletes the rows with these keys; returns how many there were. */
  deleteKeys(keys: readonly number[]): number {
    const statement = this.db.prepare('DELETE FROM history WHERE key = ?');
    let deleted = 0;
    this.db.transaction(() => {
      for (const key of keys) deleted += statement.run(key).changes;
    })();
    this.rowCount -= deleted;
    return deleted;
  }

  /** Deletes every row and the record of gaps; returns how many rows went. */
  clear(): number {
    let deleted = 0;
    this.db.transaction(() => {
      deleted = this.db.prepare('DELETE FROM history').run().changes;
      this.db.prepare('DELETE FROM history_gaps').run();
    })();
    this.rowCount = 0;
    return deleted;
  }

  /** Applies the retention: rows that ended before `olderThan` (ms), then all but the newest `maxRows` (0: no limit). */
  prune(options: { olderThan?: number; maxRows: number }): number {
    let deleted = 0;
    if (options.olderThan !== undefined) {
      deleted += this.db.prepare('DELETE FROM history WHERE ended_at < ?').run(options.olderThan).changes;
      this.db.prepare('DELETE FROM history_gaps WHERE ended_at < ?').run(options.olderThan);
    }
    this.rowCount -= deleted;
    if (options.maxRows > 0 && this.rowCount > options.maxRows) {
      const cut = this.db.prepare('SELECT key FROM history ORDER BY key DESC LIMIT 1 OFFSET ?').get(options.maxRows - 1) as { key: number } | undefined;
      if (cut) {
        const more = this.db.prepare('DELETE FROM history WHERE key < ?').run(cut.key).changes;
        this.rowCount -= more;
        deleted += more;
      }
    }
    return deleted;
  }

  recordGap(gap: { startedAt: number; endedAt: number; overflows: number; lostEvents: number | null; reason?: GapReason; lostRows?: number }): void {
    this.db
      .prepare('INSERT INTO history_gaps (started_at, ended_at, overflows, lost_events, reason, lost_rows) VALUES (?, ?, ?, ?, ?, ?)')
      .run(gap.startedAt, gap.endedAt, gap.overflows, gap.lostEvents, gap.reason ?? 'overflow', gap.lostRows ?? null);
  }

  /** Notes that the recorder is running now (every HEARTBEAT_MS): a later start records the time since as a gap. */
  heartbeat(at: number): void {
    this.db.prepare('INSERT INTO history_heartbeat (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at').run(at);
  }

  /** The last heartbeat of any run, or null before the first. */
  lastHeartbeat(): number | null {
    return (this.db.prepare('SELECT at FROM history_heartbeat WHERE id = 1').get() as { at: number } | undefined)?.at ?? null;
  }

  /**
   * Reads every row of the history table, `chunkRows` at a time, yielding to the event loop between chunks: a
   * corrupt page throws the store's error (SQLITE_CORRUPT). Resolves with the rows read.
   */
  async scan(chunkRows = 20_000): Promise<number> {
    const statement = this.db.prepare('SELECT * FROM history WHERE key > ? ORDER BY key LIMIT ?');
    let after = -1;
    let read = 0;
    for (;;) {
      const rows = statement.all(after, chunkRows) as { key: number }[];
      if (!rows.length) return read;
      read += rows.length;
      after = rows[rows.length - 1].key;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  gaps(): GapSummary {
    const row = this.db
      .prepare(
        `SELECT COUNT(*) AS gaps, COALESCE(SUM(overflows), 0) AS overflows,
           -- Dropped events are counted over the overflow episodes only: downtime has no event count to give.
           SUM(CASE WHEN reason = 'overflow' THEN lost_events END) AS lost, SUM(reason = 'overflow' AND lost_events IS NULL) AS unknown,
           MIN(CASE WHEN reason = 'overflow' THEN started_at END) AS since, MAX(CASE WHEN reason = 'overflow' THEN ended_at END) AS last,
           COALESCE(SUM(reason = 'down'), 0) AS down, COALESCE(SUM(CASE WHEN reason = 'down' THEN ended_at - started_at END), 0) AS down_ms,
           COALESCE(SUM(reason = 'namespace'), 0) AS namespace, COALESCE(SUM(lost_rows), 0) AS lost_rows
         FROM history_gaps`,
      )
      .get() as { gaps: number; overflows: number; lost: number | null; unknown: number | null; since: number | null; last: number | null; down: number; down_ms: number; namespace: number; lost_rows: number };
    return {
      gaps: row.gaps,
      overflows: row.overflows,
      lostEvents: row.unknown ? null : (row.lost ?? 0),
      since: row.since,
      last: row.last,
      down: { gaps: row.down, ms: row.down_ms },
      namespaceReplaced: row.namespace,
      unwrittenRows: row.lost_rows,
    };
  }
}
