// Wire -> columns: fills a snapshot's typed arrays straight from dump messages, with no Connection object per
// entry. It is a second decoder of the same bytes as codec/connection.ts, so it is exactly as strict: every input
// either gives the row decodeConnection would give (on the fields a snapshot keeps) or throws CodecError, and a
// throw leaves the rows added before untouched (tests/unit/codec/snapshot-fuzz.test.ts holds it to that).
import { randomUUID } from 'node:crypto';
import * as K from '../constants';
import { CodecError } from '../errors';
import { parseAddress } from '@/lib/netlink/address';
import { decodeSeqAdj } from '../codec/seqadj';
import { decodeSynproxy } from '../codec/synproxy';
import { decodeSecctx } from '../codec/help';
import { decodeTuple } from '../codec/tuple';
import { missing } from '../codec/nest';
import { CTA_NAMES } from '../codec/names';
import type { Connection, Tuple } from '../types';
import { FAMILY_V6 as FAMILY_V6_, NO_STATE as NO_STATE_, SHAPE as SHAPE_, type Columns, type TupleZones } from './columns';
import { Snapshot, type SpareBuffers } from './snapshot';
import { runAll, type Steps } from './order';

// Imported bindings can compile to getters (CommonJS interop), which cost more than the decoding on the
// per-attribute path; the hot code reads these module-local copies (as the codecs do).
const { AF, CTA, CTA_COUNTERS, CTA_HELP, CTA_IP, CTA_PROTO, CTA_PROTOINFO, CTA_PROTOINFO_TCP, CTA_SYNPROXY_ATTR, CTA_TIMESTAMP_ATTR, CTA_TUPLE, IPPROTO, NLA_TYPE_MASK, TCP_STATES } = K;
const FAMILY_V6 = FAMILY_V6_;
const NO_STATE = NO_STATE_;
const SHAPE = SHAPE_;
const TCP_STATE_COUNT = TCP_STATES.length;

function readU16(b: Uint8Array, at: number): number {
  return (b[at] << 8) | b[at + 1];
}
function readU32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

function grow<T extends Uint8Array | Uint16Array | Uint32Array>(array: T, length: number): T {
  const next = new (array.constructor as new (n: number) => T)(length);
  next.set(array.subarray(0, Math.min(array.length, length)));
  return next;
}

function badLength(path: string[], len: number, end: number, at: number): CodecError {
  if (len < 4) return new CodecError(path, `bad length ${len}`);
  return new CodecError(path, `length ${len} runs past the end (${end - at} bytes left)`);
}
// The length checks compare inline and build the error (and its path) only when they fail: an array literal per
// attribute on the success path would cost more than the decoding.
function wrongLength(path: string[], len: number, want: number): CodecError {
  return new CodecError(path, `bad length ${len}, expected ${want}`);
}

/**
 * The name of an ICMP field attribute for an error. A function of the module, not a closure in proto(): that made
 * a function object for every ICMP tuple, which tsx (keepNames) then also named with Object.defineProperty.
 */
function icmpFieldName(v6: boolean, field: string): string {
  return v6 ? `CTA_PROTO_ICMPV6_${field}` : `CTA_PROTO_ICMP_${field}`;
}

/**
 * Whether the inside of a CTA_SYNPROXY is the plain form decodeSynproxy accepts: well-formed attributes, ISN, ITS
 * and TSOFF all present, 4 bytes each, nothing else. Anything else goes to decodeSynproxy itself, which decides
 * (and names the error), so the fast path can only be stricter than the codec, never looser.
 */
function plainSynproxy(b: Uint8Array, start: number, end: number): boolean {
  let found = 0;
  let q = start;
  while (end - q >= 4) {
    const l = b[q] | (b[q + 1] << 8);
    const t = (b[q + 2] | (b[q + 3] << 8)) & NLA_TYPE_MASK;
    if (l !== 8 || q + l > end || t < CTA_SYNPROXY_ATTR.ISN || t > CTA_SYNPROXY_ATTR.TSOFF) return false;
    found |= 1 << t;
    q += 8;
  }
  return q === end && found === 0b1110;
}

/** Bytes of IPv6 slots copied per step of trimSteps(). */
const TRIM_STEP_BYTES = 1 << 20;
/** The IPv6 slots a builder starts with (they grow by doubling), in bytes. */
const V6_START_BYTES = 16 * 64;
/**
 * The IPv6 slots a trim keeps, per slot used: the same 2 % headroom the columns get, so a later refresh of about
 * the same table reuses them without growing.
 */
const V6_HEADROOM = 1.02;

/** Bytes per row of the columns (counters 32, addr 16, ports 8, started 8, six of 4, two of 2, three of 1). */
export const ROW_BYTES = 95;

/**
 * Where a builder may find a column buffer to reuse instead of allocating one: a retired snapshot's, that no
 * reader holds any more (the console's SnapshotRegistry). Allocating ~95 MB for a million rows makes V8 run a
 * full collection for external memory pressure in that turn; a reused buffer does not.
 */
export interface ColumnBuffers {
  /**
   * A free column buffer of between `min` and `max` bytes, with the same snapshot's IPv6 slots' buffer (any size),
   * which the caller then owns; undefined when there is none.
   */
  take(min: number, max: number): SpareBuffers | undefined;
}

/**
 * A reused buffer may hold this much less than the rows asked for (callers ask with headroom for entries created
 * during the dump: a table a little larger than last time still fits), or this much more (a table much smaller
 * than last time gets a new one: no snapshot keeps far more bytes than its rows need).
 */
const REUSE_SHORTER = 1.01;
const REUSE_LONGER = 1.1;

