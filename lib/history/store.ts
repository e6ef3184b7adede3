// Ended connections in SQLite: batched inserts (one transaction per flush), filtered and sorted pages with the
// shared filter vocabulary, deletes, retention pruning, and the record of event-loss gaps.
import { externalEndpoint, PORTED_PROTOCOLS, type Connection, type Family, type Filter, type PortRange, type TcpState, type Tuple } from '@/lib/conntrack';
import { parseAddress, type Prefix } from '@/lib/netlink/address';
import { migrate, type Store } from '@/lib/store';
import type { Statement } from 'better-sqlite3';
import type { Cause } from './causes';
import type { HistorySortKey } from './cause-names';
import { HISTORY_DEFAULTS } from './config';
import { HISTORY_MIGRATIONS } from './schema';
import { BLOB_SLOT, NULL_BLOB, runWriterJob, type ColumnKind, type JobResult, type RowBatch, type WriterJob, type WriterSql } from './writer-job';

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
  /** cause unobserved: the end lies between these (ms); endedAt is endedBefore. */
  endedAfter?: number;
  endedBefore?: number;
  /** admin / flush: the console user who asked. */
  deletedBy?: string;
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
  ext_b: Buffer | null;
  ext_port: number | null;
  ended_after: number | null;
  ended_before: number | null;
  deleted_by: string | null;
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

/** The ORDER BY of each sort key, one expression per element; the row key breaks ties. */
const ORDER_BY: Record<HistorySortKey, readonly string[]> = {
  ended: ['ended_at'],
  started: ['started_at'],
  duration: ['(ended_at - started_at)'],
  id: ['id'],
  protocol: ['protocol'],
  state: ['state'],
  cause: ['cause'],
  src: ['family', 'src_b'],
  dst: ['family', 'dst_b'],
  external: ['ext_b', 'ext_port'],
  bytes: ['(COALESCE(bytes_orig, 0) + COALESCE(bytes_reply, 0))'],
  packets: ['(COALESCE(packets_orig, 0) + COALESCE(packets_reply, 0))'],
};

/** A sort key whose order an index gives (walking it needs no sort). */
const SORT_INDEX: Partial<Record<HistorySortKey, string>> = { ended: 'history_ended_at', id: 'history_id' };

/** A key and an end time, as a walk in end order reads them. */
type Pair = [number, number];

/** At most this many runs merged for one page (a /24 of LAN hosts is 256); a wider span walks the end-time index. */
const MAX_RUNS = 512;

/**
 * A page ending deeper than this is read with OFFSET as before: merging would read and sort this many pairs per run
 * (an export pages through everything, deeper each chunk).
 */
const WALK_MAX_ROWS = 20_000;

/** An exact count is given up to this; beyond, the answer is "more than COUNT_CAP" (counting costs more than the page). */
export const COUNT_CAP = 10_000;

export interface HistoryQuery {
  filter: Filter;
  /** Ended at or after / before, ms since the epoch. */
  from?: number;
  to?: number;
  causes?: Cause[];
  /** The router's external address (SNAT reply destination, DNAT original destination), and its port. */
  external?: Prefix;
  externalPort?: PortRange;
  /** Alive at some point of [activeFrom, activeTo] (ms): started before its end (or unknown) and ended after its start. */
  activeFrom?: number;
  activeTo?: number;
  sort?: HistorySortKey;
  order?: 'asc' | 'desc';
  limit: number;
  offset: number;
}

/** Why a gap: the kernel dropped events, the console was not running, the namespace was replaced, rows were not written. */
export type GapReason = 'overflow' | 'down' | 'namespace' | 'unwritten';

export interface HistoryPage {
  /** Exact when `exact`; otherwise more than COUNT_CAP rows match and this is COUNT_CAP. */
  matched: number;
  exact: boolean;
  rows: HistoryRow[];
}

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

/** The job that applies the retention, `chunkRows` rows per transaction. */
export function pruneJob(options: { olderThan?: number; maxRows: number }, partitionRows: number, chunkRows: number): Extract<WriterJob, { op: 'prune' }> {
  return { op: 'prune', ...(options.olderThan !== undefined ? { olderThan: options.olderThan } : {}), maxRows: options.maxRows, partitionRows, chunkRows };
}

const familyNumber = (family: Family): 4 | 6 => (family === 'ipv4' ? 4 : 6);

/** The inclusive byte range of a prefix. */
function prefixRange(prefix: Prefix): [Buffer, Buffer] {
  const lo = Buffer.from(prefix.bytes);
  const hi = Buffer.from(prefix.bytes);
  for (let bit = prefix.length; bit < hi.length * 8; bit++) hi[bit >> 3] |= 0x80 >> (bit & 7);
  return [lo, hi];
}

type Param = number | string | Buffer | null;

/** The four address columns, in slot order (original src, dst, reply src, dst). */
const ADDRESS_COLUMNS = ['src_b', 'dst_b', 'reply_src_b', 'reply_dst_b'] as const;

/** One way an index lists candidate rows: `SELECT key FROM history INDEXED BY index WHERE sql`. */
interface Probe {
  index: string;
  sql: string;
  params: Param[];
}

/**
 * One run of rows in end order: `index` begins with the columns `sql` sets equal and goes on with ended_at (and the
 * row key), so `WHERE sql ORDER BY ended_at, key` walks it with no sort; the ended_at index with a range of it too.
 */
interface Run {
  index: string;
  sql: string;
  params: Param[];
}

/** The values of `column` in [lo, hi] (of `bytes` bytes for an address), each a run of its index; found by seeking. */
interface Span {
  index: string;
  column: string;
  lo: Buffer | number;
  hi: Buffer | number;
  bytes?: number;
}

