// The domain model: what a connection-tracking entry is, in plain words.
// Addresses are canonical strings at this edge (IPv4 dotted quad, IPv6 RFC 5952 lower-case compressed).
import type { Family } from '@/lib/netlink/address';
import type { StatusFlag, TcpState } from './constants';

export type { Family };

/** ICMP / ICMPv6 identity of a tuple (instead of ports). */
export interface IcmpFields {
  type: number;
  code: number;
  id: number;
}

/** One direction of a connection: who talks to whom. */
export interface Tuple {
  src: string;
  dst: string;
  protocol: number;
  /** Present for protocols with ports (tcp, udp, udplite, sctp, dccp). */
  sport?: number;
  dport?: number;
  /** Present for icmp and icmpv6. */
  icmp?: IcmpFields;
  /** CTA_TUPLE_ZONE, when the kernel sends one. */
  zone?: number;
  /** Unmodelled attributes inside CTA_TUPLE_*, CTA_TUPLE_IP and CTA_TUPLE_PROTO. */
  unknown?: RawAttribute[];
  ipUnknown?: RawAttribute[];
  protoUnknown?: RawAttribute[];
}

export interface Counter {
  packets: bigint;
  bytes: bigint;
  unknown?: RawAttribute[];
}

export interface TcpInfo {
  state: TcpState;
  wscaleOriginal?: number;
  wscaleReply?: number;
  /** IP_CT_TCP_FLAG_* bits seen in each direction (value, mask as sent by the kernel). */
  flagsOriginal?: { flags: number; mask: number };
  flagsReply?: { flags: number; mask: number };
  unknown?: RawAttribute[];
}

/** An attribute the codec does not model: kept as sent, never dropped. */
export interface RawAttribute {
  type: number;
  /** Whether NLA_F_NESTED was set. */
  nested: boolean;
  data: Uint8Array;
  /**
   * Index among the attributes of its level in the message it was decoded from, so that encoding writes it
   * back in place. Absent: written after the modelled attributes.
   */
  position?: number;
}

export interface ProtoInfo {
  tcp?: TcpInfo;
  /** DCCP / SCTP and anything else, kept raw. */
  unknown?: RawAttribute[];
}

export interface SeqAdj {
  correctionPos: number;
  /** Signed (s32 in the kernel). */
  offsetBefore: number;
  offsetAfter: number;
  unknown?: RawAttribute[];
}

/** CTA_SYNPROXY: the SYN proxy's sequence and timestamp adjustments. */
export interface Synproxy {
  isn: number;
  its: number;
  tsoff: number;
  unknown?: RawAttribute[];
}

/** A conntrack entry as the kernel reports it, decoded. */
export interface Connection {
  family: Family;
  original: Tuple;
  reply: Tuple;
  /** CTA_ID: the kernel's id for this entry; together with the tuple it names the entry exactly. */
  id?: number;
  /** IPS_* bits. */
  status: number;
  /** Seconds until expiry at the time of the dump. */
  timeout?: number;
  mark?: number;
  /** CTA_ZONE (0 when absent). */
  zone: number;
  use?: number;
  protoinfo?: ProtoInfo;
  counters?: { original: Counter; reply: Counter };
  /** Wall-clock nanoseconds since the epoch. */
  timestamp?: { start: bigint; stop?: bigint; unknown?: RawAttribute[] };
  /** Connection labels bitmap (CTA_LABELS). */
  labels?: Uint8Array;
  /** CTA_HELP_NAME. */
  helper?: string;
  /** Unmodelled attributes inside CTA_HELP (CTA_HELP_INFO). */
  helpUnknown?: RawAttribute[];
  master?: Tuple;
  secmark?: number;
  secctx?: string;
  /** Unmodelled attributes inside CTA_SECCTX. */
  secctxUnknown?: RawAttribute[];
  seqAdjOriginal?: SeqAdj;
  seqAdjReply?: SeqAdj;
  synproxy?: Synproxy;
  /** CTA_TIMESTAMP_EVENT (events only, 6.14+): wall-clock nanoseconds when the event was sent. */
  timestampEvent?: bigint;
  /** Attributes this codec does not model, at top level. */
  unknown?: RawAttribute[];
}

/**
 * An expectation: a connection a helper (ftp, sip, ...) announced on behalf of its master, so the kernel admits it
 * as RELATED when it arrives. The expected tuple is matched under the mask (a zero mask bit matches anything).
 */
export interface Expectation {
  family: Family;
  /** CTA_EXPECT_TUPLE: the connection to expect. */
  tuple: Tuple;
  /** CTA_EXPECT_MASK: which bits of the tuple must match (addresses and ports as masks; protocol copied). */
  mask: Tuple;
  /** CTA_EXPECT_MASTER: the original tuple of the connection whose helper created the expectation. */
  master: Tuple;
  /** CTA_EXPECT_NAT: where NAT will send the expected connection (helpers behind NAT). */
  nat?: ExpectationNat;
  /** Seconds until the expectation lapses. */
  timeout: number;
  /** CTA_EXPECT_ID: with the tuple, names the expectation exactly. */
  id: number;
  /** NF_CT_EXPECT_* bits. */
  flags: number;
  /** Helper-defined class (SIP: signalling, audio, video). */
  class: number;
  /** CTA_EXPECT_HELP_NAME: the master's helper. */
  helper?: string;
  /** CTA_EXPECT_ZONE (0 when absent). */
  zone: number;
  /** CTA_EXPECT_FN: the helper function the expected connection is set up with (e.g. "nat-follow-master"). */
  fn?: string;
  unknown?: RawAttribute[];
}

export interface ExpectationNat {
  /** CTA_EXPECT_NAT_DIR: 0 original, 1 reply. */
  dir: number;
  tuple: Tuple;
  unknown?: RawAttribute[];
}

/** Derived NAT view: what the kernel translated, from the status bits and the reply tuple. */
export interface NatInfo {
  /** Source NAT (masquerade): the address:port the connection leaves the router with. */
  snat?: { address: string; port?: number };
  /** Destination NAT (port forward): the address:port the connection is really sent to. */
  dnat?: { address: string; port?: number };
}

/** Who sent the first FIN, from CLOSE_INIT in the TCP flags. */
export type ClosedBy = 'client' | 'server';

export interface CpuStats {
  cpu: number;
  found: number;
  invalid: number;
  insert: number;
  insertFailed: number;
  drop: number;
  earlyDrop: number;
  error: number;
  searchRestart: number;
  clashResolve: number;
  chainTooLong: number;
}

export interface Stats {
  entries: number;
  maxEntries: number;
  fillRatio: number;
  perCpu: CpuStats[];
  totals: Omit<CpuStats, 'cpu'>;
  sysctl: {
    acct: boolean | null;
    timestamp: boolean | null;
    events: number | null;
    buckets: number | null;
  };
}

export type EventKind = 'new' | 'update' | 'destroy';

export interface ConntrackEvent {
  kind: EventKind;
  connection: Connection;
}

export type { StatusFlag, TcpState };