/** The fifteen fixed-width columns as views of one buffer of `rows` rows, widest first so every view is aligned. */
function columnViews(buffer: ArrayBuffer, rows: number) {
  let at = 0;
  const take = <T>(make: { new (buffer: ArrayBuffer, offset: number, length: number): T; BYTES_PER_ELEMENT: number }, bytesPerRow: number): T => {
    const view = new make(buffer, at, (bytesPerRow * rows) / make.BYTES_PER_ELEMENT);
    at += bytesPerRow * rows;
    return view;
  };
  return {
    counters: take(Uint32Array, 32),
    addr: take(Uint32Array, 16),
    ports: take(Uint16Array, 8),
    started: take(Uint32Array, 8),
    id: take(Uint32Array, 4),
    tcpFlags: take(Uint32Array, 4),
    status: take(Uint32Array, 4),
    timeout: take(Uint32Array, 4),
    mark: take(Uint32Array, 4),
    use: take(Uint32Array, 4),
    shape: take(Uint16Array, 2),
    zone: take(Uint16Array, 2),
    family: take(Uint8Array, 1),
    protocol: take(Uint8Array, 1),
    state: take(Uint8Array, 1),
  };
}
type ColumnViews = ReturnType<typeof columnViews>;

/** Where the rows of a chunk start, so keep() can take back the rows of that chunk a filter rejects. */
export interface BuilderMark {
  row: number;
  v6: number;
}

/** Fills columns from dump messages; finish() hands them to a Snapshot and the builder is spent. */
export class SnapshotBuilder implements Columns {
  /**
   * A builder of a few rows kept for the life of the process, so that the builders' shape (V8's hidden class) never
   * dies. Optimised code holds the shapes it was compiled for weakly: while a snapshot's builder was the only
   * object of its shape, the next full collection after it was finished took the shape, and with it the compiled
   * decoder. Every snapshot after a collection then started in unoptimised code and compiled its decoder again
   * (tuple, proto, decode, keep...: 100-300 ms of a second core during a filtered snapshot of a million entries).
   */
  private static readonly shapeKeeper = new SnapshotBuilder(16);
  size = 0;
  private capacity: number;
  private readonly tableSize: number;
  private finished = false;
  id!: Uint32Array;
  family!: Uint8Array;
  protocol!: Uint8Array;
  state!: Uint8Array;
  /** Original flags << 24 | original mask << 16 | reply flags << 8 | reply mask. */
  tcpFlags!: Uint32Array;
  shape!: Uint16Array;
  status!: Uint32Array;
  addr!: Uint32Array;
  ports!: Uint16Array;
  timeout!: Uint32Array;
  mark!: Uint32Array;
  zone!: Uint16Array;
  use!: Uint32Array;
  /** Eight per row: packets and bytes original, packets and bytes reply, each as high, low 32 bits. */
  counters!: Uint32Array;
  /** Two per row: the start time in ns, high, low 32 bits. */
  started!: Uint32Array;
  v6: Uint8Array;
  v6Size = 0;
  helpers = new Map<number, string>();
  labels = new Map<number, Uint8Array>();
  tupleZones = new Map<number, TupleZones>();
  /** keep()'s room for one row's four IPv6 addresses. */
  private readonly v6Scratch = new Uint8Array(64);

  /** The one buffer the fixed-width columns are views of (the Snapshot hands it back for reuse when retired). */
  private buffer: ArrayBuffer;
  /** Whether the buffer came from `buffers` (a retired snapshot's) rather than a new allocation. */
  readonly reused: boolean;
  /**
   * Rows below this may hold an older row's bytes (a reused buffer, rows taken back by keep(), a row whose decoding
   * failed), so the slots an entry lacks are zeroed there; above it the buffer is as new (zero). Zeroing every row's
   * absent counters and start time in a new buffer touched 40 MB of pages nothing else writes at a million entries
   * without accounting: 38 MB more resident, and the snapshot 5-15 % slower.
   */
  private dirtyRows: number;

  /**
   * Columns for `expected` rows. With `buffers`, a free buffer that fits (about `expected` rows, not much fewer or
   * more) is reused; its old contents need no clearing, as every row added writes all its slots. `tableSize` (the
   * table's entry count) is for a builder that starts small, as a filtered snapshot's does: its columns double up
   * to that size, where growth by half would copy every row about three times on the way to a large result.
   */
  constructor(expected = 1024, buffers?: ColumnBuffers, tableSize = 0) {
    this.tableSize = tableSize;
    const n = Math.max(16, expected);
    // Every column a view of one buffer: one allocation instead of fifteen. V8 runs a young-generation collection
    // when a new buffer arrives while those made since the last one already hold 32 MB, so separate columns of a
    // million rows (95 MB) cost three collections in the turn that makes them (24-55 ms in that turn on a loaded
    // machine, against 1-8 ms for the one buffer).
    const free = buffers?.take(ROW_BYTES * Math.ceil(n / REUSE_SHORTER), ROW_BYTES * Math.ceil(n * REUSE_LONGER));
    this.reused = free !== undefined;
    this.buffer = free?.columns ?? new ArrayBuffer(ROW_BYTES * n);
    this.capacity = Math.floor(this.buffer.byteLength / ROW_BYTES);
    this.dirtyRows = this.reused ? this.capacity : 0;
    this.adopt(columnViews(this.buffer, this.capacity));
    // The retired snapshot's IPv6 slots as well: a table like the last one needs about as many, where new ones
    // would double their way up (some 40 MB of garbage per refresh of a mixed million-entry table). Each slot
    // added writes all its 16 bytes, and none past v6Size is read, so its old contents need no clearing either.
    this.v6 = free?.v6 && free.v6.byteLength >= V6_START_BYTES ? new Uint8Array(free.v6) : new Uint8Array(V6_START_BYTES);
  }

  private adopt(views: ColumnViews): void {
    this.counters = views.counters;
    this.addr = views.addr;
    this.ports = views.ports;
    this.started = views.started;
    this.id = views.id;
    this.tcpFlags = views.tcpFlags;
    this.status = views.status;
    this.timeout = views.timeout;
    this.mark = views.mark;
    this.use = views.use;
    this.shape = views.shape;
    this.zone = views.zone;
    this.family = views.family;
    this.protocol = views.protocol;
    this.state = views.state;
  }