/** A condition an index can answer. */
interface Driver {
  /** Their union holds every row the condition matches (counted on their indexes alone). */
  probes: Probe[];
  /** Runs (or spans of runs) whose union holds every row it matches, in end order: absent when no index gives it. */
  walks?: (Run | Span)[];
  /** The walks list exactly the condition's rows (no check of the row needed for a query of this one condition). */
  exact: boolean;
}

/** A query's WHERE, and the conditions an index can answer. */
export interface HistoryWhere {
  sql: string;
  params: Param[];
  drivers: Driver[];
  /** How many conditions the WHERE joins. */
  conditions: number;
}

const INDEX_OF: Record<string, string> = {
  src_b: 'history_src',
  dst_b: 'history_dst',
  reply_src_b: 'history_reply_src',
  reply_dst_b: 'history_reply_dst',
  sport: 'history_sport',
  dport: 'history_dport',
  reply_sport: 'history_reply_sport',
  reply_dport: 'history_reply_dport',
};

/**
 * The WHERE clause of a query: every condition of the filter, the time range, the causes, the external address and
 * the active interval. The one translation of the filter into SQL (the filter evaluator's meaning, over the stored
 * columns).
 */
export function historyWhere(query: Omit<HistoryQuery, 'sort' | 'order' | 'limit' | 'offset'>): HistoryWhere {
  const parts: string[] = [];
  const params: Param[] = [];
  const drivers: Driver[] = [];
  const f = query.filter;
  const add = (sql: string, values: Param[], driver?: Driver) => {
    parts.push(sql);
    params.push(...values);
    if (driver) drivers.push(driver);
  };
  const run = (index: string, sql: string, values: Param[]): Run => ({ index, sql, params: values });
  /** The probe and the walk of `column` within an address prefix (an equality for a whole address). */
  const addressIn = (column: string, prefix: Prefix): { probe: Probe; walk: Run | Span } => {
    const [lo, hi] = prefixRange(prefix);
    const index = INDEX_OF[column];
    if (prefix.length === lo.length * 8) return { probe: { index, sql: `${column} = ?`, params: [lo] }, walk: run(index, `${column} = ?`, [lo]) };
    // A byte range of this family's address length (an IPv6 address can sort between two IPv4 bounds).
    return { probe: { index, sql: `${column} BETWEEN ? AND ? AND length(${column}) = ${lo.length}`, params: [lo, hi] }, walk: { index, column, lo, hi, bytes: lo.length } };
  };
  const prefixIn = (columns: string[], prefix: Prefix) => {
    // An address of 4 bytes is an IPv4 one and of 16 an IPv6 one: the byte length says the family.
    const each = columns.map((c) => addressIn(c, prefix));
    const probes = each.map((e) => e.probe);
    add(`(${probes.map((p) => p.sql).join(' OR ')})`, probes.flatMap((p) => p.params), { probes, walks: each.map((e) => e.walk), exact: true });
  };
  const portIn = (columns: string[], ports: PortRange) => {
    const probes = columns.map((c): Probe => (ports.min === ports.max ? { index: INDEX_OF[c], sql: `${c} = ?`, params: [ports.min] } : { index: INDEX_OF[c], sql: `${c} BETWEEN ? AND ?`, params: [ports.min, ports.max] }));
    const walks = columns.map((c): Run | Span => (ports.min === ports.max ? run(INDEX_OF[c], `${c} = ?`, [ports.min]) : { index: INDEX_OF[c], column: c, lo: ports.min, hi: ports.max }));
    // As the evaluator: only protocols with ports have ports (a GRE entry's keys are stored in the port columns).
    add(`(protocol IN (${PORTED_PROTOCOLS.join(', ')}) AND (${probes.map((p) => p.sql).join(' OR ')}))`, probes.flatMap((p) => p.params), { probes, walks, exact: false });
  };
  if (f.family) add('family = ?', [familyNumber(f.family)]);
  if (f.protocol !== undefined) {
    const probe = run('history_protocol', 'protocol = ?', [f.protocol]);
    add('protocol = ?', [f.protocol], { probes: [probe], walks: [probe], exact: true });
  }
  if (f.states) add(`state IN (${f.states.map(() => '?').join(', ')})`, [...f.states]);
  if (f.status) add('(status & ?) = ?', [f.status.mask, f.status.value]);
  if (f.mark) add('(mark & ?) = ?', [f.mark.mask, f.mark.value]);
  if (f.zone !== undefined) add('zone = ?', [f.zone]);
  if (f.id !== undefined) add('id = ?', [f.id], { probes: [{ index: 'history_id', sql: 'id = ?', params: [f.id] }], exact: true });
  if (f.ip) prefixIn([...ADDRESS_COLUMNS], f.ip);
  if (f.src) prefixIn(['src_b'], f.src);
  if (f.dst) prefixIn(['dst_b'], f.dst);
  if (f.replySrc) prefixIn(['reply_src_b'], f.replySrc);
  if (f.replyDst) prefixIn(['reply_dst_b'], f.replyDst);
  if (f.host) {
    // As the evaluator: any address of either direction is one of the host's (an IPv4 address is stored in 4 bytes,
    // an IPv6 one in 16, so the lists need no family); no addresses, no rows.
    const addresses = f.host.addresses.map((prefix) => Buffer.from(prefix.bytes));
    const list = addresses.map(() => '?').join(', ');
    const probes = ADDRESS_COLUMNS.map((c): Probe => ({ index: INDEX_OF[c], sql: `${c} IN (${list})`, params: addresses }));
    const walks = ADDRESS_COLUMNS.flatMap((c) => addresses.map((a) => run(INDEX_OF[c], `${c} = ?`, [a])));
    if (addresses.length) add(`(${probes.map((p) => p.sql).join(' OR ')})`, probes.flatMap((p) => p.params), { probes, walks, exact: true });
    else add('0', []);
  }
  if (f.port) portIn(['sport', 'dport', 'reply_sport', 'reply_dport'], f.port);
  if (f.sport) portIn(['sport'], f.sport);
  if (f.dport) portIn(['dport'], f.dport);
  if (query.from !== undefined || query.to !== undefined) {
    const probe = run('history_ended_at', 'ended_at BETWEEN ? AND ?', [query.from ?? Number.MIN_SAFE_INTEGER, query.to ?? Number.MAX_SAFE_INTEGER]);
    add(probe.sql, probe.params, { probes: [probe], walks: [probe], exact: true });
  }
  if (query.causes?.length) {
    const marks = query.causes.map(() => '?').join(', ');
    const walks = query.causes.map((c) => run('history_cause', 'cause = ?', [c]));
    add(`cause IN (${marks})`, [...query.causes], { probes: [{ index: 'history_cause', sql: `cause IN (${marks})`, params: [...query.causes] }], walks, exact: true });
  }
  if (query.external) {
    const [lo, hi] = prefixRange(query.external);
    const ports = query.externalPort;
    const whole = query.external.length === lo.length * 8;
    const address = whole ? { sql: 'ext_b = ?', params: [lo] } : { sql: `ext_b BETWEEN ? AND ? AND length(ext_b) = ${lo.length}`, params: [lo, hi] };
    const port = !ports ? undefined : ports.min === ports.max ? { sql: 'ext_port = ?', params: [ports.min] } : { sql: 'ext_port BETWEEN ? AND ?', params: [ports.min, ports.max] };
    const sql = port ? `${address.sql} AND ${port.sql}` : address.sql;
    const values = [...address.params, ...(port?.params ?? [])];
    // With an address, a port and an instant, the index reads exactly that pair's rows that ended after the start.
    const since = query.activeFrom;
    const probe: Probe = { index: 'history_external', sql: since === undefined ? sql : `${sql} AND ended_at >= ?`, params: since === undefined ? values : [...values, since] };
    // In end order: one address and port is a run of the external index; otherwise the external address is the reply
    // destination (SNAT) or the original destination (DNAT), whose indexes list a superset in end order.
    const walks = whole && ports && ports.min === ports.max ? [run('history_external', sql, values)] : [addressIn('reply_dst_b', query.external).walk, addressIn('dst_b', query.external).walk];
    add(`(${sql})`, values, { probes: [probe], walks, exact: walks.length === 1 });
  } else if (query.externalPort) {
    add('ext_port BETWEEN ? AND ?', [query.externalPort.min, query.externalPort.max]);
  }
  if (query.activeFrom !== undefined) {
    const probe = run('history_ended_at', 'ended_at >= ?', [query.activeFrom]);
    add(probe.sql, probe.params, { probes: [probe], walks: [probe], exact: true });
  }
  if (query.activeTo !== undefined) add('(started_at IS NULL OR started_at <= ?)', [query.activeTo]);
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params, drivers, conditions: parts.length };
}

