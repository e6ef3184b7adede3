// A snapshot of the table in columns: typed arrays, one slot per entry, no JS object per entry.
// It is filled straight from dump messages (no intermediate Connection objects) and answers the console's
// questions - filter, sort, page, count - many times over without going back to the kernel.
import { randomUUID } from 'node:crypto';
import * as K from './constants';
import { CodecError } from './errors';
import { ipv4PrefixMask, prefixContains, type Prefix } from './address';
import type { Filter, PortRange } from './filter';
import type { Connection, Family, Tuple } from './types';
import { formatIPv6 as formatIPv6Import } from './codec/address';

// Imported bindings can compile to getters (CommonJS interop), which cost more than the decoding on the
// per-attribute path; the hot code reads these module-local copies (as the codecs do).
const { CTA, CTA_COUNTERS, IPS, PROTOCOL_NAMES, CTA_HELP, CTA_IP, CTA_PROTO, CTA_PROTOINFO, CTA_PROTOINFO_TCP, CTA_TIMESTAMP_ATTR, CTA_TUPLE, IPPROTO, NLA_TYPE_MASK, TCP_STATES } = K;
const formatIPv6 = formatIPv6Import;

const NO_STATE = 0xff;
const FAMILY_V6 = 1;

/** Columns a snapshot can be sorted by. */
export const SORT_KEYS = [
  'id',
  'family',
  'protocol',
  'src',
  'dst',
  'sport',
  'dport',
  'replySrc',
  'replyDst',
  'replySport',
  'replyDport',
  'state',
  'status',
  'timeout',
  'mark',
  'zone',
  'use',
  'packetsOriginal',
  'bytesOriginal',
  'packetsReply',
  'bytesReply',
  'packets',
  'bytes',
  'startedAt',
] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export interface SnapshotInfo {
  id: string;
  takenAt: Date;
  tookMs: number;
  total: number;
}

function readU16(b: Uint8Array, at: number): number {
  return (b[at] << 8) | b[at + 1];
}
function readU32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}
function readU64(b: Uint8Array, at: number): number {
  return readU32(b, at) * 4294967296 + readU32(b, at + 4);
}

function grow<T extends Uint8Array | Uint16Array | Uint32Array | Float64Array>(array: T, length: number): T {
  const next = new (array.constructor as new (n: number) => T)(length);
  next.set(array);
  return next;
}

/** Fills columns from dump messages. */
export class SnapshotBuilder {
  size = 0;
  private capacity: number;
  id: Uint32Array;
  family: Uint8Array;
  protocol: Uint8Array;
  state: Uint8Array;
  /** TCP flags: original << 8 | reply. */
  tcpFlags: Uint16Array;
  status: Uint32Array;
  /** Four per row (orig src, orig dst, reply src, reply dst): the IPv4 address, or for IPv6 a slot in v6. */
  addr: Uint32Array;
  /** Four per row: orig sport, orig dport, reply sport, reply dport; ICMP: id, type << 8 | code. */
  ports: Uint16Array;
  timeout: Uint32Array;
  mark: Uint32Array;
  zone: Uint16Array;
  use: Uint32Array;
  /** Four per row: packets/bytes original, packets/bytes reply; NaN when accounting is off. */
  counters: Float64Array;
  /** Start time, ms since the epoch; NaN when timestamps are off. */
  started: Float64Array;
  v6: Uint8Array;
  v6Size = 0;
  helpers = new Map<number, string>();
  labels = new Map<number, Uint8Array>();
  private v6Before = 0;

  constructor(expected = 1024) {
    const n = Math.max(16, expected);
    this.capacity = n;
    this.id = new Uint32Array(n);
    this.family = new Uint8Array(n);
    this.protocol = new Uint8Array(n);
    this.state = new Uint8Array(n);
    this.tcpFlags = new Uint16Array(n);
    this.status = new Uint32Array(n);
    this.addr = new Uint32Array(n * 4);
    this.ports = new Uint16Array(n * 4);
    this.timeout = new Uint32Array(n);
    this.mark = new Uint32Array(n);
    this.zone = new Uint16Array(n);
    this.use = new Uint32Array(n);
    this.counters = new Float64Array(n * 4);
    this.started = new Float64Array(n);
    this.v6 = new Uint8Array(16 * 64);
  }