  private ensure(): void {
    if (this.finished) throw new Error('SnapshotBuilder: already finished');
    if (this.size < this.capacity) return;
    // Still one buffer, so that the snapshot's columns can be handed on whole.
    // Beyond the table's size (entries created during the dump), by half again.
    const n = this.capacity < this.tableSize ? Math.min(this.capacity * 2, this.tableSize) : Math.ceil(this.capacity * 1.5);
    const buffer = new ArrayBuffer(ROW_BYTES * n);
    const views: ColumnViews = columnViews(buffer, n);
    const size = this.size;
    views.counters.set(this.counters.subarray(0, size * 8));
    views.addr.set(this.addr.subarray(0, size * 4));
    views.ports.set(this.ports.subarray(0, size * 4));
    views.started.set(this.started.subarray(0, size * 2));
    views.id.set(this.id.subarray(0, size));
    views.tcpFlags.set(this.tcpFlags.subarray(0, size));
    views.status.set(this.status.subarray(0, size));
    views.timeout.set(this.timeout.subarray(0, size));
    views.mark.set(this.mark.subarray(0, size));
    views.use.set(this.use.subarray(0, size));
    views.shape.set(this.shape.subarray(0, size));
    views.zone.set(this.zone.subarray(0, size));
    views.family.set(this.family.subarray(0, size));
    views.protocol.set(this.protocol.subarray(0, size));
    views.state.set(this.state.subarray(0, size));
    this.buffer = buffer;
    this.capacity = n;
    // The rows copied are whole; the rest of a new buffer is zero.
    this.dirtyRows = size;
    this.adopt(views);
  }

  private v6Slot(b: Uint8Array, at: number): number {
    if ((this.v6Size + 1) * 16 > this.v6.length) this.v6 = grow(this.v6, this.v6.length * 2);
    // A byte loop, not set(subarray()): a view object per address costs more than copying 16 bytes.
    const v6 = this.v6;
    const to = this.v6Size * 16;
    for (let i = 0; i < 16; i++) v6[to + i] = b[at + i];
    return this.v6Size++;
  }

  /**
   * Decodes the tuple in b[start, end) into row slots base (0 = original, 2 = reply) and returns its protocol
   * number. Mirrors decodeTuple.
   */
  private tuple(row: number, base: number, b: Uint8Array, start: number, end: number, path: string, v6: boolean): number {
    // Which of src, dst (bits 1, 2) the last CTA_TUPLE_IP had, and whether there was a CTA_TUPLE_PROTO with a number.
    let ip = 0;
    let sawIp = false;
    let protocol = -1;
    // CTA_TUPLE_ZONE, when the zone is bound to this direction (-1: none).
    let zone = -1;
    let at = start;
    while (end - at >= 4) {
      const len = b[at] | (b[at + 1] << 8);
      const type = (b[at + 2] | (b[at + 3] << 8)) & NLA_TYPE_MASK;
      if (len < 4 || at + len > end) throw badLength([path, `attribute ${type}`], len, end, at);
      const p = at + 4;
      const pend = at + len;
      if (type === CTA_TUPLE.IP) {
        sawIp = true;
        ip = 0;
        let q = p;
        while (pend - q >= 4) {
          const l = b[q] | (b[q + 1] << 8);
          const t = (b[q + 2] | (b[q + 3] << 8)) & NLA_TYPE_MASK;
          if (l < 4 || q + l > pend) throw badLength([path, 'CTA_TUPLE_IP'], l, pend, q);
          if (t >= CTA_IP.V4_SRC && t <= CTA_IP.V6_DST) {
            const isV4 = t <= CTA_IP.V4_DST;
            const dst = t === CTA_IP.V4_DST || t === CTA_IP.V6_DST;
            const name = isV4 ? (dst ? 'CTA_IP_V4_DST' : 'CTA_IP_V4_SRC') : dst ? 'CTA_IP_V6_DST' : 'CTA_IP_V6_SRC';
            if (isV4 === v6) throw new CodecError([path, 'CTA_TUPLE_IP', name], `unexpected in an ${v6 ? 'ipv6' : 'ipv4'} entry`);
            if (l - 4 !== (isV4 ? 4 : 16)) throw wrongLength([path, 'CTA_TUPLE_IP', name], l - 4, isV4 ? 4 : 16);
            this.addr[row * 4 + base + (dst ? 1 : 0)] = isV4 ? readU32(b, q + 4) : this.v6Slot(b, q + 4);
            ip |= dst ? 2 : 1;
          }
          q += (l + 3) & ~3;
        }
      } else if (type === CTA_TUPLE.PROTO) {
        protocol = this.proto(row, base, b, p, pend, path);
      } else if (type === CTA_TUPLE.ZONE) {
        if (len - 4 !== 2) throw wrongLength([path, 'CTA_TUPLE_ZONE'], len - 4, 2);
        zone = readU16(b, p);
      }
      at += (len + 3) & ~3;
    }
    if (!sawIp) throw missing('CTA_TUPLE_IP').within(path);
    if (protocol < 0) throw missing('CTA_TUPLE_PROTO').within(path);
    if (!(ip & 1)) throw missing(v6 ? 'CTA_IP_V6_SRC' : 'CTA_IP_V4_SRC').within('CTA_TUPLE_IP').within(path);
    if (!(ip & 2)) throw missing(v6 ? 'CTA_IP_V6_DST' : 'CTA_IP_V4_DST').within('CTA_TUPLE_IP').within(path);
    // A repeated tuple replaces the one before it whole, its zone (or lack of one) too, as in decodeTuple.
    this.setTupleZone(row, base, zone < 0 ? undefined : zone);
    return protocol;
  }