/** The columns a row is inserted with, in order, and how each travels in a batch (writer-job.ts). */
const INSERT_COLUMNS: readonly (readonly [string, ColumnKind])[] = [
  ['id', 'n'], ['family', 'n'], ['protocol', 'n'], ['src', 't'], ['dst', 't'], ['sport', 'n'], ['dport', 'n'],
  ['reply_src', 't'], ['reply_dst', 't'], ['reply_sport', 'n'], ['reply_dport', 'n'],
  ['src_b', 'b'], ['dst_b', 'b'], ['reply_src_b', 'b'], ['reply_dst_b', 'b'], ['icmp_type', 'n'], ['icmp_code', 'n'], ['icmp_id', 'n'],
  ['zone', 'n'], ['mark', 'n'], ['status', 'n'], ['state', 't'], ['started_at', 'n'], ['ended_at', 'n'],
  ['packets_orig', 'n'], ['bytes_orig', 'n'], ['packets_reply', 'n'], ['bytes_reply', 'n'], ['cause', 't'], ['closed_by', 't'],
  ['ext_b', 'b'], ['ext_port', 'n'], ['ended_after', 'n'], ['ended_before', 'n'], ['deleted_by', 't'],
];

/** The indexes of every partition: the name's end (history_<end>, history_<n>_<end>) and its columns. */
const PARTITION_INDEXES: readonly (readonly [string, string])[] = [
  ['ended_at', 'ended_at'], ['id', 'id'],
  ['src', 'src_b, ended_at'], ['dst', 'dst_b, ended_at'], ['reply_src', 'reply_src_b, ended_at'], ['reply_dst', 'reply_dst_b, ended_at'],
  ['sport', 'sport, ended_at'], ['dport', 'dport, ended_at'], ['reply_sport', 'reply_sport, ended_at'], ['reply_dport', 'reply_dport, ended_at'],
  ['external', 'ext_b, ext_port, ended_at'], ['protocol', 'protocol, ended_at'], ['cause', 'cause, ended_at'],
];

/**
 * A partition table $T as the history table is after migrations 1 to 3: the same columns in the same order (a query
 * across partitions is a UNION ALL of SELECT *), and the same indexes (schema.ts).
 */
export const PARTITION_DDL = `
  CREATE TABLE $T (
    key INTEGER PRIMARY KEY, id INTEGER NOT NULL, family INTEGER NOT NULL, protocol INTEGER NOT NULL,
    src TEXT NOT NULL, dst TEXT NOT NULL, sport INTEGER, dport INTEGER,
    reply_src TEXT NOT NULL, reply_dst TEXT NOT NULL, reply_sport INTEGER, reply_dport INTEGER,
    src_b BLOB NOT NULL, dst_b BLOB NOT NULL, reply_src_b BLOB NOT NULL, reply_dst_b BLOB NOT NULL,
    icmp_type INTEGER, icmp_code INTEGER, icmp_id INTEGER, zone INTEGER NOT NULL, mark INTEGER NOT NULL, status INTEGER NOT NULL,
    state TEXT, started_at INTEGER, ended_at INTEGER NOT NULL,
    packets_orig INTEGER, bytes_orig INTEGER, packets_reply INTEGER, bytes_reply INTEGER, cause TEXT NOT NULL, closed_by TEXT,
    ext_b BLOB, ext_port INTEGER, ended_after INTEGER, ended_before INTEGER, deleted_by TEXT
  );
  ${PARTITION_INDEXES.map(([end, columns]) => `CREATE INDEX $T_${end} ON $T (${columns});`).join('\n  ')}
`;