  private ensure(): void {
    if (this.size < this.capacity) return;
    const n = Math.ceil(this.capacity * 1.5);
    this.capacity = n;
    this.id = grow(this.id, n);
    this.family = grow(this.family, n);
    this.protocol = grow(this.protocol, n);
    this.state = grow(this.state, n);
    this.tcpFlags = grow(this.tcpFlags, n);
    this.status = grow(this.status, n);
    this.addr = grow(this.addr, n * 4);
    this.ports = grow(this.ports, n * 4);
    this.timeout = grow(this.timeout, n);
    this.mark = grow(this.mark, n);
    this.zone = grow(this.zone, n);
    this.use = grow(this.use, n);
    this.counters = grow(this.counters, n * 4);
    this.started = grow(this.started, n);
  }

  private v6Slot(b: Uint8Array, at: number): number {
    if ((this.v6Size + 1) * 16 > this.v6.length) this.v6 = grow(this.v6, this.v6.length * 2);
    this.v6.set(b.subarray(at, at + 16), this.v6Size * 16);
    return this.v6Size++;
  }

  /** Decodes the tuple in b[start, end) into row slots base (0 = original, 2 = reply). */
  private tuple(row: number, base: number, b: Uint8Array, start: number, end: number, path: string): void {
    let at = start;
    while (end - at >= 4) {
      const len = b[at] | (b[at + 1] << 8);
      const type = (b[at + 2] | (b[at + 3] << 8)) & NLA_TYPE_MASK;
      if (len < 4 || at + len > end) throw new CodecError([path, `attribute ${type}`], `bad length ${len}`);
      const p = at + 4;
      const pend = at + len;
      if (type === CTA_TUPLE.IP) {
        let q = p;
        while (pend - q >= 4) {
          const l = b[q] | (b[q + 1] << 8);
          const t = (b[q + 2] | (b[q + 3] << 8)) & NLA_TYPE_MASK;
          if (l < 4 || q + l > pend) throw new CodecError([path, 'CTA_TUPLE_IP'], `bad length ${l}`);
          const slot = row * 4 + base + (t === CTA_IP.V4_DST || t === CTA_IP.V6_DST ? 1 : 0);
          if (t === CTA_IP.V4_SRC || t === CTA_IP.V4_DST) {
            if (l !== 8) throw new CodecError([path, 'CTA_TUPLE_IP', t === CTA_IP.V4_SRC ? 'CTA_IP_V4_SRC' : 'CTA_IP_V4_DST'], `bad length ${l - 4}, expected 4`);
            this.addr[slot] = readU32(b, q + 4);
          } else if (t === CTA_IP.V6_SRC || t === CTA_IP.V6_DST) {
            if (l !== 20) throw new CodecError([path, 'CTA_TUPLE_IP', t === CTA_IP.V6_SRC ? 'CTA_IP_V6_SRC' : 'CTA_IP_V6_DST'], `bad length ${l - 4}, expected 16`);
            this.addr[slot] = this.v6Slot(b, q + 4);
          }
          q += (l + 3) & ~3;
        }
      } else if (type === CTA_TUPLE.PROTO) {
        let q = p;
        let icmpType = 0;
        let icmpCode = 0;
        let icmp = false;
        while (pend - q >= 4) {
          const l = b[q] | (b[q + 1] << 8);
          const t = (b[q + 2] | (b[q + 3] << 8)) & NLA_TYPE_MASK;
          if (l < 4 || q + l > pend) throw new CodecError([path, 'CTA_TUPLE_PROTO'], `bad length ${l}`);
          const v = q + 4;
          switch (t) {
            case CTA_PROTO.NUM:
              if (base === 0) this.protocol[row] = b[v];
              break;
            case CTA_PROTO.SRC_PORT:
            case CTA_PROTO.ICMP_ID:
            case CTA_PROTO.ICMPV6_ID:
              this.ports[row * 4 + base] = readU16(b, v);
              break;
            case CTA_PROTO.DST_PORT:
              this.ports[row * 4 + base + 1] = readU16(b, v);
              break;
            case CTA_PROTO.ICMP_TYPE:
            case CTA_PROTO.ICMPV6_TYPE:
              icmpType = b[v];
              icmp = true;
              break;
            case CTA_PROTO.ICMP_CODE:
            case CTA_PROTO.ICMPV6_CODE:
              icmpCode = b[v];
              icmp = true;
              break;
          }
          q += (l + 3) & ~3;
        }
        if (icmp) this.ports[row * 4 + base + 1] = (icmpType << 8) | icmpCode;
      }
      at += (len + 3) & ~3;
    }
  }