  /** One CTA_TUPLE_PROTO (the last one of a tuple wins whole, as in decodeTuple); returns CTA_PROTO_NUM. */
  private proto(row: number, base: number, b: Uint8Array, start: number, end: number, tuplePath: string): number {
    const sportBit = base === 0 ? SHAPE.SPORT_ORIGINAL : SHAPE.SPORT_REPLY;
    const dportBit = base === 0 ? SHAPE.DPORT_ORIGINAL : SHAPE.DPORT_REPLY;
    const icmpBit = base === 0 ? SHAPE.ICMP_ORIGINAL : SHAPE.ICMP_REPLY;
    let shape = this.shape[row] & ~(sportBit | dportBit | icmpBit);
    let num = -1;
    let sport = 0;
    let dport = 0;
    // ICMP id, type, code: -1 until seen.
    let id = -1;
    let icmpType = -1;
    let icmpCode = -1;
    let q = start;
    while (end - q >= 4) {
      const l = b[q] | (b[q + 1] << 8);
      const t = (b[q + 2] | (b[q + 3] << 8)) & NLA_TYPE_MASK;
      if (l < 4 || q + l > end) throw badLength([tuplePath, 'CTA_TUPLE_PROTO'], l, end, q);
      const v = q + 4;
      switch (t) {
        case CTA_PROTO.NUM:
          if (l - 4 !== 1) throw wrongLength([tuplePath, 'CTA_TUPLE_PROTO', 'CTA_PROTO_NUM'], l - 4, 1);
          num = b[v];
          break;
        case CTA_PROTO.SRC_PORT:
          if (l - 4 !== 2) throw wrongLength([tuplePath, 'CTA_TUPLE_PROTO', 'CTA_PROTO_SRC_PORT'], l - 4, 2);
          sport = readU16(b, v);
          shape |= sportBit;
          break;
        case CTA_PROTO.DST_PORT:
          if (l - 4 !== 2) throw wrongLength([tuplePath, 'CTA_TUPLE_PROTO', 'CTA_PROTO_DST_PORT'], l - 4, 2);
          dport = readU16(b, v);
          shape |= dportBit;
          break;
        case CTA_PROTO.ICMP_ID:
        case CTA_PROTO.ICMPV6_ID:
          if (l - 4 !== 2) throw wrongLength([tuplePath, 'CTA_TUPLE_PROTO', t === CTA_PROTO.ICMP_ID ? 'CTA_PROTO_ICMP_ID' : 'CTA_PROTO_ICMPV6_ID'], l - 4, 2);
          id = readU16(b, v);
          break;
        case CTA_PROTO.ICMP_TYPE:
        case CTA_PROTO.ICMPV6_TYPE:
          if (l - 4 !== 1) throw wrongLength([tuplePath, 'CTA_TUPLE_PROTO', t === CTA_PROTO.ICMP_TYPE ? 'CTA_PROTO_ICMP_TYPE' : 'CTA_PROTO_ICMPV6_TYPE'], l - 4, 1);
          icmpType = b[v];
          break;
        case CTA_PROTO.ICMP_CODE:
        case CTA_PROTO.ICMPV6_CODE:
          if (l - 4 !== 1) throw wrongLength([tuplePath, 'CTA_TUPLE_PROTO', t === CTA_PROTO.ICMP_CODE ? 'CTA_PROTO_ICMP_CODE' : 'CTA_PROTO_ICMPV6_CODE'], l - 4, 1);
          icmpCode = b[v];
          break;
      }
      q += (l + 3) & ~3;
    }
    if (num < 0) throw missing('CTA_PROTO_NUM').within('CTA_TUPLE_PROTO').within(tuplePath);
    const icmpV6 = num === IPPROTO.ICMPV6;
    const k = row * 4 + base;
    if (id >= 0 || icmpType >= 0 || icmpCode >= 0) {
      if (id < 0) throw missing(icmpFieldName(icmpV6, 'ID')).within('CTA_TUPLE_PROTO').within(tuplePath);
      if (icmpType < 0) throw missing(icmpFieldName(icmpV6, 'TYPE')).within('CTA_TUPLE_PROTO').within(tuplePath);
      if (icmpCode < 0) throw missing(icmpFieldName(icmpV6, 'CODE')).within('CTA_TUPLE_PROTO').within(tuplePath);
      // The port slots hold the ICMP fields, so a tuple cannot have both; the kernel never sends both.
      if (shape & (sportBit | dportBit)) throw new CodecError([tuplePath, 'CTA_TUPLE_PROTO'], 'both ports and ICMP fields');
      this.ports[k] = id;
      this.ports[k + 1] = (icmpType << 8) | icmpCode;
      shape |= icmpBit;
    } else {
      this.ports[k] = sport;
      this.ports[k + 1] = dport;
    }
    this.shape[row] = shape;
    return num;
  }

  /**
   * Adds the entry in a dump message (b[offset, offset + length): nlmsghdr 16 bytes, nfgenmsg 4, family first,
   * read in place rather than through attrsOf()/nfgenOf(), which allocate). A malformed entry is left out and
   * counted (finish() reports it): one bad entry must not cost the whole snapshot. Returns whether it was added.
   */
  addMessage(b: Uint8Array, offset: number, length: number): boolean {
    try {
      this.add(b, offset + 20, offset + length, b[offset + 16]);
      return true;
    } catch (error) {
      if (!(error instanceof CodecError)) throw error;
      this.skipped++;
      return false;
    }
  }

  /** Dump entries addMessage() left out because they did not decode. */
  skipped = 0;

  /**
   * Adds one entry from the CTA_* attributes in b[start, end) of a message whose nfgenmsg family is `family`.
   * Throws CodecError for a malformed entry and then holds exactly the rows it held before.
   */
  add(b: Uint8Array, start: number, end: number, family: number): void {
    this.ensure();
    const v6Before = this.v6Size;
    try {
      this.decode(this.size, b, start, end, family);
    } catch (error) {
      // The row's slots written before the failure stay in the buffer for the next entry to write over.
      this.dirtyRows = Math.max(this.dirtyRows, this.size + 1);
      this.v6Size = v6Before;
      this.helpers.delete(this.size);
      this.labels.delete(this.size);
      this.tupleZones.delete(this.size);
      throw error;
    }
    this.size++;
  }

