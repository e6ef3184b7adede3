// A read-only table of entries at one moment: answers the console's questions - filter, sort, page, count -
// many times over without going back to the kernel. Built by SnapshotBuilder; holds only read-only Columns.
import { TCP_STATES } from '../constants';
import type { Prefix } from '@/lib/netlink/address';
import type { Filter } from '../filter';
import type { Connection, Family, Tuple } from '../types';
import type { SortKey } from '../vocabulary';
import { groupRows, groupRowsInTurns, type ColumnGroupKey, type Grouping, type KeyColumn } from './groups';
import { columnBytes, FAMILY_V6, NO_STATE, SHAPE, startedMs, type Columns } from './columns';
import { evaluate } from './match';
import { answeringPage, answerPage, blocks, inTurns, orderBy, orderSteps, runAll, selectSteps, sortColumnsSteps, warmSteps, type SortColumns, type Steps } from './order';
import { summaryOf, wholeTallySteps, type SnapshotSummary, type Tallies } from './summary';
import { addressText, TextSearch, TEXT_BLOCK_ROWS, TEXT_STEP_MS, TEXT_STEP_ROWS } from './text';

export interface SnapshotInfo {
  id: string;
  takenAt: Date;
  tookMs: number;
  total: number;
  /** Dump entries that could not be decoded and were left out (the rest of the snapshot stands). */
  skipped: number;
}

export interface Page {
  /** Rows matching the filter. */
  matched: number;
  rows: number[];
}

/** The query a snapshot answers: a filter plus free text, sort and paging. */
export interface SnapshotQuery {
  filter?: Filter;
  /** Free text, matched case-insensitively against the row as the console shows it. */
  text?: string;
  /**
   * With text: rows with one of these addresses match the text as well (the addresses whose host names contain
   * it; the snapshot knows no names, the caller does).
   */
  textAddresses?: readonly Prefix[];
  sort?: SortKey;
  order?: 'asc' | 'desc';
  offset?: number;
  limit?: number;
  /** Rows a layer above selected by its own columns (e.g. the console's WAN), named by key for the mask cache. */
  where?: RowMask;
}

/** The rows of a query a chunk at a time (Snapshot.cursor). */
export interface RowCursor {
  /** Rows matching, in all. */
  readonly matched: number;
  /** Writes the next rows into `into` (as many as fit) and returns how many; 0 once every row was given. */
  next(into: Uint32Array): number;
}

/** A row selection computed outside the snapshot: mask[row] is 1 for rows to keep; key names it for caching. */
export interface RowMask {
  key: string;
  mask: Uint8Array;
}

/** Where a snapshot's fixed-width columns live (SnapshotBuilder.finish). */
export interface SnapshotStorage {
  /** The one buffer they are views of: handed on for reuse once the snapshot is retired and no reader holds it. */
  buffer?: ArrayBuffer;
  /** The buffer of the IPv6 slots (columns.v6), handed on with it. */
  v6?: ArrayBuffer;
  /** Whether that buffer was a retired snapshot's (reused) rather than a new allocation. */
  reused?: boolean;
}

/** What a retired snapshot hands on (handOver()): its column buffer and the buffer of its IPv6 slots. */
export interface SpareBuffers {
  columns: ArrayBuffer;
  v6?: ArrayBuffer;
}

/** Which rows match (mask[row] 1) and how many, under the key the masks are cached by. */
interface Matches {
  mask: Uint8Array;
  count: number;
  key: string;
}

/** rowOfId() scans the id column this often at most; then it builds the id order and searches that. */
const ID_SCANS = 16;

/**
 * A table this big is the first of a process to have its sort and filter passes warmed (warmSteps() in the
 * background): a smaller table's first sort is quick even in unoptimised code.
 */
const WARM_TABLE_ROWS = 100_000;
/** Whether this process has warmed them (once is enough: V8 keeps the optimised code). */
let warmed = false;

/** Rows a first page's selection takes at least (ten pages of 100): the next pages are read off it. */
const HEAD_ROWS = 1000;