  /** Adds one entry from the CTA_* attributes in b[start, end). */
  add(b: Uint8Array, start: number, end: number, family: number): void {
    this.ensure();
    const row = this.size;
    this.v6Before = this.v6Size;
    this.family[row] = family === 10 ? FAMILY_V6 : 0;
    this.state[row] = NO_STATE;
    this.tcpFlags[row] = 0;
    this.mark[row] = 0;
    this.zone[row] = 0;
    this.use[row] = 0;
    this.timeout[row] = 0;
    this.id[row] = 0;
    this.counters.fill(NaN, row * 4, row * 4 + 4);
    this.started[row] = NaN;
    let at = start;
    while (end - at >= 4) {
      const len = b[at] | (b[at + 1] << 8);
      const type = (b[at + 2] | (b[at + 3] << 8)) & NLA_TYPE_MASK;
      if (len < 4 || at + len > end) throw new CodecError([`attribute ${type}`], `bad length ${len}`);
      const p = at + 4;
      const pend = at + len;
      switch (type) {
        case CTA.TUPLE_ORIG:
          this.tuple(row, 0, b, p, pend, 'CTA_TUPLE_ORIG');
          break;
        case CTA.TUPLE_REPLY:
          this.tuple(row, 2, b, p, pend, 'CTA_TUPLE_REPLY');
          break;
        case CTA.STATUS:
          this.status[row] = readU32(b, p);
          break;
        case CTA.TIMEOUT:
          this.timeout[row] = readU32(b, p);
          break;
        case CTA.MARK:
          this.mark[row] = readU32(b, p);
          break;
        case CTA.USE:
          this.use[row] = readU32(b, p);
          break;
        case CTA.ID:
          this.id[row] = readU32(b, p);
          break;
        case CTA.ZONE:
          this.zone[row] = readU16(b, p);
          break;
        case CTA.PROTOINFO:
          this.protoinfo(row, b, p, pend);
          break;
        case CTA.COUNTERS_ORIG:
        case CTA.COUNTERS_REPLY:
          this.counter(row * 4 + (type === CTA.COUNTERS_ORIG ? 0 : 2), b, p, pend);
          break;
        case CTA.TIMESTAMP: {
          let q = p;
          while (pend - q >= 12) {
            const l = b[q] | (b[q + 1] << 8);
            const t = (b[q + 2] | (b[q + 3] << 8)) & NLA_TYPE_MASK;
            if (t === CTA_TIMESTAMP_ATTR.START && l === 12) this.started[row] = readU64(b, q + 4) / 1e6;
            q += (l + 3) & ~3;
          }
          break;
        }
        case CTA.HELP: {
          let q = p;
          while (pend - q >= 4) {
            const l = b[q] | (b[q + 1] << 8);
            const t = (b[q + 2] | (b[q + 3] << 8)) & NLA_TYPE_MASK;
            if (l < 4) break;
            if (t === CTA_HELP.NAME) {
              let e = q + l;
              const nul = b.indexOf(0, q + 4);
              if (nul >= 0 && nul < e) e = nul;
              this.helpers.set(row, Buffer.from(b.buffer, b.byteOffset + q + 4, e - q - 4).toString('utf8'));
            }
            q += (l + 3) & ~3;
          }
          break;
        }
        case CTA.LABELS:
          this.labels.set(row, b.slice(p, pend));
          break;
      }
      at += (len + 3) & ~3;
    }
    this.size++;
  }

  private protoinfo(row: number, b: Uint8Array, start: number, end: number): void {
    let at = start;
    while (end - at >= 4) {
      const len = b[at] | (b[at + 1] << 8);
      const type = (b[at + 2] | (b[at + 3] << 8)) & NLA_TYPE_MASK;
      if (len < 4 || at + len > end) throw new CodecError(['CTA_PROTOINFO'], `bad length ${len}`);
      if (type === CTA_PROTOINFO.TCP) {
        let q = at + 4;
        const qend = at + len;
        while (qend - q >= 4) {
          const l = b[q] | (b[q + 1] << 8);
          const t = (b[q + 2] | (b[q + 3] << 8)) & NLA_TYPE_MASK;
          if (l < 4 || q + l > qend) throw new CodecError(['CTA_PROTOINFO', 'CTA_PROTOINFO_TCP'], `bad length ${l}`);
          if (t === CTA_PROTOINFO_TCP.STATE) this.state[row] = b[q + 4];
          else if (t === CTA_PROTOINFO_TCP.FLAGS_ORIGINAL) this.tcpFlags[row] |= b[q + 4] << 8;
          else if (t === CTA_PROTOINFO_TCP.FLAGS_REPLY) this.tcpFlags[row] |= b[q + 4];
          q += (l + 3) & ~3;
        }
      }
      at += (len + 3) & ~3;
    }
  }