  private decode(row: number, b: Uint8Array, start: number, end: number, family: number): void {
    if (family !== AF.INET && family !== AF.INET6) throw new CodecError(['nfgenmsg'], `unsupported address family ${family}`);
    const v6 = family === AF.INET6;
    this.family[row] = v6 ? FAMILY_V6 : 0;
    this.state[row] = NO_STATE;
    this.tcpFlags[row] = 0;
    this.shape[row] = 0;
    this.mark[row] = 0;
    this.zone[row] = 0;
    this.use[row] = 0;
    this.timeout[row] = 0;
    this.id[row] = 0;
    let seen = 0; // bits: 1 orig, 2 reply, 4 status, 8 counters orig, 16 counters reply
    let replyProtocol = 0;
    let at = start;
    while (end - at >= 4) {
      const len = b[at] | (b[at + 1] << 8);
      const type = (b[at + 2] | (b[at + 3] << 8)) & NLA_TYPE_MASK;
      if (len < 4 || at + len > end) throw badLength([`attribute ${type}`], len, end, at);
      const p = at + 4;
      const pend = at + len;
      const size = len - 4;
      switch (type) {
        case CTA.TUPLE_ORIG:
          this.protocol[row] = this.tuple(row, 0, b, p, pend, 'CTA_TUPLE_ORIG', v6);
          seen |= 1;
          break;
        case CTA.TUPLE_REPLY:
          replyProtocol = this.tuple(row, 2, b, p, pend, 'CTA_TUPLE_REPLY', v6);
          seen |= 2;
          break;
        case CTA.STATUS:
          if (size !== 4) throw wrongLength(['CTA_STATUS'], size, 4);
          this.status[row] = readU32(b, p);
          seen |= 4;
          break;
        case CTA.TIMEOUT:
          if (size !== 4) throw wrongLength(['CTA_TIMEOUT'], size, 4);
          this.timeout[row] = readU32(b, p);
          this.shape[row] |= SHAPE.TIMEOUT;
          break;
        case CTA.MARK:
          if (size !== 4) throw wrongLength(['CTA_MARK'], size, 4);
          this.mark[row] = readU32(b, p);
          this.shape[row] |= SHAPE.MARK;
          break;
        case CTA.USE:
          if (size !== 4) throw wrongLength(['CTA_USE'], size, 4);
          this.use[row] = readU32(b, p);
          this.shape[row] |= SHAPE.USE;
          break;
        case CTA.ID:
          if (size !== 4) throw wrongLength(['CTA_ID'], size, 4);
          this.id[row] = readU32(b, p);
          this.shape[row] |= SHAPE.ID;
          break;
        case CTA.SECMARK:
          if (size !== 4) throw wrongLength(['CTA_SECMARK'], size, 4);
          break;
        case CTA.ZONE:
          if (size !== 2) throw wrongLength(['CTA_ZONE'], size, 2);
          this.zone[row] = readU16(b, p);
          break;
        case CTA.PROTOINFO:
          this.protoinfo(row, b, p, pend);
          break;
        case CTA.COUNTERS_ORIG:
          this.counter(row * 8, b, p, pend, 'CTA_COUNTERS_ORIG');
          seen |= 8;
          break;
        case CTA.COUNTERS_REPLY:
          this.counter(row * 8 + 4, b, p, pend, 'CTA_COUNTERS_REPLY');
          seen |= 16;
          break;
        case CTA.TIMESTAMP:
          this.timestamp(row, b, p, pend);
          break;
        case CTA.HELP:
          this.help(row, b, p, pend);
          break;
        case CTA.LABELS:
          // A copy as a plain Uint8Array (Buffer#slice would alias the receive buffer), as attrBytes does.
          this.labels.set(row, new Uint8Array(b.subarray(p, pend)));
          break;
        case CTA.TIMESTAMP_EVENT:
          if (size !== 8) throw wrongLength(['CTA_TIMESTAMP_EVENT'], size, 8);
          break;
        // Not kept in a snapshot, but checked as strictly as the codecs check them; rare enough to decode.
        case CTA.TUPLE_MASTER:
        case CTA.SECCTX:
        case CTA.SEQ_ADJ_ORIG:
        case CTA.SEQ_ADJ_REPLY:
          this.check(type, b, p, pend, v6);
          break;
        case CTA.SYNPROXY:
          // Every entry created through ctnetlink carries the synproxy extension, so this one is common.
          if (!plainSynproxy(b, p, pend)) this.check(type, b, p, pend, v6);
          break;
      }
      at += (len + 3) & ~3;
    }
    if (!(seen & 1)) throw missing('CTA_TUPLE_ORIG');
    if (!(seen & 2)) throw missing('CTA_TUPLE_REPLY');
    // One protocol column serves both directions; the kernel never sends two.
    if (replyProtocol !== this.protocol[row]) {
      throw new CodecError(['CTA_TUPLE_REPLY', 'CTA_TUPLE_PROTO', 'CTA_PROTO_NUM'], `protocol ${replyProtocol} differs from the original direction's ${this.protocol[row]}`);
    }
    if (!(seen & 4)) throw missing('CTA_STATUS');
    if (((seen >> 3) & 3) === 1) throw missing('CTA_COUNTERS_REPLY');
    if (((seen >> 3) & 3) === 2) throw missing('CTA_COUNTERS_ORIG');
    if (seen & 8) this.shape[row] |= SHAPE.COUNTERS;
    else if (row < this.dirtyRows) this.noCounters(row);
    if (!(this.shape[row] & SHAPE.TIMESTAMP) && row < this.dirtyRows) this.noStart(row);
  }

  // Below dirtyRows the buffer holds older rows: the slots an entry may lack are zeroed, as in a new buffer (the
  // orders read them whatever the shape says).
  private noCounters(row: number): void {
    const c = this.counters;
    const k = row * 8;
    c[k] = c[k + 1] = c[k + 2] = c[k + 3] = c[k + 4] = c[k + 5] = c[k + 6] = c[k + 7] = 0;
  }

  private noStart(row: number): void {
    this.started[row * 2] = 0;
    this.started[row * 2 + 1] = 0;
  }

  /**
   * Decodes one attribute a snapshot does not keep with its codec, for the codec's checks. Its arguments, not a
   * closure: a closure in decode() would put b, p, pend and v6 in a heap context, allocated for every entry and
   * every attribute of it whether or not a rare attribute comes (in the server's bundle, ~500 bytes per entry).
   */
  private check(type: number, b: Uint8Array, start: number, end: number, v6: boolean): void {
    try {
      if (type === CTA.TUPLE_MASTER) decodeTuple(b, start, end, v6 ? 'ipv6' : 'ipv4');
      else if (type === CTA.SECCTX) decodeSecctx(b, start, end);
      else if (type === CTA.SEQ_ADJ_ORIG || type === CTA.SEQ_ADJ_REPLY) decodeSeqAdj(b, start, end);
      else decodeSynproxy(b, start, end);
    } catch (error) {
      if (error instanceof CodecError) throw error.within(CTA_NAMES[type]);
      throw error;
    }
  }