/** Every write of the history (rows in, retention out), for the writer's worker and for this thread; $T is a partition's table. */
export const WRITER_SQL: WriterSql = {
  insert: `INSERT INTO $T (key, ${INSERT_COLUMNS.map(([name]) => name).join(', ')}) VALUES (?, ${INSERT_COLUMNS.map(() => '?').join(', ')})`,
  columns: INSERT_COLUMNS.map(([, kind]) => kind),
  endedAtNumber: INSERT_COLUMNS.filter(([, kind]) => kind === 'n').findIndex(([name]) => name === 'ended_at'),
  newest: 'SELECT n, rows, first_key, min_ended FROM history_partitions WHERE retired = 0 ORDER BY n DESC LIMIT 1',
  createPartition: PARTITION_DDL,
  addPartition: 'INSERT INTO history_partitions (n, rows, first_key) VALUES (?, 0, ?)',
  countRows: `UPDATE history_partitions SET rows = rows + @rows,
    min_ended = CASE WHEN @min IS NULL THEN min_ended WHEN min_ended IS NULL OR @min < min_ended THEN @min ELSE min_ended END,
    max_ended = CASE WHEN @max IS NULL THEN max_ended WHEN max_ended IS NULL OR @max > max_ended THEN @max ELSE max_ended END
    WHERE n = @n`,
  maxKey: 'SELECT MAX(key) AS key FROM $T',
  partitions: 'SELECT n, rows, min_ended, max_ended, retired FROM history_partitions ORDER BY n',
  retire: 'UPDATE history_partitions SET retired = 1 WHERE n = ?',
  indexesOf: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
  forget: 'DELETE FROM history_partitions WHERE n = ?',
  pruneOlder: 'DELETE FROM $T WHERE key IN (SELECT key FROM $T INDEXED BY $T_ended_at WHERE ended_at < ? ORDER BY ended_at LIMIT ?)',
  cutKey: 'SELECT key FROM $T ORDER BY key LIMIT 1 OFFSET ?',
  pruneUpTo: 'DELETE FROM $T WHERE key IN (SELECT key FROM $T WHERE key <= ? ORDER BY key LIMIT ?)',
  emptyOldest: 'DELETE FROM $T WHERE key IN (SELECT key FROM $T ORDER BY key LIMIT ?)',
  pruneGaps: 'DELETE FROM history_gaps WHERE ended_at < ?',
};

/**
 * Partitions the retention keeps (about): a partition holds the row cap's 1/16th (a DROP INDEX of a partition of
 * 625,000 rows, 1/8th, held the lock 12-33 ms on the benchmark machine; the server's statements wait 20 ms) and
 * spans at most 1/16th of the retention time.
 */
export const HISTORY_PARTITIONS = 16;

/** Rows a partition holds and the time its rows' ends span at most (0: no limit), for a row cap and a retention. */
export interface Partitioning {
  rows: number;
  ms: number;
}

export function partitioning(maxRows: number, retentionDays: number): Partitioning {
  return { rows: Math.max(1, Math.ceil((maxRows > 0 ? maxRows : HISTORY_DEFAULTS.maxRows) / HISTORY_PARTITIONS)), ms: retentionDays > 0 ? (retentionDays * 86_400_000) / HISTORY_PARTITIONS : 0 };
}

/** A partition a query reads: its table, rows, the first key it gives and the bounds of its end times. */
export interface HistoryPartition {
  n: number;
  table: string;
  rows: number;
  first_key: number;
  min_ended: number | null;
  max_ended: number | null;
}

/** The partitions holding rows, those with the newest end times first (ascending: the oldest first). */
function byEnd(parts: readonly HistoryPartition[], desc: boolean): HistoryPartition[] {
  const filled = parts.filter((p) => p.rows > 0 && p.min_ended !== null && p.max_ended !== null);
  return desc ? filled.sort((a, b) => (b.max_ended ?? 0) - (a.max_ended ?? 0)) : filled.sort((a, b) => (a.min_ended ?? 0) - (b.min_ended ?? 0));
}

/** Whether a row of the partition can rank before a row that ended at `ended` (its bounds may be wider than its rows). */
function canRank(p: HistoryPartition, ended: number, desc: boolean): boolean {
  return desc ? (p.max_ended ?? Number.NEGATIVE_INFINITY) >= ended : (p.min_ended ?? Number.POSITIVE_INFINITY) <= ended;
}

/** The name of a partition's index named `index` (history_<end>) in the history table's naming. */
const indexIn = (partition: HistoryPartition, index: string) => partition.table + index.slice('history'.length);

const NUMBERS_PER_ROW = WRITER_SQL.columns.filter((kind) => kind === 'n').length;
const TEXTS_PER_ROW = WRITER_SQL.columns.filter((kind) => kind === 't').length;
const BLOBS_PER_ROW = WRITER_SQL.columns.filter((kind) => kind === 'b').length;