  private counter(slot: number, b: Uint8Array, start: number, end: number): void {
    let q = start;
    while (end - q >= 12) {
      const l = b[q] | (b[q + 1] << 8);
      const t = (b[q + 2] | (b[q + 3] << 8)) & NLA_TYPE_MASK;
      if (l === 12 && t === CTA_COUNTERS.PACKETS) this.counters[slot] = readU64(b, q + 4);
      else if (l === 12 && t === CTA_COUNTERS.BYTES) this.counters[slot + 1] = readU64(b, q + 4);
      q += (l + 3) & ~3;
    }
  }

  /** Takes back the row added last (it did not match a filter the kernel could not apply). */
  dropLast(): void {
    this.size--;
    this.v6Size = this.v6Before;
    this.helpers.delete(this.size);
    this.labels.delete(this.size);
  }

  /** A Snapshot over the rows added so far, for testing rows while filling. */
  view(): Snapshot {
    return new Snapshot(this, { id: 'building', takenAt: new Date(), tookMs: 0, total: this.size });
  }

  finish(meta: { takenAt: Date; tookMs: number }): Snapshot {
    return new Snapshot(this, { id: randomUUID(), takenAt: meta.takenAt, tookMs: meta.tookMs, total: this.size });
  }
}

const PORTED = new Set<number>([IPPROTO.TCP, IPPROTO.UDP, IPPROTO.UDPLITE, IPPROTO.SCTP, IPPROTO.DCCP]);
const ICMPS = new Set<number>([IPPROTO.ICMP, IPPROTO.ICMPV6]);

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
  sort?: SortKey;
  order?: 'asc' | 'desc';
  offset?: number;
  limit?: number;
}

/** How many entries of each kind a snapshot holds (zero counts left out). */
export interface SnapshotSummary {
  /** By protocol name (tcp, udp, icmp, icmpv6, ...; the number as text when unnamed). */
  byProtocol: Record<string, number>;
  /** TCP entries by state. */
  byState: Record<string, number>;
  byFamily: Record<Family, number>;
}

/** A read-only table of entries at one moment. */
export class Snapshot {
  readonly info: SnapshotInfo;
  private readonly c: SnapshotBuilder;
  /** Row orders per sort key, computed once on first use. */
  private readonly orders = new Map<SortKey, Uint32Array>();
  /** Recent match masks by filter and text (least recently used first). */
  private readonly masks = new Map<string, { mask: Uint8Array; count: number }>();
  private textIndex: string[] | undefined;

  constructor(columns: SnapshotBuilder, info: SnapshotInfo) {
    this.c = columns;
    this.info = info;
  }

  get size(): number {
    return this.c.size;
  }

  /** Approximate bytes held by the columns (excluding sparse helper/label maps). */
  get byteSize(): number {
    const c = this.c;
    return [c.id, c.family, c.protocol, c.state, c.tcpFlags, c.status, c.addr, c.ports, c.timeout, c.mark, c.zone, c.use, c.counters, c.started, c.v6].reduce(
      (sum, a) => sum + a.byteLength,
      0,
    );
  }

  familyOf(row: number): Family {
    return this.c.family[row] === FAMILY_V6 ? 'ipv6' : 'ipv4';
  }

  /** Address slot k (0 orig src, 1 orig dst, 2 reply src, 3 reply dst) as text. */
  address(row: number, k: number): string {
    const value = this.c.addr[row * 4 + k];
    return this.c.family[row] === FAMILY_V6 ? formatIPv6(this.c.v6, value * 16) : `${value >>> 24}.${(value >> 16) & 255}.${(value >> 8) & 255}.${value & 255}`;
  }

  private tupleOf(row: number, base: number): Tuple {
    const c = this.c;
    const protocol = c.protocol[row];
    const tuple: Tuple = { src: this.address(row, base), dst: this.address(row, base + 1), protocol };
    if (PORTED.has(protocol)) {
      tuple.sport = c.ports[row * 4 + base];
      tuple.dport = c.ports[row * 4 + base + 1];
    } else if (ICMPS.has(protocol)) {
      const typeCode = c.ports[row * 4 + base + 1];
      tuple.icmp = { type: typeCode >> 8, code: typeCode & 0xff, id: c.ports[row * 4 + base] };
    }
    return tuple;
  }