  /** CTA_PROTOINFO: the last one wins whole, and so does the last CTA_PROTOINFO_TCP in it (as in decodeProtoInfo). */
  private protoinfo(row: number, b: Uint8Array, start: number, end: number): void {
    this.state[row] = NO_STATE;
    this.tcpFlags[row] = 0;
    this.shape[row] &= ~(SHAPE.FLAGS_ORIGINAL | SHAPE.FLAGS_REPLY);
    let at = start;
    while (end - at >= 4) {
      const len = b[at] | (b[at + 1] << 8);
      const type = (b[at + 2] | (b[at + 3] << 8)) & NLA_TYPE_MASK;
      if (len < 4 || at + len > end) throw badLength(['CTA_PROTOINFO', `attribute ${type}`], len, end, at);
      if (type === CTA_PROTOINFO.TCP) {
        let state = -1;
        let flags = 0;
        let shape = this.shape[row] & ~(SHAPE.FLAGS_ORIGINAL | SHAPE.FLAGS_REPLY);
        let q = at + 4;
        const qend = at + len;
        while (qend - q >= 4) {
          const l = b[q] | (b[q + 1] << 8);
          const t = (b[q + 2] | (b[q + 3] << 8)) & NLA_TYPE_MASK;
          if (l < 4 || q + l > qend) throw badLength(['CTA_PROTOINFO', 'CTA_PROTOINFO_TCP'], l, qend, q);
          switch (t) {
            case CTA_PROTOINFO_TCP.STATE:
              if (l - 4 !== 1) throw wrongLength(['CTA_PROTOINFO', 'CTA_PROTOINFO_TCP', 'CTA_PROTOINFO_TCP_STATE'], l - 4, 1);
              state = b[q + 4];
              if (state >= TCP_STATE_COUNT) throw new CodecError(['CTA_PROTOINFO', 'CTA_PROTOINFO_TCP', 'CTA_PROTOINFO_TCP_STATE'], `unknown TCP state ${state}`);
              break;
            case CTA_PROTOINFO_TCP.WSCALE_ORIGINAL:
              if (l - 4 !== 1) throw wrongLength(['CTA_PROTOINFO', 'CTA_PROTOINFO_TCP', 'CTA_PROTOINFO_TCP_WSCALE_ORIGINAL'], l - 4, 1);
              break;
            case CTA_PROTOINFO_TCP.WSCALE_REPLY:
              if (l - 4 !== 1) throw wrongLength(['CTA_PROTOINFO', 'CTA_PROTOINFO_TCP', 'CTA_PROTOINFO_TCP_WSCALE_REPLY'], l - 4, 1);
              break;
            case CTA_PROTOINFO_TCP.FLAGS_ORIGINAL:
              if (l - 4 !== 2) throw wrongLength(['CTA_PROTOINFO', 'CTA_PROTOINFO_TCP', 'CTA_PROTOINFO_TCP_FLAGS_ORIGINAL'], l - 4, 2);
              flags = ((flags & 0xffff) | (b[q + 4] << 24) | (b[q + 5] << 16)) >>> 0;
              shape |= SHAPE.FLAGS_ORIGINAL;
              break;
            case CTA_PROTOINFO_TCP.FLAGS_REPLY:
              if (l - 4 !== 2) throw wrongLength(['CTA_PROTOINFO', 'CTA_PROTOINFO_TCP', 'CTA_PROTOINFO_TCP_FLAGS_REPLY'], l - 4, 2);
              flags = ((flags & 0xffff0000) | (b[q + 4] << 8) | b[q + 5]) >>> 0;
              shape |= SHAPE.FLAGS_REPLY;
              break;
          }
          q += (l + 3) & ~3;
        }
        if (state < 0) throw missing('CTA_PROTOINFO_TCP_STATE').within('CTA_PROTOINFO_TCP').within('CTA_PROTOINFO');
        this.state[row] = state;
        this.tcpFlags[row] = flags;
        this.shape[row] = shape;
      }
      at += (len + 3) & ~3;
    }
  }

  /** One CTA_COUNTERS_* nest into counters[slot, slot + 4): PACKETS and BYTES, both required, as in decodeCounter. */
  private counter(slot: number, b: Uint8Array, start: number, end: number, segment: string): void {
    let found = 0;
    let q = start;
    while (end - q >= 4) {
      const l = b[q] | (b[q + 1] << 8);
      const t = (b[q + 2] | (b[q + 3] << 8)) & NLA_TYPE_MASK;
      if (l < 4 || q + l > end) throw badLength([segment, `attribute ${t}`], l, end, q);
      if (t === CTA_COUNTERS.PACKETS || t === CTA_COUNTERS.BYTES) {
        const packets = t === CTA_COUNTERS.PACKETS;
        if (l - 4 !== 8) throw wrongLength([segment, packets ? 'CTA_COUNTERS_PACKETS' : 'CTA_COUNTERS_BYTES'], l - 4, 8);
        const k = slot + (packets ? 0 : 2);
        this.counters[k] = readU32(b, q + 4);
        this.counters[k + 1] = readU32(b, q + 8);
        found |= packets ? 1 : 2;
      }
      q += (l + 3) & ~3;
    }
    if (!(found & 1)) throw missing('CTA_COUNTERS_PACKETS').within(segment);
    if (!(found & 2)) throw missing('CTA_COUNTERS_BYTES').within(segment);
  }