/** The records as one batch in INSERT_COLUMNS order: two buffers and an array of texts. */
export function encodeRows(records: readonly HistoryRecord[]): RowBatch {
  const count = records.length;
  const numbers = new Float64Array(count * NUMBERS_PER_ROW);
  const texts: (string | null)[] = new Array<string | null>(count * TEXTS_PER_ROW);
  const blobs = new Uint8Array(count * BLOBS_PER_ROW * BLOB_SLOT);
  let n = 0;
  let t = 0;
  let b = 0;
  const num = (value: number | undefined | null) => (numbers[n++] = value ?? Number.NaN);
  const text = (value: string | undefined | null) => (texts[t++] = value ?? null);
  const blob = (address: string | undefined) => {
    const bytes = address === undefined ? undefined : parseAddress(address)?.bytes;
    blobs[b] = bytes ? bytes.length : address === undefined ? NULL_BLOB : 0;
    if (bytes) blobs.set(bytes, b + 1);
    b += BLOB_SLOT;
  };
  for (const r of records) {
    const o = r.original;
    const p = r.reply;
    const external = externalEndpoint(r);
    // In INSERT_COLUMNS order.
    num(r.id); num(familyNumber(r.family)); num(o.protocol); text(o.src); text(o.dst); num(o.sport); num(o.dport);
    text(p.src); text(p.dst); num(p.sport); num(p.dport);
    blob(o.src); blob(o.dst); blob(p.src); blob(p.dst); num(o.icmp?.type); num(o.icmp?.code); num(o.icmp?.id);
    num(r.zone); num(r.mark); num(r.status); text(r.state); num(r.startedAt); num(r.endedAt);
    num(r.counters?.original.packets); num(r.counters?.original.bytes); num(r.counters?.reply.packets); num(r.counters?.reply.bytes); text(r.cause); text(r.closedBy);
    blob(external?.address); num(external?.port); num(r.endedAfter); num(r.endedBefore); text(r.deletedBy);
  }
  return { count, numbers, texts, blobs };
}

/** The error of a failed job, as the store's statements throw it (so sqliteCode and describeStoreError read it). */
export function jobError(error: NonNullable<JobResult['error']>): Error {
  return Object.assign(new Error(error.message), error.code ? { code: error.code } : {});
}

/** Runs a writer job on this thread, in one transaction; throws its failure. */
function runHere(db: Store, job: WriterJob): number {
  const result = runWriterJob(db, WRITER_SQL, job, () => undefined, 0);
  if (result.error) throw jobError(result.error);
  return result.rows;
}

export class HistoryStore {
  /** Rows a partition holds and the time it spans, for the writer's inserts (the recorder's row cap and retention). */
  readonly partitioning: Partitioning;

  constructor(
    readonly db: Store,
    options: { maxRows?: number; retentionDays?: number } = {},
  ) {
    migrate(db, 'history', HISTORY_MIGRATIONS);
    this.partitioning = partitioning(options.maxRows ?? HISTORY_DEFAULTS.maxRows, options.retentionDays ?? HISTORY_DEFAULTS.retentionDays);
  }

  /**
   * The partitions a query reads, newest first, from the catalog (a few rows: read for every query, so this
   * connection sees at once what the writer's connection created or retired).
   */
  catalog(): HistoryPartition[] {
    const rows = this.statement('SELECT n, rows, first_key, min_ended, max_ended FROM history_partitions WHERE retired = 0 ORDER BY n DESC').all() as Omit<HistoryPartition, 'table'>[];
    return rows.map((p) => ({ ...p, table: p.n === 0 ? 'history' : `history_${p.n}` }));
  }

  /** Rows stored now. */
  get size(): number {
    return (this.statement('SELECT COALESCE(SUM(rows), 0) AS n FROM history_partitions WHERE retired = 0').get() as { n: number }).n;
  }

  /** Writes the records in one transaction, on this thread (the recorder writes through its HistoryWriter). */
  insert(records: readonly HistoryRecord[]): void {
    if (!records.length) return;
    runHere(this.db, { op: 'insert', batch: encodeRows(records), chunkRows: records.length, partitionRows: this.partitioning.rows, partitionMs: this.partitioning.ms });
  }

  /**
   * A page of rows and how many match, over every partition as of one moment (a read transaction: the writer may
   * create or retire one meanwhile). Each condition an index can answer is first counted on its index alone, at
   * most COUNT_CAP entries each, summed over the partitions (cheap: the index only). When one lists fewer than
   * COUNT_CAP rows the page is read from those rows and the count is exact. Otherwise every condition is broad:
   * sorted by end time, the page is merged from runs of one condition's indexes in end order (`walkPage`), so rows
   * that match nothing (the newest after a burst of other traffic) are never read; other sorts walk their index, or
   * the table, of every partition. The count then says "more than COUNT_CAP" rather than reading every row.
   */
  query(query: HistoryQuery): HistoryPage {
    return this.db.transaction(() => this.queryNow(query))();
  }