const u64 = (column: Columns['counters'], k: number): bigint => (BigInt(column[k]) << 32n) | BigInt(column[k + 1]);
/** A u64 column pair as a number (exact below 2^53: 8 PiB of bytes). */
const u64Number = (column: Columns['counters'], k: number): number => column[k] * 0x1_0000_0000 + column[k + 1];

/**
 * What changes while an entry lives, plus what tells it apart from a later entry with the same id: read straight
 * from the columns into one reused object, for callers that visit every row (no Connection, no strings per row).
 */
export interface EntryProgress {
  protocol: number;
  /** Original direction ports; -1 when the entry has none (ICMP). */
  sport: number;
  dport: number;
  status: number;
  mark: number;
  /** Index into TCP_STATES; -1 when not TCP. */
  state: number;
  /** Packets and bytes each way; NaN when accounting was off. */
  packetsOriginal: number;
  bytesOriginal: number;
  packetsReply: number;
  bytesReply: number;
}

export const emptyProgress = (): EntryProgress => ({ protocol: 0, sport: -1, dport: -1, status: 0, mark: 0, state: -1, packetsOriginal: Number.NaN, bytesOriginal: Number.NaN, packetsReply: Number.NaN, bytesReply: Number.NaN });

/**
 * Everything of a row but its addresses and sparse parts (helper, labels, per-direction zones): EntryProgress plus
 * what a record of the entry keeps, for callers that note every row (the history's first dump of a million entries).
 */
export interface EntryFields extends EntryProgress {
  family: Family;
  /** -1 when the kernel sent none. */
  id: number;
  zone: number;
  /** Reply direction ports; -1 when absent. */
  replySport: number;
  replyDport: number;
  /** The original direction's ICMP type, code and id; -1 when not ICMP. */
  icmpType: number;
  icmpCode: number;
  icmpId: number;
  /** CTA_TIMESTAMP_START in whole ms; NaN when timestamps were off. */
  startedMs: number;
  /** The TCP flags each way (CTA_PROTOINFO_TCP_FLAGS_*, the flags byte); 0 when absent. */
  flagsOriginal: number;
  flagsReply: number;
}

export const emptyFields = (): EntryFields => ({
  ...emptyProgress(),
  family: 'ipv4',
  id: -1,
  zone: 0,
  replySport: -1,
  replyDport: -1,
  icmpType: -1,
  icmpCode: -1,
  icmpId: -1,
  startedMs: Number.NaN,
  flagsOriginal: 0,
  flagsReply: 0,
});

/**
 * mask[r] &= (hits[r] | keep[r]) & where[r] for rows [lo, hi) (each when given); how many of them stay set.
 * A plain function: a generator's own loops are optimised poorly, and a fresh text runs this once.
 */
function overlay(mask: Uint8Array, hits: Uint8Array | undefined, keep: Uint8Array | undefined, where: Uint8Array | undefined, lo: number, hi: number): number {
  let count = 0;
  for (let r = lo; r < hi; r++) {
    let m = mask[r];
    if (hits) m &= hits[r] | (keep ? keep[r] : 0);
    if (where) m &= where[r];
    mask[r] = m;
    count += m;
  }
  return count;
}

/** The page [offset, offset + limit) of the matching rows walked along the order (table order without one). */
function readPage(mask: Uint8Array, count: number, order: Uint32Array | undefined, desc: boolean, offset: number, limit: number): number[] {
  const size = mask.length;
  const rows: number[] = [];
  let seen = 0;
  for (let i = 0; i < size && rows.length < limit && seen < count; i++) {
    const position = desc ? size - 1 - i : i;
    const row = order ? order[position] : position;
    if (!mask[row]) continue;
    if (seen >= offset) rows.push(row);
    seen++;
  }
  return rows;
}