  /** The entry at a row, as the domain type. */
  connection(row: number): Connection {
    const c = this.c;
    const connection: Connection = {
      family: this.familyOf(row),
      original: this.tupleOf(row, 0),
      reply: this.tupleOf(row, 2),
      id: c.id[row],
      status: c.status[row],
      timeout: c.timeout[row],
      mark: c.mark[row],
      zone: c.zone[row],
      use: c.use[row],
    };
    if (c.state[row] !== NO_STATE) {
      const flags = c.tcpFlags[row];
      connection.protoinfo = {
        tcp: { state: TCP_STATES[c.state[row]] ?? 'NONE', flagsOriginal: { flags: flags >> 8, mask: 0 }, flagsReply: { flags: flags & 0xff, mask: 0 } },
      };
    }
    if (!Number.isNaN(c.counters[row * 4])) {
      const k = row * 4;
      connection.counters = {
        original: { packets: BigInt(c.counters[k]), bytes: BigInt(c.counters[k + 1]) },
        reply: { packets: BigInt(c.counters[k + 2]), bytes: BigInt(c.counters[k + 3]) },
      };
    }
    if (!Number.isNaN(c.started[row])) connection.timestamp = { start: BigInt(Math.round(c.started[row] * 1e6)) };
    const helper = c.helpers.get(row);
    if (helper) connection.helper = helper;
    const labels = c.labels.get(row);
    if (labels) connection.labels = labels;
    return connection;
  }

  /** The kernel id of the entry at a row. */
  idAt(row: number): number {
    return this.c.id[row];
  }

  /** The row holding the entry with this id, or -1 (a binary search over the cached id order). */
  rowOfId(id: number): number {
    const order = this.order('id');
    const ids = this.c.id;
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
    for (let row = 0; row < this.c.size; row++) if (!Number.isNaN(this.c.counters[row * 4])) return true;
    return false;
  }

  get hasTimestamps(): boolean {
    for (let row = 0; row < this.c.size; row++) if (!Number.isNaN(this.c.started[row])) return true;
    return false;
  }

  // ---- filtering ----

  private addressTest(prefix: Prefix): (row: number, k: number) => boolean {
    const c = this.c;
    if (prefix.family === 'ipv4') {
      const { network, mask } = ipv4PrefixMask(prefix);
      return (row, k) => c.family[row] !== FAMILY_V6 && ((c.addr[row * 4 + k] & mask) >>> 0) === network;
    }
    return (row, k) => c.family[row] === FAMILY_V6 && prefixContains(prefix, c.v6, c.addr[row * 4 + k] * 16);
  }

  private portTest(range: PortRange): (row: number, k: number) => boolean {
    const c = this.c;
    return (row, k) => {
      if (!PORTED.has(c.protocol[row])) return false;
      const port = c.ports[row * 4 + k];
      return port >= range.min && port <= range.max;
    };
  }

  /** A row predicate for the filter (and free text), built once per query. */
  predicate(filter: Filter = {}, text?: string): (row: number) => boolean {
    const c = this.c;
    const tests: ((row: number) => boolean)[] = [];
    if (filter.family) {
      const want = filter.family === 'ipv6' ? FAMILY_V6 : 0;
      tests.push((row) => c.family[row] === want);
    }
    if (filter.protocol !== undefined) {
      const want = filter.protocol;
      tests.push((row) => c.protocol[row] === want);
    }
    if (filter.states) {
      const wanted = new Uint8Array(256);
      for (const state of filter.states) wanted[TCP_STATES.indexOf(state)] = 1;
      tests.push((row) => c.state[row] !== NO_STATE && wanted[c.state[row]] === 1);
    }
    if (filter.status) {
      const { value, mask } = filter.status;
      tests.push((row) => ((c.status[row] & mask) >>> 0) === value);
    }
    if (filter.mark) {
      const { value, mask } = filter.mark;
      tests.push((row) => ((c.mark[row] & mask) >>> 0) === value);
    }
    if (filter.zone !== undefined) {
      const zone = filter.zone;
      tests.push((row) => c.zone[row] === zone);
    }
    if (filter.id !== undefined) {
      const id = filter.id;
      tests.push((row) => c.id[row] === id);
    }
    const single = (prefix: Prefix | undefined, k: number) => {
      if (!prefix) return;
      const test = this.addressTest(prefix);
      tests.push((row) => test(row, k));
    };
    single(filter.src, 0);
    single(filter.dst, 1);
    single(filter.replySrc, 2);
    single(filter.replyDst, 3);
    if (filter.ip) {
      const test = this.addressTest(filter.ip);
      tests.push((row) => test(row, 0) || test(row, 1) || test(row, 2) || test(row, 3));
    }
    if (filter.sport) {
      const test = this.portTest(filter.sport);
      tests.push((row) => test(row, 0));
    }
    if (filter.dport) {
      const test = this.portTest(filter.dport);
      tests.push((row) => test(row, 1));
    }
    if (filter.port) {
      const test = this.portTest(filter.port);
      tests.push((row) => test(row, 0) || test(row, 1) || test(row, 2) || test(row, 3));
    }
    if (text && text.trim()) {
      const needle = text.trim().toLowerCase();
      const index = this.text();
      tests.push((row) => index[row].includes(needle));
    }
    if (tests.length === 0) return () => true;
    if (tests.length === 1) return tests[0];
    return (row) => {
      for (let i = 0; i < tests.length; i++) if (!tests[i](row)) return false;
      return true;
    };
  }