  /** CTA_TIMESTAMP: START required, STOP optional, both be64 (as in decodeTimestamp). */
  private timestamp(row: number, b: Uint8Array, start: number, end: number): void {
    let found = false;
    let q = start;
    while (end - q >= 4) {
      const l = b[q] | (b[q + 1] << 8);
      const t = (b[q + 2] | (b[q + 3] << 8)) & NLA_TYPE_MASK;
      if (l < 4 || q + l > end) throw badLength(['CTA_TIMESTAMP', `attribute ${t}`], l, end, q);
      if (t === CTA_TIMESTAMP_ATTR.START) {
        if (l - 4 !== 8) throw wrongLength(['CTA_TIMESTAMP', 'CTA_TIMESTAMP_START'], l - 4, 8);
        this.started[row * 2] = readU32(b, q + 4);
        this.started[row * 2 + 1] = readU32(b, q + 8);
        found = true;
      } else if (t === CTA_TIMESTAMP_ATTR.STOP) {
        if (l - 4 !== 8) throw wrongLength(['CTA_TIMESTAMP', 'CTA_TIMESTAMP_STOP'], l - 4, 8);
      }
      q += (l + 3) & ~3;
    }
    if (!found) throw missing('CTA_TIMESTAMP_START').within('CTA_TIMESTAMP');
    this.shape[row] |= SHAPE.TIMESTAMP;
  }

  /** CTA_HELP: the name up to its NUL (a later CTA_HELP without a name keeps the earlier one, as in decodeConnection). */
  private help(row: number, b: Uint8Array, start: number, end: number): void {
    let q = start;
    while (end - q >= 4) {
      const l = b[q] | (b[q + 1] << 8);
      const t = (b[q + 2] | (b[q + 3] << 8)) & NLA_TYPE_MASK;
      if (l < 4 || q + l > end) throw badLength(['CTA_HELP', `attribute ${t}`], l, end, q);
      if (t === CTA_HELP.NAME) {
        let e = q + 4;
        while (e < q + l && b[e] !== 0) e++;
        this.helpers.set(row, Buffer.from(b.buffer, b.byteOffset + q + 4, e - q - 4).toString('utf8'));
      }
      q += (l + 3) & ~3;
    }
  }

  /** Adds a decoded Connection as a row (the evaluator's input for a single connection). */
  addConnection(connection: Connection): void {
    this.ensure();
    const row = this.size;
    const v6 = connection.family === 'ipv6';
    this.family[row] = v6 ? FAMILY_V6 : 0;
    this.protocol[row] = connection.original.protocol;
    let shape = 0;
    const tuple = (t: Tuple, base: number) => {
      for (const [k, text] of [t.src, t.dst].entries()) {
        const bytes = parseAddress(text)?.bytes ?? new Uint8Array(v6 ? 16 : 4);
        this.addr[row * 4 + base + k] = v6 ? this.v6Slot(bytes, 0) : readU32(bytes, 0);
      }
      const i = row * 4 + base;
      if (t.icmp) {
        this.ports[i] = t.icmp.id;
        this.ports[i + 1] = (t.icmp.type << 8) | t.icmp.code;
        shape |= base ? SHAPE.ICMP_REPLY : SHAPE.ICMP_ORIGINAL;
      } else {
        this.ports[i] = t.sport ?? 0;
        this.ports[i + 1] = t.dport ?? 0;
        if (t.sport !== undefined) shape |= base ? SHAPE.SPORT_REPLY : SHAPE.SPORT_ORIGINAL;
        if (t.dport !== undefined) shape |= base ? SHAPE.DPORT_REPLY : SHAPE.DPORT_ORIGINAL;
      }
    };
    tuple(connection.original, 0);
    tuple(connection.reply, 2);
    const tcp = connection.protoinfo?.tcp;
    this.state[row] = tcp ? TCP_STATES.indexOf(tcp.state) : NO_STATE;
    this.tcpFlags[row] = tcp
      ? (((tcp.flagsOriginal?.flags ?? 0) << 24) | ((tcp.flagsOriginal?.mask ?? 0) << 16) | ((tcp.flagsReply?.flags ?? 0) << 8) | (tcp.flagsReply?.mask ?? 0)) >>> 0
      : 0;
    this.status[row] = connection.status;
    this.timeout[row] = connection.timeout ?? 0;
    this.mark[row] = connection.mark ?? 0;
    this.zone[row] = connection.zone;
    this.use[row] = connection.use ?? 0;
    this.id[row] = connection.id ?? 0;
    if (connection.mark !== undefined) shape |= SHAPE.MARK;
    if (connection.id !== undefined) shape |= SHAPE.ID;
    if (connection.use !== undefined) shape |= SHAPE.USE;
    if (connection.timeout !== undefined) shape |= SHAPE.TIMEOUT;
    const u64 = (column: Uint32Array, k: number, value: bigint) => {
      column[k] = Number(value >> 32n);
      column[k + 1] = Number(value & 0xffffffffn);
    };
    if (connection.counters) {
      shape |= SHAPE.COUNTERS;
      u64(this.counters, row * 8, connection.counters.original.packets);
      u64(this.counters, row * 8 + 2, connection.counters.original.bytes);
      u64(this.counters, row * 8 + 4, connection.counters.reply.packets);
      u64(this.counters, row * 8 + 6, connection.counters.reply.bytes);
    } else if (row < this.dirtyRows) {
      this.noCounters(row);
    }
    if (connection.timestamp) {
      shape |= SHAPE.TIMESTAMP;
      u64(this.started, row * 2, connection.timestamp.start);
    } else if (row < this.dirtyRows) {
      this.noStart(row);
    }
    this.shape[row] = shape;
    if (connection.helper !== undefined) this.helpers.set(row, connection.helper);
    if (connection.labels) this.labels.set(row, connection.labels);
    if (connection.original.zone !== undefined) this.setTupleZone(row, 0, connection.original.zone);
    if (connection.reply.zone !== undefined) this.setTupleZone(row, 2, connection.reply.zone);
    this.size++;
  }

  private setTupleZone(row: number, base: number, zone: number | undefined): void {
    // Zones bound to one direction are rare: most rows never touch the map.
    if (zone === undefined && this.tupleZones.size === 0) return;
    const zones = this.tupleZones.get(row);
    if (zone === undefined && !zones) return;
    const next: TupleZones = { ...zones, [base ? 'reply' : 'original']: zone };
    if (next.original === undefined) delete next.original;
    if (next.reply === undefined) delete next.reply;
    if (next.original === undefined && next.reply === undefined) this.tupleZones.delete(row);
    else this.tupleZones.set(row, next);
  }

