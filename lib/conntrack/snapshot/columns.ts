// The column layout of a snapshot: typed arrays, one slot per entry, no JS object per entry. The builder fills
// them; everything else (matching, ordering, text, summary, the Snapshot) only reads them, through Columns.
import { PORTED_PROTOCOLS } from '../constants';

/** state column: not a TCP entry (no CTA_PROTOINFO_TCP_STATE). */
export const NO_STATE = 0xff;
/** family column: 0 is IPv4, 1 IPv6. */
export const FAMILY_V6 = 1;

/**
 * shape column bits: which optional tuple fields the entry had, so a row turns back into the Connection the
 * codecs decode (a GRE entry has ports, a TCP entry without ports would not).
 */
export const SHAPE = {
  SPORT_ORIGINAL: 1,
  DPORT_ORIGINAL: 2,
  SPORT_REPLY: 4,
  DPORT_REPLY: 8,
  ICMP_ORIGINAL: 16,
  ICMP_REPLY: 32,
  /** CTA_MARK / CTA_ID / CTA_USE / CTA_TIMEOUT were present. */
  MARK: 64,
  ID: 128,
  USE: 256,
  TIMEOUT: 512,
  /** CTA_COUNTERS_ORIG and _REPLY (accounting on). */
  COUNTERS: 1024,
  /** CTA_TIMESTAMP (timestamps on). */
  TIMESTAMP: 2048,
  /** CTA_PROTOINFO_TCP_FLAGS_ORIGINAL / _REPLY. */
  FLAGS_ORIGINAL: 4096,
  FLAGS_REPLY: 8192,
} as const;

/** PORTED_PROTOCOLS as a lookup table by protocol number. */
export const PORTED: Readonly<Uint8Array> = (() => {
  const table = new Uint8Array(256);
  for (const p of PORTED_PROTOCOLS) table[p] = 1;
  return table;
})();

type Writers = 'set' | 'fill' | 'copyWithin' | 'sort' | 'reverse' | 'subarray' | 'buffer' | 'map' | 'filter';
/** A typed array that can only be read (TypeScript has no readonly typed arrays). */
export type ReadonlyColumn<T> = Readonly<Omit<T, Writers>>;

/** A snapshot's table, read-only: what the evaluator, the orders, the free-text search and the summary read. */
export interface Columns {
  /** Rows in use (the arrays may be longer). */
  readonly size: number;
  readonly id: ReadonlyColumn<Uint32Array>;
  readonly family: ReadonlyColumn<Uint8Array>;
  readonly protocol: ReadonlyColumn<Uint8Array>;
  readonly state: ReadonlyColumn<Uint8Array>;
  /** TCP flags and masks: original flags << 24 | original mask << 16 | reply flags << 8 | reply mask. */
  readonly tcpFlags: ReadonlyColumn<Uint32Array>;
  /** Which optional fields the entry had (SHAPE bits). */
  readonly shape: ReadonlyColumn<Uint16Array>;
  readonly status: ReadonlyColumn<Uint32Array>;
  /** Four per row (orig src, orig dst, reply src, reply dst): the IPv4 address, or for IPv6 a slot in v6. */
  readonly addr: ReadonlyColumn<Uint32Array>;
  /** Four per row: orig sport, orig dport, reply sport, reply dport; ICMP: id, type << 8 | code. */
  readonly ports: ReadonlyColumn<Uint16Array>;
  readonly timeout: ReadonlyColumn<Uint32Array>;
  readonly mark: ReadonlyColumn<Uint32Array>;
  readonly zone: ReadonlyColumn<Uint16Array>;
  readonly use: ReadonlyColumn<Uint32Array>;
  /**
   * Eight per row: packets, bytes original, packets, bytes reply, each u64 as high and low 32 bits (exact, and
   * no BigInt on the decoding path); meaningful when SHAPE.COUNTERS is set.
   */
  readonly counters: ReadonlyColumn<Uint32Array>;
  /** Two per row: the start time in ns since the epoch, high and low 32 bits; meaningful with SHAPE.TIMESTAMP. */
  readonly started: ReadonlyColumn<Uint32Array>;
  /** IPv6 addresses, 16 bytes per slot. */
  readonly v6: ReadonlyColumn<Uint8Array>;
  /** Sparse: the helper name of the rows that have one. */
  readonly helpers: ReadonlyMap<number, string>;
  /** Sparse: the CTA_LABELS bytes of the rows that have them. */
  readonly labels: ReadonlyMap<number, Uint8Array>;
  /** Sparse: the CTA_TUPLE_ZONEs of the rows whose zone is bound to one direction (--orig-zone, --reply-zone). */
  readonly tupleZones: ReadonlyMap<number, TupleZones>;
}

/** A row's per-direction zones (CTA_TUPLE_ZONE in its original and reply tuples). */
export interface TupleZones {
  original?: number;
  reply?: number;
}

/**
 * CTA_TIMESTAMP_START (ns, high and low 32 bits at started[k], started[k + 1]) in whole ms, exactly: 2^32 ns = 4294 ms
 * + 967296 ns, and the rest stays below 2^53 (its quotient below 2^32, where doubles are far closer together than
 * 1e-6: the floor is exact).
 */
export function startedMs(started: Columns['started'], k: number): number {
  const high = started[k];
  return high * 4294 + Math.floor((high * 967_296 + started[k + 1]) / 1_000_000);
}

/** Bytes held by the columns' arrays (their full capacity; the sparse maps left out). */
export function columnBytes(c: Columns): number {
  const arrays = [c.id, c.family, c.protocol, c.state, c.tcpFlags, c.shape, c.status, c.addr, c.ports, c.timeout, c.mark, c.zone, c.use, c.counters, c.started, c.v6];
  return arrays.reduce((sum, a) => sum + a.byteLength, 0);
}