  /** The row as the console shows it, lower-case, for free-text search (built once, on first use). */
  rowText(row: number): string {
    const c = this.c;
    const protocol = c.protocol[row];
    const parts = [
      String(c.id[row]),
      this.familyOf(row),
      PROTOCOL_NAMES[protocol] ?? String(protocol),
      this.endpoint(row, 0),
      this.endpoint(row, 1),
      this.endpoint(row, 2),
      this.endpoint(row, 3),
      c.state[row] === NO_STATE ? '' : (TCP_STATES[c.state[row]] ?? ''),
      statusText(c.status[row]),
      c.mark[row] ? `mark=${c.mark[row]}` : '',
      c.zone[row] ? `zone=${c.zone[row]}` : '',
      c.helpers.get(row) ?? '',
    ];
    return parts.join(' ').toLowerCase();
  }

  private endpoint(row: number, k: number): string {
    const address = this.address(row, k);
    const protocol = this.c.protocol[row];
    if (!PORTED.has(protocol)) return address;
    const port = this.c.ports[row * 4 + k];
    return this.c.family[row] === FAMILY_V6 ? `[${address}]:${port}` : `${address}:${port}`;
  }

  private text(): string[] {
    if (!this.textIndex) {
      const index = new Array<string>(this.c.size);
      for (let row = 0; row < this.c.size; row++) index[row] = this.rowText(row);
      this.textIndex = index;
    }
    return this.textIndex;
  }

  /** Every row matching, in table order. */
  select(filter?: Filter, text?: string): Uint32Array {
    const { mask, count } = this.matches(filter, text);
    const out = new Uint32Array(count);
    for (let row = 0, n = 0; n < count; row++) if (mask[row]) out[n++] = row;
    return out;
  }

  /**
   * Which rows match (1) and how many, evaluated one condition at a time in table order (sequential column
   * reads, no per-row closures). The last few answers are cached: paging through one view reuses them.
   */
  matches(filter: Filter = {}, text?: string): { mask: Uint8Array; count: number } {
    const key = JSON.stringify(filter, (_k, v: unknown) => (v instanceof Uint8Array ? undefined : v)) + '\u0000' + (text?.trim().toLowerCase() ?? '');
    const cached = this.masks.get(key);
    if (cached) {
      this.masks.delete(key);
      this.masks.set(key, cached);
      return cached;
    }
    const answer = this.computeMask(filter, text);
    this.masks.set(key, answer);
    if (this.masks.size > 8) this.masks.delete(this.masks.keys().next().value as string);
    return answer;
  }