  private queryNow(query: HistoryQuery): HistoryPage {
    const parts = this.catalog();
    const where = historyWhere(query);
    const direction = (query.order ?? 'desc').toUpperCase() as 'ASC' | 'DESC';
    const sortKey = query.sort ?? 'ended';
    const orderBy = [...ORDER_BY[sortKey], 'key'].map((e) => `${e} ${direction}`).join(', ');
    const counted = where.drivers.map((driver) => {
      const counts = driver.probes.map((probe) => this.cappedCount(parts, probe));
      return { driver, count: counts.reduce((a, b) => a + b, 0), widest: Math.max(...counts) };
    });
    counted.sort((a, b) => a.count - b.count);
    const best = counted[0] as (typeof counted)[number] | undefined;
    // The one condition of the query is the driver's.
    const alone = where.conditions === 1 && where.drivers.length === 1;
    const countOf = (from: (p: HistoryPartition) => string, params: Param[]) => parts.reduce((n, p) => n + (this.statement(`SELECT COUNT(*) AS n FROM ${from(p)}`).get(...params) as { n: number }).n, 0);
    if (best && best.count < COUNT_CAP) {
      const { probes, exact } = best.driver;
      const [first] = probes;
      // Walked in end order by a narrowest condition (a broader one would read rows the narrowest rejects).
      const narrowest = counted.filter((c) => c.count === best.count).map((c) => c.driver);
      const walked = sortKey === 'ended' ? this.walkPage(parts, narrowest, where, alone, direction, query.limit, query.offset) : undefined;
      if (probes.length === 1) {
        // One index lists the rows: the planner is told which, and walks it in order when its column is an equality.
        const from = (p: HistoryPartition) => `${p.table} INDEXED BY ${indexIn(p, first.index)} ${where.sql}`;
        // Its index count is the query's count when the index lists exactly the condition's rows.
        const matched = alone && exact ? best.count : countOf(from, where.params);
        const rows = walked ?? this.pageOf(parts, (p) => `SELECT * FROM ${from(p)}`, where.params, orderBy, query);
        return { matched, exact: true, rows };
      }
      // Several indexes (a condition on any side): the union of their keys, then the rows by key.
      const keys = (p: HistoryPartition) => probes.map((probe) => `SELECT key FROM ${p.table} INDEXED BY ${indexIn(p, probe.index)} WHERE ${probe.sql}`).join(' UNION ');
      const keyParams = probes.flatMap((p) => p.params);
      const from = (p: HistoryPartition) => `${p.table} NOT INDEXED WHERE key IN (${keys(p)})${where.sql ? ` AND ${where.sql.slice('WHERE '.length)}` : ''}`;
      const params = [...keyParams, ...where.params];
      // The union of the indexes' keys is the match of a lone exact condition: counted on the indexes alone.
      const matched = alone && exact ? countOf((p) => `(${keys(p)})`, keyParams) : countOf(from, params);
      const rows = walked ?? this.pageOf(parts, (p) => `SELECT * FROM ${from(p)}`, params, orderBy, query);
      return { matched, exact: true, rows };
    }
    // Every condition is broad: the first, narrowest first, with runs in end order.
    const walked = sortKey === 'ended' ? this.walkPage(parts, counted.map((c) => c.driver), where, alone, direction, query.limit, query.offset) : undefined;
    const sortIndex = SORT_INDEX[sortKey];
    const rows = walked ?? this.pageOf(parts, (p) => `SELECT * FROM ${p.table} ${sortIndex ? `INDEXED BY ${indexIn(p, sortIndex)}` : ''} ${where.sql}`, where.params, orderBy, query);
    if (!where.sql) return { matched: parts.reduce((n, p) => n + p.rows, 0), exact: true, rows };
    // A lone exact condition one of whose indexes alone lists more than the cap: more than the cap match.
    if (alone && best && best.driver.exact && best.widest >= COUNT_CAP) return { matched: COUNT_CAP, exact: false, rows };
    // Counted along one index (the planner would gather every key of an OR of indexes first, millions for a /24).
    const along = counted.find((c) => c.driver.probes.length === 1)?.driver.probes[0];
    let matched = 0;
    for (const p of parts) {
      if (matched > COUNT_CAP) break;
      const sql = `SELECT COUNT(*) AS n FROM (SELECT 1 FROM ${p.table} ${along ? `INDEXED BY ${indexIn(p, along.index)}` : ''} ${where.sql} LIMIT ${COUNT_CAP + 1 - matched})`;
      matched += (this.statement(sql).get(...where.params) as { n: number }).n;
    }
    return matched > COUNT_CAP ? { matched: COUNT_CAP, exact: false, rows } : { matched, exact: true, rows };
  }

  /**
   * A page in `orderBy` of the rows `select` gives in each partition: the first limit + offset of each (in its
   * own order, by its index where one gives it), merged. In end order the partitions are read one after another
   * from the newest end (ascending: the oldest), and one whose end times cannot rank within the page is not read.
   */
  private pageOf(parts: HistoryPartition[], select: (p: HistoryPartition) => string, params: Param[], orderBy: string, query: HistoryQuery): HistoryRow[] {
    const page = [query.limit, query.offset];
    if (parts.length === 1) return this.statement(`${select(parts[0])} ORDER BY ${orderBy} LIMIT ? OFFSET ?`).all(...params, ...page) as HistoryRow[];
    const want = query.limit + query.offset;
    if ((query.sort ?? 'ended') === 'ended') {
      const desc = (query.order ?? 'desc') === 'desc';
      const ordered = byEnd(parts, desc);
      // Partitions whose end times do not overlap (the usual case: rows come in end order) are the page's order one
      // after another: the rows an offset skips are counted in SQLite, partition by partition, never read here (an
      // export pages through millions of rows).
      const disjoint = ordered.every((p, i) => i === 0 || (desc ? (p.max_ended ?? 0) < (ordered[i - 1].min_ended ?? 0) : (p.min_ended ?? 0) > (ordered[i - 1].max_ended ?? 0)));
      if (disjoint) {
        const rows: HistoryRow[] = [];
        let skip = query.offset;
        for (const p of ordered) {
          if (rows.length >= query.limit) break;
          if (skip > 0) {
            const n = (this.statement(`SELECT COUNT(*) AS n FROM (${select(p)} LIMIT ?)`).get(...params, skip) as { n: number }).n;
            if (n < skip) {
              skip -= n;
              continue;
            }
          }
          rows.push(...(this.statement(`${select(p)} ORDER BY ${orderBy} LIMIT ? OFFSET ?`).all(...params, query.limit - rows.length, skip) as HistoryRow[]));
          skip = 0;
        }
        return rows;
      }
      const before = (a: HistoryRow, b: HistoryRow) => (a.ended_at !== b.ended_at ? (a.ended_at > b.ended_at) === desc : (a.key > b.key) === desc);
      let top: HistoryRow[] = [];
      for (const p of ordered) {
        const last = top.length === want ? top[want - 1] : undefined;
        if (last && !canRank(p, last.ended_at, desc)) continue;
        const rows = this.statement(`${select(p)} ORDER BY ${orderBy} LIMIT ?`).all(...params, want) as HistoryRow[];
        top = [...top, ...rows].sort((a, b) => (before(a, b) ? -1 : 1)).slice(0, want);
      }
      return top.slice(query.offset);
    }
    const each = parts.map((p) => `SELECT * FROM (${select(p)} ORDER BY ${orderBy} LIMIT ?)`).join(' UNION ALL ');
    const eachParams = parts.flatMap(() => [...params, want]);
    return this.statement(`SELECT * FROM (${each}) ORDER BY ${orderBy} LIMIT ? OFFSET ?`).all(...eachParams, ...page) as HistoryRow[];
  }