export class Snapshot {
  readonly info: SnapshotInfo;
  private readonly c: Columns;
  /** Row orders per sort key, computed once on first use. */
  private readonly orders = new Map<SortKey, Uint32Array>();
  /** Per sort key whose order is being built in turns: its columns (what first pages select from), then the order. */
  private readonly building = new Map<SortKey, { columns: Promise<SortColumns>; order?: Promise<Uint32Array>; awaited?: boolean }>();
  /** The columns of the sort keys being built, once written (dropped when the order is done). */
  private readonly sortColumns = new Map<SortKey, SortColumns>();
  /** The first rows of recent filtered orders, by sort, direction and match key (least recently used first). */
  private readonly heads = new Map<string, Uint32Array>();
  /** rowOfId() calls answered by a scan (the id order not built). */
  private idScans = 0;
  /** Recent match masks by filter and text (least recently used first). */
  private readonly masks = new Map<string, Matches>();
  /** Which rows contain a recent needle (least recently used first). */
  private readonly textHits = new Map<string, Uint8Array>();

  /** The buffers the columns are views of, until handed on (handOver()). */
  private buffer: ArrayBuffer | undefined;
  private v6Buffer: ArrayBuffer | undefined;
  /** Whether the columns were written into a retired snapshot's buffer rather than a new one. */
  readonly reusedBuffer: boolean;
  /** Readers holding the snapshot (lease()), its own work in turns included. */
  private leases = 0;
  /** The buffer was handed on: the columns now hold another snapshot's rows. */
  private handedOver = false;

  constructor(columns: Columns, info: SnapshotInfo, storage: SnapshotStorage = {}) {
    this.c = columns;
    this.info = info;
    this.buffer = storage.buffer;
    this.v6Buffer = storage.v6;
    this.reusedBuffer = storage.reused ?? false;
    if (!warmed && columns.size >= WARM_TABLE_ROWS) {
      warmed = true;
      // In turns, giving way to every page being answered; it writes nothing a query reads, so a failure (none is
      // expected) changes no answer: it only leaves the first sort as slow as it was.
      this.held(() => inTurns(this.warmSteps(), answeringPage)).catch(() => undefined);
    }
  }