  private computeMask(filter: Filter, text: string | undefined): { mask: Uint8Array; count: number } {
    const c = this.c;
    const n = c.size;
    const m = new Uint8Array(n).fill(1);
    const byByte = (column: Uint8Array, wanted: Uint8Array) => {
      for (let r = 0; r < n; r++) if (m[r] && !wanted[column[r]]) m[r] = 0;
    };
    const table = (values: readonly number[]) => {
      const wanted = new Uint8Array(256);
      for (const v of values) wanted[v] = 1;
      return wanted;
    };
    if (filter.family) byByte(c.family, table([filter.family === 'ipv6' ? FAMILY_V6 : 0]));
    if (filter.protocol !== undefined) byByte(c.protocol, table([filter.protocol]));
    if (filter.states) byByte(c.state, table(filter.states.map((state) => TCP_STATES.indexOf(state))));
    const masked = (column: Uint32Array, value: number, mask: number) => {
      for (let r = 0; r < n; r++) if (m[r] && ((column[r] & mask) >>> 0) !== value) m[r] = 0;
    };
    if (filter.status) masked(c.status, filter.status.value, filter.status.mask);
    if (filter.mark) masked(c.mark, filter.mark.value, filter.mark.mask);
    if (filter.id !== undefined) masked(c.id, filter.id >>> 0, 0xffffffff);
    if (filter.zone !== undefined) {
      const zone = filter.zone;
      for (let r = 0; r < n; r++) if (m[r] && c.zone[r] !== zone) m[r] = 0;
    }
    const slots = (prefix: Prefix, ks: readonly number[]) => {
      if (prefix.family === 'ipv4') {
        const { network, mask } = ipv4PrefixMask(prefix);
        for (let r = 0; r < n; r++) {
          if (!m[r]) continue;
          if (c.family[r] === FAMILY_V6) {
            m[r] = 0;
            continue;
          }
          let hit = false;
          for (const k of ks) if (((c.addr[r * 4 + k] & mask) >>> 0) === network) hit = true;
          if (!hit) m[r] = 0;
        }
      } else {
        for (let r = 0; r < n; r++) {
          if (!m[r]) continue;
          let hit = false;
          if (c.family[r] === FAMILY_V6) for (const k of ks) if (prefixContains(prefix, c.v6, c.addr[r * 4 + k] * 16)) hit = true;
          if (!hit) m[r] = 0;
        }
      }
    };
    if (filter.src) slots(filter.src, [0]);
    if (filter.dst) slots(filter.dst, [1]);
    if (filter.replySrc) slots(filter.replySrc, [2]);
    if (filter.replyDst) slots(filter.replyDst, [3]);
    if (filter.ip) slots(filter.ip, [0, 1, 2, 3]);
    const ported = table([...PORTED]);
    const ports = (range: PortRange, ks: readonly number[]) => {
      for (let r = 0; r < n; r++) {
        if (!m[r]) continue;
        if (!ported[c.protocol[r]]) {
          m[r] = 0;
          continue;
        }
        let hit = false;
        for (const k of ks) {
          const port = c.ports[r * 4 + k];
          if (port >= range.min && port <= range.max) hit = true;
        }
        if (!hit) m[r] = 0;
      }
    };
    if (filter.sport) ports(filter.sport, [0]);
    if (filter.dport) ports(filter.dport, [1]);
    if (filter.port) ports(filter.port, [0, 1, 2, 3]);
    if (text && text.trim()) {
      const needle = text.trim().toLowerCase();
      const index = this.text();
      for (let r = 0; r < n; r++) if (m[r] && !index[r].includes(needle)) m[r] = 0;
    }
    let count = 0;
    for (let r = 0; r < n; r++) count += m[r];
    return { mask: m, count };
  }

  /**
   * Entries per protocol name, TCP state and family, counted in one pass over the columns (into typed-array
   * tallies; only the non-zero ones become keys). What the console's header shows for a snapshot.
   */
  summary(): SnapshotSummary {
    const c = this.c;
    const protocols = new Uint32Array(256);
    const states = new Uint32Array(256);
    let v6 = 0;
    for (let row = 0; row < c.size; row++) {
      protocols[c.protocol[row]]++;
      states[c.state[row]]++;
      v6 += c.family[row];
    }
    const byProtocol: Record<string, number> = {};
    for (let p = 0; p < 256; p++) if (protocols[p]) byProtocol[PROTOCOL_NAMES[p] ?? String(p)] = protocols[p];
    const byState: Record<string, number> = {};
    for (let s = 0; s < TCP_STATES.length; s++) if (states[s]) byState[TCP_STATES[s]] = states[s];
    return { byProtocol, byState, byFamily: { ipv4: c.size - v6, ipv6: v6 } };
  }

  count(filter?: Filter, text?: string): number {
    return this.matches(filter, text).count;
  }

  /** Filter, sort and page: the cached match mask walked along the cached order, stopping at the page's end. */
  query(q: SnapshotQuery = {}): Page {
    const { mask, count } = this.matches(q.filter, q.text);
    const offset = q.offset ?? 0;
    const limit = q.limit ?? 100;
    const desc = q.order === 'desc';
    const order = q.sort ? this.order(q.sort) : undefined;
    const size = this.c.size;
    const rows: number[] = [];
    let seen = 0;
    for (let i = 0; i < size && rows.length < limit && seen < count; i++) {
      const position = desc ? size - 1 - i : i;
      const row = order ? order[position] : position;
      if (!mask[row]) continue;
      if (seen >= offset) rows.push(row);
      seen++;
    }
    return { matched: count, rows };
  }

  /** Row indices sorted ascending by key (ties by table order), cached per key. */
  order(key: SortKey): Uint32Array {
    const cached = this.orders.get(key);
    if (cached) return cached;
    const values = this.sortValues(key);
    const order = typeof values === 'number' ? this.addressOrder(values) : sortedRows(values);
    this.orders.set(key, order);
    return order;
  }