  /**
   * The page in end order merged from the runs of the one of these drivers whose walks are the fewest runs (spans of
   * at most MAX_RUNS values) in each partition; undefined when none has, or when the page ends deeper than
   * WALK_MAX_ROWS. The partitions are read from the newest end (descending; the oldest ascending), and one whose
   * end times cannot rank within the page any more is not read at all. Within one, each run reads its first rows in
   * order (its index entries only, when the query is this one exact condition; else the rows are checked against
   * the whole WHERE), a share of the page at first, more from a run whose last row read still ranks within the page,
   * until none does.
   */
  private walkPage(parts: HistoryPartition[], drivers: Driver[], where: HistoryWhere, alone: boolean, direction: 'ASC' | 'DESC', limit: number, offset: number): HistoryRow[] | undefined {
    if (limit + offset > WALK_MAX_ROWS) return undefined;
    const want = limit + offset;
    const desc = direction === 'DESC';
    // a ranks before b in the page's order ([key, ended_at]).
    const before = (a: Pair, b: Pair) => (a[1] !== b[1] ? (a[1] > b[1]) === desc : a[0] !== b[0] && (a[0] > b[0]) === desc);
    let driver: Driver | undefined;
    let top: Pair[] = [];
    for (const p of byEnd(parts, desc)) {
      const last = top.length === want ? top[want - 1] : undefined;
      if (last && !canRank(p, last[1], desc)) continue;
      let runs: Run[] | undefined;
      if (!driver) {
        // The fewest runs (in the first partition read): each reads at least its share of the page (and with other
        // conditions, the rows they reject).
        for (const candidate of drivers) {
          const these = candidate.walks && this.runsOf(p, candidate.walks);
          if (these && (!runs || these.length < runs.length)) [runs, driver] = [these, candidate];
        }
      } else runs = driver.walks && this.runsOf(p, driver.walks);
      if (!runs || !driver) return undefined;
      top = this.walkRuns(p, runs, alone && driver.exact ? undefined : where, direction, want, top, before);
    }
    const keys = top.slice(offset).map((p) => p[0]);
    if (!keys.length) return [];
    const rows: HistoryRow[] = [];
    for (const p of parts) {
      const mine = keys.filter((key) => this.owner(parts, key) === p);
      if (mine.length) rows.push(...(this.statement(`SELECT * FROM ${p.table} WHERE key IN (SELECT value FROM json_each(?))`).all(JSON.stringify(mine)) as HistoryRow[]));
    }
    const position = new Map(keys.map((key, i) => [key, i]));
    return rows.sort((a, b) => (position.get(a.key) ?? 0) - (position.get(b.key) ?? 0));
  }

  /** The first `want` pairs in the page's order of `prior` and of the rows of these runs of one partition. */
  private walkRuns(p: HistoryPartition, runs: Run[], check: HistoryWhere | undefined, direction: 'ASC' | 'DESC', want: number, prior: Pair[], before: (a: Pair, b: Pair) => boolean): Pair[] {
    const read: Pair[][] = runs.map(() => []);
    const limits = runs.map(() => 0);
    let pending = runs.map((_run, i) => i);
    let share = Math.min(want, Math.max(4, Math.ceil((2 * want) / runs.length)));
    let top = prior;
    while (pending.length) {
      for (const i of pending) {
        const r = runs[i];
        limits[i] = Math.min(want, Math.max(share, limits[i] * 4));
        const sql = `SELECT key, ended_at FROM ${p.table} INDEXED BY ${indexIn(p, r.index)} WHERE ${r.sql}${check?.sql ? ` AND ${check.sql.slice('WHERE '.length)}` : ''} ORDER BY ended_at ${direction}, key ${direction} LIMIT ?`;
        read[i] = this.statement(sql, true).all(...r.params, ...(check?.params ?? []), limits[i]) as Pair[];
      }
      share = 0;
      const all = [...prior, ...read.flat()].sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
      top = all.filter((pair, i) => i === 0 || pair[0] !== all[i - 1][0]).slice(0, want);
      const last = top.length === want ? top[want - 1] : undefined;
      // A run that gave all it was asked for may hold more rows ranking within the page when its last one does.
      pending = runs.map((_run, i) => i).filter((i) => read[i].length === limits[i] && limits[i] < want && (!last || before(read[i][limits[i] - 1], last)));
    }
    return top;
  }

  /** The partition a key belongs to: the one with the greatest first key not above it. */
  private owner(parts: HistoryPartition[], key: number): HistoryPartition | undefined {
    let found: HistoryPartition | undefined;
    for (const p of parts) if (p.first_key <= key && (!found || p.first_key > found.first_key)) found = p;
    return found;
  }