  /** Where the next row goes: pass it to keep() after adding a chunk of rows. */
  checkpoint(): BuilderMark {
    return { row: this.size, v6: this.v6Size };
  }

  /**
   * Keeps only the rows since `from` whose entry in `keep` (indexed from `from`) is 1, moving them down in order;
   * a filter the kernel could not apply is evaluated a chunk at a time this way.
   */
  keep(from: BuilderMark, keep: Uint8Array): void {
    // Helpers, labels and one-direction zones are maps by row, and most tables have none at all: a map lookup per
    // row moved cost more than moving its columns.
    const sparse = this.helpers.size > 0 || this.labels.size > 0 || this.tupleZones.size > 0;
    const { family, addr } = this;
    let w = from.row;
    let v6 = from.v6;
    for (let r = from.row; r < this.size; r++) {
      if (!keep[r - from.row]) {
        if (sparse) this.moveSparse(r, -1);
        continue;
      }
      if (family[r] === FAMILY_V6) {
        // A row's slots are in attribute order, not k order, and may sit above or below where they go: gather its
        // four addresses before writing them down.
        const slots = this.v6;
        const scratch = this.v6Scratch;
        for (let k = 0; k < 4; k++) {
          const at = addr[r * 4 + k] * 16;
          for (let i = 0; i < 16; i++) scratch[k * 16 + i] = slots[at + i];
        }
        for (let k = 0; k < 4; k++) {
          const to = v6 * 16;
          for (let i = 0; i < 16; i++) slots[to + i] = scratch[k * 16 + i];
          addr[r * 4 + k] = v6++;
        }
      }
      if (w !== r) {
        this.moveRow(r, w);
        if (sparse) this.moveSparse(r, w);
      }
      w++;
    }
    // Rows [w, size) were taken back: later entries write over their bytes.
    this.dirtyRows = Math.max(this.dirtyRows, this.size);
    this.size = w;
    this.v6Size = v6;
  }

  /** A row's fixed-width slots copied down, one element at a time (a copyWithin call per column cost more). */
  private moveRow(from: number, to: number): void {
    this.id[to] = this.id[from];
    this.family[to] = this.family[from];
    this.protocol[to] = this.protocol[from];
    this.state[to] = this.state[from];
    this.tcpFlags[to] = this.tcpFlags[from];
    this.shape[to] = this.shape[from];
    this.status[to] = this.status[from];
    this.timeout[to] = this.timeout[from];
    this.mark[to] = this.mark[from];
    this.zone[to] = this.zone[from];
    this.use[to] = this.use[from];
    const { addr, ports, counters, started } = this;
    for (let k = 0; k < 4; k++) addr[to * 4 + k] = addr[from * 4 + k];
    for (let k = 0; k < 4; k++) ports[to * 4 + k] = ports[from * 4 + k];
    for (let k = 0; k < 8; k++) counters[to * 8 + k] = counters[from * 8 + k];
    started[to * 2] = started[from * 2];
    started[to * 2 + 1] = started[from * 2 + 1];
  }

  /** A row's helper, labels and tuple zones moved to row `to`, or dropped when `to` is -1. */
  private moveSparse(from: number, to: number): void {
    const helper = this.helpers.get(from);
    const labels = this.labels.get(from);
    const zones = this.tupleZones.get(from);
    this.helpers.delete(from);
    this.labels.delete(from);
    this.tupleZones.delete(from);
    if (to < 0) return;
    if (helper !== undefined) this.helpers.set(to, helper);
    if (labels) this.labels.set(to, labels);
    if (zones) this.tupleZones.set(to, zones);
  }

  /** Empties the builder for reuse (a one-row scratch table). */
  clear(): void {
    this.size = 0;
    this.v6Size = 0;
    this.helpers.clear();
    this.labels.clear();
    this.tupleZones.clear();
  }

  /**
   * Gives back the unused part of the IPv6 slots when it is large (they grow by doubling; the other columns are
   * sized from the table's count up front): a copy of the used part and V6_HEADROOM, a step per TRIM_STEP_BYTES
   * (ten megabytes at a million rows, several milliseconds in one turn). finish() does what is left in one go.
   */
  *trimSteps(): Steps<void> {
    const used = this.v6Size * 16;
    const kept = Math.ceil(this.v6Size * V6_HEADROOM) * 16;
    if (this.v6.length <= 65536 || kept >= this.v6.length * 0.75) return;
    const trimmed = new Uint8Array(kept);
    for (let at = 0; at < used; at += TRIM_STEP_BYTES) {
      if (at) yield;
      trimmed.set(this.v6.subarray(at, Math.min(used, at + TRIM_STEP_BYTES)), at);
    }
    this.v6 = trimmed;
  }

  /** The finished, read-only Snapshot; the builder cannot be used after this. */
  finish(meta: { takenAt: Date; tookMs: number }): Snapshot {
    if (this.finished) throw new Error('SnapshotBuilder: already finished');
    this.finished = true;
    runAll(this.trimSteps());
    const columns: Columns = Object.freeze({
      size: this.size,
      id: this.id,
      family: this.family,
      protocol: this.protocol,
      state: this.state,
      tcpFlags: this.tcpFlags,
      shape: this.shape,
      status: this.status,
      addr: this.addr,
      ports: this.ports,
      timeout: this.timeout,
      mark: this.mark,
      zone: this.zone,
      use: this.use,
      counters: this.counters,
      started: this.started,
      v6: this.v6,
      helpers: this.helpers,
      labels: this.labels,
      tupleZones: this.tupleZones,
    });
    return new Snapshot(columns, { id: randomUUID(), takenAt: meta.takenAt, tookMs: meta.tookMs, total: this.size, skipped: this.skipped }, { buffer: this.buffer, v6: this.v6.buffer as ArrayBuffer, reused: this.reused });
  }
}