  /** IPv4 rows (numerically) before IPv6 rows (bytewise). */
  private addressOrder(k: number): Uint32Array {
    const c = this.c;
    const v4 = new Float64Array(c.size);
    const v6: number[] = [];
    let n4 = 0;
    for (let row = 0; row < c.size; row++) {
      if (c.family[row] === FAMILY_V6) v6.push(row);
      else v4[n4++] = c.addr[row * 4 + k];
    }
    const order = new Uint32Array(c.size);
    const v4rows = new Uint32Array(n4);
    for (let row = 0, i = 0; row < c.size; row++) if (c.family[row] !== FAMILY_V6) v4rows[i++] = row;
    const v4order = sortedRows(v4.subarray(0, n4));
    for (let i = 0; i < n4; i++) order[i] = v4rows[v4order[i]];
    const bytes = c.v6;
    v6.sort((a, b) => {
      const x = c.addr[a * 4 + k] * 16;
      const y = c.addr[b * 4 + k] * 16;
      for (let i = 0; i < 16; i++) {
        const d = bytes[x + i] - bytes[y + i];
        if (d) return d;
      }
      return a - b;
    });
    order.set(v6, n4);
    return order;
  }

  private sortValues(key: SortKey): Float64Array | number {
    const c = this.c;
    const n = c.size;
    const out = new Float64Array(n);
    const column = (get: (row: number) => number) => {
      for (let row = 0; row < n; row++) out[row] = get(row);
      return out;
    };
    const nan0 = (v: number) => (Number.isNaN(v) ? -1 : v);
    switch (key) {
      case 'id':
        return column((r) => c.id[r]);
      case 'family':
        return column((r) => c.family[r]);
      case 'protocol':
        return column((r) => c.protocol[r]);
      case 'src':
        return 0;
      case 'dst':
        return 1;
      case 'replySrc':
        return 2;
      case 'replyDst':
        return 3;
      case 'sport':
        return column((r) => c.ports[r * 4]);
      case 'dport':
        return column((r) => c.ports[r * 4 + 1]);
      case 'replySport':
        return column((r) => c.ports[r * 4 + 2]);
      case 'replyDport':
        return column((r) => c.ports[r * 4 + 3]);
      case 'state':
        return column((r) => (c.state[r] === NO_STATE ? -1 : c.state[r]));
      case 'status':
        return column((r) => c.status[r]);
      case 'timeout':
        return column((r) => c.timeout[r]);
      case 'mark':
        return column((r) => c.mark[r]);
      case 'zone':
        return column((r) => c.zone[r]);
      case 'use':
        return column((r) => c.use[r]);
      case 'packetsOriginal':
        return column((r) => nan0(c.counters[r * 4]));
      case 'bytesOriginal':
        return column((r) => nan0(c.counters[r * 4 + 1]));
      case 'packetsReply':
        return column((r) => nan0(c.counters[r * 4 + 2]));
      case 'bytesReply':
        return column((r) => nan0(c.counters[r * 4 + 3]));
      case 'packets':
        return column((r) => nan0(c.counters[r * 4]) + nan0(c.counters[r * 4 + 2]));
      case 'bytes':
        return column((r) => nan0(c.counters[r * 4 + 1]) + nan0(c.counters[r * 4 + 3]));
      case 'startedAt':
        return column((r) => nan0(c.started[r]));
    }
  }
}

const ROW_BITS = 2097152; // 2^21 rows

/**
 * Row indices ordered by keys (ties by row). Whole-number keys in [-1, 2^32] are packed with the row into one
 * exact double and sorted by the engine's native typed-array sort; anything else uses a comparator.
 */
function sortedRows(keys: Float64Array): Uint32Array {
  const n = keys.length;
  const order = new Uint32Array(n);
  let packable = n <= ROW_BITS;
  for (let i = 0; packable && i < n; i++) {
    const k = keys[i];
    if (k < -1 || k > 4294967296 || k !== Math.floor(k)) packable = false;
  }
  if (packable) {
    const packed = new Float64Array(n);
    for (let row = 0; row < n; row++) packed[row] = (keys[row] + 1) * ROW_BITS + row;
    packed.sort();
    for (let i = 0; i < n; i++) order[i] = packed[i] % ROW_BITS;
    return order;
  }
  for (let row = 0; row < n; row++) order[row] = row;
  return order.sort((a, b) => keys[a] - keys[b] || a - b);
}

function statusText(status: number): string {
  const parts: string[] = [];
  if (status & IPS.ASSURED) parts.push('assured');
  if (!(status & IPS.SEEN_REPLY)) parts.push('unreplied');
  if (status & IPS.SRC_NAT) parts.push('snat');
  if (status & IPS.DST_NAT) parts.push('dnat');
  if (status & IPS.OFFLOAD) parts.push('offload');
  return parts.join(' ');
}