  /**
   * Holds the snapshot for a reader until the returned release (idempotent) is called: while any reader holds it,
   * its column buffer is never handed on, so whatever it reads stays this snapshot's rows. Everything the snapshot
   * does in turns (pages, sorts, text, tallies, groups) holds it for itself; a caller that reads it across awaits
   * of its own (an export stream, a request's later steps) takes a lease. Throws once the buffer was handed on.
   */
  lease(): () => void {
    if (this.handedOver) throw new Error(`snapshot ${this.info.id}: its columns were handed on to a newer snapshot`);
    this.leases++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.leases--;
    };
  }

  /** Leases held now. */
  get readers(): number {
    return this.leases;
  }

  /** Bytes of the column buffer this snapshot could hand on (0 when it has none, or has handed it on). */
  get bufferBytes(): number {
    return this.buffer?.byteLength ?? 0;
  }

  /**
   * Gives up the column buffer and the IPv6 slots' for a new snapshot's columns, when no reader holds this one
   * (else undefined). Only the owner of a retired snapshot calls this: the snapshot must never be read again, and
   * lease() now throws.
   */
  handOver(): SpareBuffers | undefined {
    if (this.leases > 0 || !this.buffer) return undefined;
    const spare = { columns: this.buffer, v6: this.v6Buffer };
    this.buffer = this.v6Buffer = undefined;
    this.handedOver = true;
    return spare;
  }

  /** run() under a lease of its own, released when its promise settles. */
  private held<T>(run: () => Promise<T>): Promise<T> {
    const release = this.lease();
    try {
      return run().finally(release);
    } catch (error) {
      release();
      throw error;
    }
  }

  /** A filter of common conditions over the first rows, then warmSteps() of every sort key (see order.ts). */
  private *warmSteps(): Steps<void> {
    const n = Math.min(this.c.size, TEXT_STEP_ROWS);
    const filter: Filter = { family: 'ipv4', protocol: 6, states: ['ESTABLISHED'], status: { names: [], value: 0, mask: 0 }, dport: { min: 0, max: 65535 } };
    evaluate(this.c, filter, 0, n, new Uint8Array(n));
    yield;
    yield* warmSteps(this.c);
  }

  get size(): number {
    return this.c.size;
  }

  /** Approximate bytes held by the columns (excluding sparse helper/label maps). */
  get byteSize(): number {
    return columnBytes(this.c);
  }

  /**
   * The table itself, read-only: for layers that derive their own per-row values from it (the console's WAN and
   * stale columns) without a Connection object per row.
   */
  get columns(): Columns {
    return this.c;
  }

  familyOf(row: number): Family {
    return this.c.family[row] === FAMILY_V6 ? 'ipv6' : 'ipv4';
  }

  /** Address slot k (0 orig src, 1 orig dst, 2 reply src, 3 reply dst) as text. */
  address(row: number, k: number): string {
    return addressText(this.c, row, k);
  }

  private tupleOf(row: number, base: number): Tuple {
    const c = this.c;
    const shape = c.shape[row];
    const tuple: Tuple = { src: this.address(row, base), dst: this.address(row, base + 1), protocol: c.protocol[row] };
    const zone = base ? c.tupleZones.get(row)?.reply : c.tupleZones.get(row)?.original;
    if (zone !== undefined) tuple.zone = zone;
    const k = row * 4 + base;
    if (shape & (base ? SHAPE.ICMP_REPLY : SHAPE.ICMP_ORIGINAL)) {
      const typeCode = c.ports[k + 1];
      tuple.icmp = { type: typeCode >> 8, code: typeCode & 0xff, id: c.ports[k] };
    } else {
      if (shape & (base ? SHAPE.SPORT_REPLY : SHAPE.SPORT_ORIGINAL)) tuple.sport = c.ports[k];
      if (shape & (base ? SHAPE.DPORT_REPLY : SHAPE.DPORT_ORIGINAL)) tuple.dport = c.ports[k + 1];
    }
    return tuple;
  }

  /** The entry at a row, as the domain type (the fields a snapshot keeps). */
  connection(row: number): Connection {
    const c = this.c;
    const shape = c.shape[row];
    const connection: Connection = {
      family: this.familyOf(row),
      original: this.tupleOf(row, 0),
      reply: this.tupleOf(row, 2),
      status: c.status[row],
      zone: c.zone[row],
    };
    if (shape & SHAPE.ID) connection.id = c.id[row];
    if (shape & SHAPE.TIMEOUT) connection.timeout = c.timeout[row];
    if (shape & SHAPE.MARK) connection.mark = c.mark[row];
    if (shape & SHAPE.USE) connection.use = c.use[row];
    if (c.state[row] !== NO_STATE) {
      const flags = c.tcpFlags[row];
      const tcp: NonNullable<Connection['protoinfo']>['tcp'] = { state: TCP_STATES[c.state[row]] };
      if (shape & SHAPE.FLAGS_ORIGINAL) tcp.flagsOriginal = { flags: flags >>> 24, mask: (flags >> 16) & 0xff };
      if (shape & SHAPE.FLAGS_REPLY) tcp.flagsReply = { flags: (flags >> 8) & 0xff, mask: flags & 0xff };
      connection.protoinfo = { tcp };
    }
    if (shape & SHAPE.COUNTERS) {
      const k = row * 8;
      connection.counters = {
        original: { packets: u64(c.counters, k), bytes: u64(c.counters, k + 2) },
        reply: { packets: u64(c.counters, k + 4), bytes: u64(c.counters, k + 6) },
      };
    }
    if (shape & SHAPE.TIMESTAMP) connection.timestamp = { start: u64(c.started, row * 2) };
    const helper = c.helpers.get(row);
    if (helper !== undefined) connection.helper = helper;
    const labels = c.labels.get(row);
    if (labels) connection.labels = labels;
    return connection;
  }

  /** The entry's id at a row, or -1 when the kernel sent none. */
  idAt(row: number): number {
    return this.c.shape[row] & SHAPE.ID ? this.c.id[row] : -1;
  }

  /** The row's EntryProgress, written into `out` (which is returned). */
  progressAt(row: number, out: EntryProgress): EntryProgress {
    const c = this.c;
    const shape = c.shape[row];
    const k = row * 4;
    out.protocol = c.protocol[row];
    out.sport = shape & SHAPE.SPORT_ORIGINAL ? c.ports[k] : -1;
    out.dport = shape & SHAPE.DPORT_ORIGINAL ? c.ports[k + 1] : -1;
    out.status = c.status[row];
    out.mark = shape & SHAPE.MARK ? c.mark[row] : 0;
    out.state = c.state[row] === NO_STATE ? -1 : c.state[row];
    if (shape & SHAPE.COUNTERS) {
      const n = row * 8;
      out.packetsOriginal = u64Number(c.counters, n);
      out.bytesOriginal = u64Number(c.counters, n + 2);
      out.packetsReply = u64Number(c.counters, n + 4);
      out.bytesReply = u64Number(c.counters, n + 6);
    } else {
      out.packetsOriginal = out.bytesOriginal = out.packetsReply = out.bytesReply = Number.NaN;
    }
    return out;
  }

  /** The row's EntryFields, written into `out` (which is returned). */
  fieldsAt(row: number, out: EntryFields): EntryFields {
    this.progressAt(row, out);
    const c = this.c;
    const shape = c.shape[row];
    const k = row * 4;
    out.family = this.familyOf(row);
    out.id = shape & SHAPE.ID ? c.id[row] : -1;
    out.zone = c.zone[row];
    out.replySport = shape & SHAPE.SPORT_REPLY ? c.ports[k + 2] : -1;
    out.replyDport = shape & SHAPE.DPORT_REPLY ? c.ports[k + 3] : -1;
    const icmp = (shape & SHAPE.ICMP_ORIGINAL) !== 0;
    out.icmpType = icmp ? c.ports[k + 1] >> 8 : -1;
    out.icmpCode = icmp ? c.ports[k + 1] & 0xff : -1;
    out.icmpId = icmp ? c.ports[k] : -1;
    out.startedMs = shape & SHAPE.TIMESTAMP ? startedMs(c.started, row * 2) : Number.NaN;
    const flags = c.tcpFlags[row];
    out.flagsOriginal = c.state[row] !== NO_STATE && shape & SHAPE.FLAGS_ORIGINAL ? flags >>> 24 : 0;
    out.flagsReply = c.state[row] !== NO_STATE && shape & SHAPE.FLAGS_REPLY ? (flags >> 8) & 0xff : 0;
    return out;
  }

  /**
   * Address slot k (0 orig src, 1 orig dst, 2 reply src, 3 reply dst) as bytes written at out[offset]: 4 for IPv4
   * (network order), 16 for IPv6.
   */
  addressBytesAt(row: number, k: number, out: Uint8Array, offset: number): void {
    const c = this.c;
    const value = c.addr[row * 4 + k];
    if (c.family[row] === FAMILY_V6) {
      for (let i = 0; i < 16; i++) out[offset + i] = c.v6[value * 16 + i];
      return;
    }
    out[offset] = value >>> 24;
    out[offset + 1] = (value >> 16) & 255;
    out[offset + 2] = (value >> 8) & 255;
    out[offset + 3] = value & 255;
  }

  /**
   * The row holding the entry with this id, or -1: a binary search over the id order once it is built (prepare()
   * with sort 'id', for many ids), else a scan of the id column (a millisecond at a million rows, where building
   * the order would hold the event loop for a hundred); past ID_SCANS scans the order is built.
   */
  rowOfId(id: number): number {
    const ids = this.c.id;
    if (!this.orders.has('id') && this.idScans < ID_SCANS) {
      this.idScans++;
      const row = ids.indexOf(id);
      return row >= 0 && row < this.c.size ? row : -1;
    }
    const order = this.order('id');
    let low = 0;
    let high = order.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const value = ids[order[middle]];
      if (value === id) return order[middle];
      if (value < id) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }

  /** Whether accounting counters / start timestamps were present on any entry. */
  get hasCounters(): boolean {
    return this.anyShape(SHAPE.COUNTERS);
  }

  get hasTimestamps(): boolean {
    return this.anyShape(SHAPE.TIMESTAMP);
  }

  private anyShape(bit: number): boolean {
    for (let row = 0; row < this.c.size; row++) if (this.c.shape[row] & bit) return true;
    return false;
  }

  /**
   * The rows whose text contains the needle (lower-case), cached for the last few needles: the search's tables,
   * then a step per TEXT_STEP_ROWS rows or TEXT_STEP_MS, so prepare() can let the event loop run between them.
   */
  private *textSteps(needle: string): Generator<void, Uint8Array, void> {
    const cached = this.textHits.get(needle);
    if (cached) {
      this.textHits.delete(needle);
      this.textHits.set(needle, cached);
      return cached;
    }
    const size = this.c.size;
    const search = yield* TextSearch.steps(this.c, Buffer.from(needle, 'utf8'));
    const found = new Uint8Array(size);
    for (let from = 0; from < size; ) {
      yield;
      const end = Math.min(size, from + TEXT_STEP_ROWS);
      const started = performance.now();
      while (from < end && performance.now() - started < TEXT_STEP_MS) {
        const to = Math.min(end, from + TEXT_BLOCK_ROWS);
        search.rows(from, to, found);
        from = to;
      }
    }
    this.textHits.set(needle, found);
    if (this.textHits.size > 4) this.textHits.delete(this.textHits.keys().next().value as string);
    return found;
  }

  /**
   * Builds what a query needs (the rows matching free text, the row order for a sort key) without blocking the
   * event loop, so a server awaits this before query(); query() alone would build them in one go.
   */
  prepare(q: Omit<SnapshotQuery, 'offset' | 'limit'>): Promise<void> {
    return this.held(async () => {
      const sort = q.sort;
      if (sort && !this.orders.has(sort)) await this.ordered(sort);
      await inTurns(this.matchSteps(q.filter, q.text, q.textAddresses, q.where));
    });
  }

  /** A sort key's columns written in turns (started on first call), kept while its order is built. */
  private columnsOf(key: SortKey): Promise<SortColumns> {
    let build = this.building.get(key);
    if (!build) {
      const columns = this.held(() => inTurns(sortColumnsSteps(this.c, key))).then((k) => {
        this.sortColumns.set(key, k);
        return k;
      });
      // Whoever awaits the columns sees a failure; the next page starts over.
      columns.catch(() => this.building.delete(key));
      build = { columns };
      this.building.set(key, build);
    }
    return build.columns;
  }

  /**
   * A sort key's whole order, built in turns from its columns (started on first call). Built for later pages
   * (`background`), it waits while a page is being answered, until someone awaits it.
   */
  private ordered(key: SortKey, background = false): Promise<Uint32Array> {
    const columns = this.columnsOf(key);
    const build = this.building.get(key)!;
    if (!background) build.awaited = true;
    build.order ??= this.held(() => columns.then((k) => inTurns(orderSteps(k), () => !build.awaited && answeringPage())))
      .then((order) => {
        this.orders.set(key, order);
        return order;
      })
      .finally(() => {
        this.building.delete(key);
        this.sortColumns.delete(key);
      });
    return build.order;
  }

  /**
   * query() for a server: the text index, the sort columns and the page built in turns, so no other request
   * waits for them. Before a sort key's order is built, a page near the top (offset + limit at most a quarter of
   * the rows) is selected from its columns while the order is built in the background for later pages; a page
   * deeper down waits for the order.
   */
  page(q: SnapshotQuery = {}): Promise<Page> {
    // While it runs, work in the background (an order for later pages, the warm-up, the history's) gives way.
    return this.held(() => answerPage(async () => {
      const needle = q.text?.trim().toLowerCase();
      if (needle) await inTurns(this.textSteps(needle));
      const { count } = await inTurns(this.matchSteps(q.filter, q.text, q.textAddresses, q.where));
      const sort = q.sort;
      if (!sort || this.orders.has(sort)) return await inTurns(this.pageSteps(q));
      if (!this.selects(q, count)) {
        await this.ordered(sort);
        return await inTurns(this.pageSteps(q));
      }
      await this.columnsOf(sort);
      const page = await inTurns(this.pageSteps(q));
      // The order for later pages, started once this one is answered; a failure is seen by whoever awaits it next.
      this.ordered(sort, true).catch(() => undefined);
      return page;
    }));
  }

  /** Every row matching, in table order. */
  select(filter?: Filter, text?: string, where?: RowMask): Uint32Array {
    const { mask, count } = this.matches(filter, text, [], where);
    const out = new Uint32Array(count);
    for (let row = 0, n = 0; n < count; row++) if (mask[row]) out[n++] = row;
    return out;
  }

  /** Which rows match (1) and how many. The last few answers are cached: paging through one view reuses them. */
  private matches(filter?: Filter, text?: string, textAddresses?: readonly Prefix[], where?: RowMask): Matches {
    return runAll(this.matchSteps(filter, text, textAddresses, where));
  }

  /** matches() in steps: the filter evaluated a block of rows at a time, then the text and `where` laid over it. */
  private *matchSteps(filter: Filter = {}, text?: string, textAddresses: readonly Prefix[] = [], where?: RowMask): Steps<Matches> {
    const needle = text?.trim().toLowerCase() ?? '';
    const also = needle ? textAddresses : [];
    const key = JSON.stringify(filter, (_k, v: unknown) => (v instanceof Uint8Array ? undefined : v)) + '\u0000' + needle + '\u0000' + also.map((p) => p.text).join(',') + '\u0000' + (where?.key ?? '');
    const cached = this.masks.get(key);
    if (cached) {
      this.masks.delete(key);
      this.masks.set(key, cached);
      return cached;
    }
    const c = this.c;
    const mask = new Uint8Array(c.size);
    let count = 0;
    yield* blocks(c.size, (lo, hi) => (count += evaluate(c, filter, lo, hi, mask.subarray(lo, hi))));
    if (needle || where) {
      let keep: Uint8Array | undefined;
      if (needle && also.length) {
        const named: Filter = { host: { name: needle, addresses: [...also] } };
        const rows = (keep = new Uint8Array(c.size));
        yield* blocks(c.size, (lo, hi) => evaluate(c, named, lo, hi, rows.subarray(lo, hi)));
      }
      const hits = needle ? yield* this.textSteps(needle) : undefined;
      // One pass: the filter's rows that have the text (or a host named by it), within `where`, counted.
      count = 0;
      yield* blocks(c.size, (lo, hi) => (count += overlay(mask, hits, keep, where?.mask, lo, hi)));
    }
    const answer = { mask, count, key };
    this.masks.set(key, answer);
    if (this.masks.size > 8) this.masks.delete(this.masks.keys().next().value as string);
    return answer;
  }

  /**
   * The matching entries (default: all) in groups, for the overview: the first grouping by a key builds the
   * snapshot's group index for it (a row's group number); each call then adds up the matching rows per group.
   */
  groups(by: ColumnGroupKey | KeyColumn, filter?: Filter, where?: RowMask): Grouping {
    return groupRows(this.c, by, this.groupedRows(filter, where));
  }

  /** groups() with the event loop let run between steps (a server's answer): the same groups. */
  groupsInTurns(by: ColumnGroupKey | KeyColumn, filter?: Filter, where?: RowMask): Promise<Grouping> {
    return this.held(() => groupRowsInTurns(this.c, by, this.groupedRows(filter, where)));
  }

  private groupedRows(filter: Filter | undefined, where: RowMask | undefined): Uint32Array | undefined {
    return this.filtered(filter, where) ? this.select(filter, undefined, where) : undefined;
  }

  /** Whether a filter or row mask may leave rows out (else every row matches). */
  private filtered(filter: Filter | undefined, where: RowMask | undefined): boolean {
    return (filter !== undefined && Object.values(filter).some((v) => v !== undefined)) || where !== undefined;
  }

  /** Entries per protocol name, TCP state and family: what the console's header shows for a snapshot. */
  async summary(): Promise<SnapshotSummary> {
    return summaryOf(this.c, await this.tallies());
  }

  /** Entries and bytes per protocol (and family) and per state slot, counted once in turns. */
  tallies(): Promise<Tallies> {
    return this.held(() => inTurns(wholeTallySteps(this.c)));
  }

  count(filter?: Filter, text?: string, where?: RowMask): number {
    return this.matches(filter, text, [], where).count;
  }

  /**
   * Filter, sort and page: the cached match mask walked along the sort key's order, stopping at the page's end;
   * before that order is built, a page near the top is selected instead (see page()).
   */
  query(q: SnapshotQuery = {}): Page {
    return runAll(this.pageSteps(q));
  }

  /** Whether a page of q is selected rather than read off the whole order (when that is not built yet). */
  private selects(q: SnapshotQuery, count: number): boolean {
    return Math.min((q.offset ?? 0) + (q.limit ?? 100), count) * 4 <= this.c.size;
  }

  private *pageSteps(q: SnapshotQuery): Steps<Page> {
    const { mask, count, key } = this.matches(q.filter, q.text, q.textAddresses, q.where);
    const offset = q.offset ?? 0;
    const limit = q.limit ?? 100;
    const desc = q.order === 'desc';
    const sort = q.sort;
    if (sort) {
      const end = Math.min(offset + limit, count);
      const headKey = `${sort}\u0000${desc}\u0000${key}`;
      let head = this.heads.get(headKey);
      if (head && head.length >= end) {
        this.heads.delete(headKey);
        this.heads.set(headKey, head);
      } else if (!this.orders.has(sort) && this.selects(q, count)) {
        const columns = this.sortColumns.get(sort) ?? (yield* sortColumnsSteps(this.c, sort));
        head = yield* selectSteps(columns, mask, count, Math.max(end, HEAD_ROWS), desc);
        this.heads.set(headKey, head);
        if (this.heads.size > 8) this.heads.delete(this.heads.keys().next().value as string);
      } else {
        head = undefined;
      }
      if (head) return { matched: count, rows: Array.from(head.subarray(offset, end)) };
    }
    const order = sort ? this.order(sort) : undefined;
    return { matched: count, rows: readPage(mask, count, order, desc, offset, limit) };
  }

  /**
   * Every matching row in the query's order (offset and limit aside), a chunk at a time: what an export walks,
   * without a list of all rows. next() fills `into` with the next rows and says how many (0 at the end).
   */
  cursor(q: Omit<SnapshotQuery, 'offset' | 'limit'> = {}): RowCursor {
    const { mask, count } = this.matches(q.filter, q.text, q.textAddresses, q.where);
    const desc = q.order === 'desc';
    const order = q.sort ? this.order(q.sort) : undefined;
    const size = this.c.size;
    let i = 0;
    return {
      matched: count,
      next(into: Uint32Array): number {
        let n = 0;
        for (; i < size && n < into.length; i++) {
          const position = desc ? size - 1 - i : i;
          const row = order ? order[position] : position;
          if (mask[row]) into[n++] = row;
        }
        return n;
      },
    };
  }

  /** Row indices sorted ascending by key (ties by table order), cached per key. */
  order(key: SortKey): Uint32Array {
    let order = this.orders.get(key);
    if (!order) {
      order = orderBy(this.c, key);
      this.orders.set(key, order);
    }
    return order;
  }
}