  /** The runs of some walks in one partition: a span becomes a run per value of it in its index (seeking value to value), at most MAX_RUNS. */
  private runsOf(p: HistoryPartition, walks: readonly (Run | Span)[]): Run[] | undefined {
    const runs: Run[] = [];
    for (const walk of walks) {
      if (!('column' in walk)) {
        runs.push(walk);
        continue;
      }
      const index = indexIn(p, walk.index);
      const next = this.statement(`SELECT ${walk.column} AS v FROM ${p.table} INDEXED BY ${index} WHERE ${walk.column} > ? AND ${walk.column} <= ? ORDER BY ${walk.column} LIMIT 1`);
      const first = this.statement(`SELECT ${walk.column} AS v FROM ${p.table} INDEXED BY ${index} WHERE ${walk.column} >= ? AND ${walk.column} <= ? ORDER BY ${walk.column} LIMIT 1`);
      // Addresses of the other family's length can sort within the range: skipped.
      const fits = walk.bytes === undefined ? () => true : (v: Param) => Buffer.isBuffer(v) && v.length === walk.bytes;
      for (let value = (first.get(walk.lo, walk.hi) as { v: Param } | undefined)?.v; value !== undefined && value !== null; value = (next.get(value, walk.hi) as { v: Param } | undefined)?.v) {
        if (!fits(value)) continue;
        if (runs.length >= MAX_RUNS) return undefined;
        runs.push({ index: walk.index, sql: `${walk.column} = ?`, params: [value] });
      }
    }
    return runs;
  }

  /** Entries of one index matching a probe in every partition, counting at most COUNT_CAP. */
  private cappedCount(parts: HistoryPartition[], probe: Probe): number {
    let n = 0;
    for (const p of parts) {
      if (n >= COUNT_CAP) break;
      n += (this.statement(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM ${p.table} INDEXED BY ${indexIn(p, probe.index)} WHERE ${probe.sql} LIMIT ${COUNT_CAP - n})`).get(...probe.params) as { n: number }).n;
    }
    return n;
  }

  private readonly statements = new Map<string, Statement>();

  /** Prepared once per distinct SQL text (queries differ only in their conditions' shapes). */
  private statement(sql: string, raw = false): Statement {
    const name = raw ? `raw ${sql}` : sql;
    let statement = this.statements.get(name);
    if (!statement) {
      statement = this.db.prepare(sql);
      if (raw) statement.raw(true);
      // Partitions multiply the texts (a statement per partition table).
      if (this.statements.size > 2000) this.statements.clear();
      this.statements.set(name, statement);
    }
    return statement;
  }

  /** The most recent row of a kernel id, in any partition. */
  latestById(id: number): HistoryRow | undefined {
    return this.db.transaction(() => {
      let latest: HistoryRow | undefined;
      for (const p of this.catalog()) {
        const row = this.statement(`SELECT * FROM ${p.table} INDEXED BY ${indexIn(p, 'history_id')} WHERE id = ? ORDER BY ended_at DESC, key DESC LIMIT 1`).get(id) as HistoryRow | undefined;
        if (row && (!latest || row.ended_at > latest.ended_at || (row.ended_at === latest.ended_at && row.key > latest.key))) latest = row;
      }
      return latest;
    })();
  }

  /** Deletes the rows with these keys (in their partitions); returns how many there were. */
  deleteKeys(keys: readonly number[]): number {
    let deleted = 0;
    this.db.transaction(() => {
      const parts = this.catalog();
      const counted = this.db.prepare(WRITER_SQL.countRows);
      for (const p of parts) {
        const mine = keys.filter((key) => this.owner(parts, key) === p);
        if (!mine.length) continue;
        const changes = this.db.prepare(`DELETE FROM ${p.table} WHERE key IN (SELECT value FROM json_each(?))`).run(JSON.stringify(mine)).changes;
        counted.run({ rows: -changes, min: null, max: null, n: p.n });
        deleted += changes;
      }
    })();
    return deleted;
  }

  /** Deletes every row and the record of gaps; returns how many rows went (the emptied partitions but the newest go with the next retention). */
  clear(): number {
    let deleted = 0;
    this.db.transaction(() => {
      for (const p of this.catalog()) deleted += this.db.prepare(`DELETE FROM ${p.table}`).run().changes;
      this.db.prepare('UPDATE history_partitions SET rows = 0, min_ended = NULL, max_ended = NULL WHERE retired = 0').run();
      this.db.prepare('DELETE FROM history_gaps').run();
    })();
    return deleted;
  }

  /**
   * Applies the retention on this thread: partitions whose rows all ended before `olderThan` (ms), then the oldest
   * partitions while more than `maxRows` rows are kept (0: no limit). Returns the rows removed.
   */
  prune(options: { olderThan?: number; maxRows: number }): number {
    return runHere(this.db, pruneJob(options, this.partitioning.rows, Number.MAX_SAFE_INTEGER));
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
   * Reads every row of every partition in key order, `chunkRows` at a time, awaiting `turn()` between chunks (the
   * recorder's background turn; the writer may retire a partition meanwhile: each chunk reads the catalog again): a
   * corrupt page throws the store's error (SQLITE_CORRUPT). Resolves with the rows read.
   */
  async scan(turn: () => Promise<void>, chunkRows = 20_000): Promise<number> {
    let after = -1;
    let read = 0;
    for (;;) {
      const chunk = this.db.transaction(() => {
        const parts = this.catalog().reverse();
        for (let i = 0; i < parts.length; i++) {
          const next = parts[i + 1] as HistoryPartition | undefined;
          if (next && next.first_key <= after + 1) continue;
          const rows = this.statement(`SELECT * FROM ${parts[i].table} WHERE key > ? ORDER BY key LIMIT ?`).all(after, chunkRows) as { key: number }[];
          if (rows.length) return { rows: rows.length, last: rows[rows.length - 1].key };
          if (next) after = next.first_key - 1;
        }
        return undefined;
      })();
      if (!chunk) return read;
      read += chunk.rows;
      after = chunk.last;
      await turn();
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
