// CT_NEW request bodies: a Connection plus the NAT the kernel should set up for it (CTA_NAT_SRC / CTA_NAT_DST).
//
// Status bits cannot ask for NAT: ctnetlink ignores IPS_SRC_NAT / IPS_DST_NAT in CTA_STATUS (they are in
// IPS_UNCHANGEABLE_MASK). With a NAT range the kernel runs nf_nat_setup_info on the new entry, as masquerade or a
// port forward would: it rewrites the reply tuple (reply.dst after SNAT, reply.src after DNAT), sets
// IPS_SRC_NAT / IPS_DST_NAT and the *_NAT_DONE bits, and picks another port (or ICMP id) when the translated
// reply tuple is taken. Give the reply tuple untranslated (the inverse of the original) for that to happen.
//
// Bulk inserts are encode-bound with the generic AttrWriter (~16 us per entry: one small array per attribute), so
// the common shape is written in one pass into a reused scratch buffer (~1 us per entry) and produces the same
// bytes as encodeConnection. Entries with attributes the fast path does not model go through encodeConnection.
import { CTA, CTA_IP, CTA_PROTO, CTA_PROTOINFO, CTA_PROTOINFO_TCP, CTA_TUPLE, IPPROTO, IPS, NLA_F_NESTED, NLA_HDRLEN, TCP_STATES } from './constants';
import { ValidationError } from './errors';
import { AttrWriter } from './netlink/attributes';
import { encodeAddress } from './codec/address';
import { encodeConnection } from './codec/connection';
import { checkUint as checkUintImported } from './codec/nest';
import type { Connection, Family, RawAttribute, Tuple } from './types';

// enum ctattr_nat
const CTA_NAT = {
  V4_MINIP: 1, // CTA_NAT_V4_MINIP
  V4_MAXIP: 2, // CTA_NAT_V4_MAXIP
  PROTO: 3, // CTA_NAT_PROTO
  V6_MINIP: 4, // CTA_NAT_V6_MINIP
  V6_MAXIP: 5, // CTA_NAT_V6_MAXIP
} as const;

// enum ctattr_protonat
const CTA_PROTONAT = {
  PORT_MIN: 1, // CTA_PROTONAT_PORT_MIN
  PORT_MAX: 2, // CTA_PROTONAT_PORT_MAX
} as const;

/** A NAT binding (struct nf_nat_range2 as CTA_NAT_*): the address (range) and optionally the port range to map to. */
export interface NatRange {
  address: string;
  /** Last address of the range (default: `address`). */
  maxAddress?: string;
  /** Port (or ICMP id) range; without it the kernel keeps the port when the translated tuple is free. */
  portMin?: number;
  portMax?: number;
}

/** What CT_NEW creates: the entry, and the NAT the kernel should apply to it. */
export interface NewConnection extends Connection {
  /** CTA_NAT_SRC: source NAT / masquerade to this address; the kernel sets reply.dst to it. */
  snat?: NatRange;
  /** CTA_NAT_DST: destination NAT / port forward to this address; the kernel sets reply.src to it. */
  dnat?: NatRange;
}

// Local copies of the imported constants: under CommonJS (tsx) each use of an imported binding is a getter
// call, which took a third of this hot path's time.
const NESTED = NLA_F_NESTED;
const HDRLEN = NLA_HDRLEN;
const TUPLE = { ...CTA_TUPLE };
const IP = { ...CTA_IP };
const PROTO = { ...CTA_PROTO };
const TCP = { ...CTA_PROTOINFO_TCP };
const TOP = { ...CTA };
const PROTOCOL_ICMPV6 = IPPROTO.ICMPV6;
const PROTOINFO_TCP = CTA_PROTOINFO.TCP;
const CONFIRMED = IPS.CONFIRMED;
const checkUint = checkUintImported;
const align4 = (n: number): number => (n + 3) & ~3;

const TCP_STATE_NUMBERS: Readonly<Record<string, number>> = Object.fromEntries(TCP_STATES.map((name, i) => [name, i]));

const POOL_BYTES = 256 * 1024;
let pool = new Uint8Array(POOL_BYTES);
let poolUsed = 0;

/** Attribute bytes written in one pass: nests get their length patched when they close. */
class ScratchWriter {
  buf = new Uint8Array(2048);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  private header(type: number, payloadLength: number): void {
    const len = HDRLEN + payloadLength;
    if (len > 0xffff) throw new RangeError(`attribute ${type & 0x3fff}: payload of ${payloadLength} bytes is too long`);
    this.reserve(align4(len));
    const b = this.buf;
    const at = this.length;
    b[at] = len & 0xff;
    b[at + 1] = len >> 8;
    b[at + 2] = type & 0xff;
    b[at + 3] = type >> 8;
    this.length = at + HDRLEN;
  }

  private padTo(end: number): void {
    const aligned = align4(end);
    this.buf.fill(0, end, aligned);
    this.length = aligned;
  }

  /** Opens a nested attribute (NLA_F_NESTED set, as AttrWriter.nested does); returns what close() needs. */
  open(type: number): number {
    const at = this.length;
    this.header(type | NESTED, 0);
    return at;
  }

  close(at: number): void {
    const len = this.length - at;
    if (len > 0xffff) throw new RangeError(`nested attribute of ${len} bytes is too long`);
    this.buf[at] = len & 0xff;
    this.buf[at + 1] = len >> 8;
  }

  u8(type: number, value: number): void {
    this.header(type, 1);
    this.buf[this.length] = value;
    this.padTo(this.length + 1);
  }

  u16be(type: number, value: number): void {
    this.header(type, 2);
    this.buf[this.length] = value >> 8;
    this.buf[this.length + 1] = value & 0xff;
    this.padTo(this.length + 2);
  }

  u32be(type: number, value: number): void {
    this.header(type, 4);
    const b = this.buf;
    const at = this.length;
    b[at] = value >>> 24;
    b[at + 1] = (value >>> 16) & 0xff;
    b[at + 2] = (value >>> 8) & 0xff;
    b[at + 3] = value & 0xff;
    this.length = at + 4;
  }

  bytes(type: number, payload: Uint8Array): void {
    const n = payload.length;
    this.header(type, n);
    const b = this.buf;
    const at = this.length;
    // A loop beats TypedArray.set for the 4- and 16-byte payloads that make up most of an entry.
    if (n <= 16) for (let i = 0; i < n; i++) b[at + i] = payload[i];
    else b.set(payload, at);
    this.padTo(at + n);
  }

  /** Already encoded attributes. */
  append(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }

  raw(attr: RawAttribute): void {
    this.bytes(attr.type | (attr.nested ? NESTED : 0), attr.data);
  }

  /** The bytes written, copied out of a shared pool (one small array per entry costs more than the encoding). */
  take(): Uint8Array {
    const n = this.length;
    if (poolUsed + n > pool.length) {
      pool = new Uint8Array(Math.max(POOL_BYTES, n));
      poolUsed = 0;
    }
    const out = pool.subarray(poolUsed, poolUsed + n);
    out.set(this.buf.subarray(0, n));
    poolUsed += align4(n);
    this.length = 0;
    return out;
  }
}

const scratch = new ScratchWriter();

// Bulk inserts name the same hosts over and over; parsing each text once saves an allocation per address.
const ADDRESS_CACHE_LIMIT = 16_384;
const addressCache: Record<Family, Map<string, Uint8Array>> = { ipv4: new Map(), ipv6: new Map() };

function addressBytes(text: string, family: Family, field: string): Uint8Array {
  const cache = addressCache[family];
  let bytes = cache.get(text);
  if (bytes === undefined) {
    bytes = encodeAddress(text, family, field);
    if (cache.size >= ADDRESS_CACHE_LIMIT) cache.clear();
    cache.set(text, bytes);
  }
  return bytes;
}

const plainTuple = (t: Tuple): boolean => !t.unknown && !t.ipUnknown && !t.protoUnknown;

/** Whether the one-pass writer produces exactly what encodeConnection would. */
function fastPathFits(c: Connection): boolean {
  if (c.unknown || c.master || c.counters || c.timestamp || c.timestampEvent !== undefined) return false;
  if (c.secctx !== undefined || c.secctxUnknown || c.helper !== undefined || c.helpUnknown) return false;
  if (c.seqAdjOriginal || c.seqAdjReply || c.synproxy) return false;
  if (!plainTuple(c.original) || !plainTuple(c.reply)) return false;
  const info = c.protoinfo;
  // Kept protoinfo attributes slot in by position around TCP; only the simple cases are written here.
  if (info?.tcp && (info.tcp.unknown || info.unknown)) return false;
  return true;
}

function writeTuple(w: ScratchWriter, tuple: Tuple, family: Family, type: number): void {
  const v4 = family === 'ipv4';
  const src = addressBytes(tuple.src, family, 'src');
  const dst = addressBytes(tuple.dst, family, 'dst');
  const outer = w.open(type);
  const ip = w.open(TUPLE.IP);
  w.bytes(v4 ? IP.V4_SRC : IP.V6_SRC, src);
  w.bytes(v4 ? IP.V4_DST : IP.V6_DST, dst);
  w.close(ip);
  const proto = w.open(TUPLE.PROTO);
  w.u8(PROTO.NUM, checkUint(tuple.protocol, 8, 'protocol'));
  if (tuple.sport !== undefined) w.u16be(PROTO.SRC_PORT, checkUint(tuple.sport, 16, 'sport'));
  if (tuple.dport !== undefined) w.u16be(PROTO.DST_PORT, checkUint(tuple.dport, 16, 'dport'));
  if (tuple.icmp) {
    const v6 = tuple.protocol === PROTOCOL_ICMPV6;
    w.u16be(v6 ? PROTO.ICMPV6_ID : PROTO.ICMP_ID, checkUint(tuple.icmp.id, 16, 'icmp.id'));
    w.u8(v6 ? PROTO.ICMPV6_TYPE : PROTO.ICMP_TYPE, checkUint(tuple.icmp.type, 8, 'icmp.type'));
    w.u8(v6 ? PROTO.ICMPV6_CODE : PROTO.ICMP_CODE, checkUint(tuple.icmp.code, 8, 'icmp.code'));
  }
  w.close(proto);
  if (tuple.zone !== undefined) w.u16be(TUPLE.ZONE, checkUint(tuple.zone, 16, 'zone'));
  w.close(outer);
}

/** encodeConnection's output for the shapes fastPathFits accepts, in the same order. */
function writeConnection(w: ScratchWriter, c: Connection): void {
  writeTuple(w, c.original, c.family, TOP.TUPLE_ORIG);
  writeTuple(w, c.reply, c.family, TOP.TUPLE_REPLY);
  if (c.zone !== 0) w.u16be(TOP.ZONE, checkUint(c.zone, 16, 'zone'));
  w.u32be(TOP.STATUS, checkUint(c.status, 32, 'status'));
  if (c.mark !== undefined) w.u32be(TOP.MARK, checkUint(c.mark, 32, 'mark'));
  if (c.secmark !== undefined) w.u32be(TOP.SECMARK, checkUint(c.secmark, 32, 'secmark'));
  if (c.id !== undefined) w.u32be(TOP.ID, checkUint(c.id, 32, 'id'));
  if (c.use !== undefined) w.u32be(TOP.USE, checkUint(c.use, 32, 'use'));
  if (c.timeout !== undefined) w.u32be(TOP.TIMEOUT, checkUint(c.timeout, 32, 'timeout'));
  const info = c.protoinfo;
  if (info) {
    const nest = w.open(TOP.PROTOINFO);
    const tcp = info.tcp;
    if (tcp) {
      const state = TCP_STATE_NUMBERS[tcp.state];
      if (state === undefined) throw new ValidationError('protoinfo.tcp.state', `unknown TCP state ${JSON.stringify(tcp.state)}`);
      const t = w.open(PROTOINFO_TCP);
      w.u8(TCP.STATE, state);
      if (tcp.wscaleOriginal !== undefined) w.u8(TCP.WSCALE_ORIGINAL, checkUint(tcp.wscaleOriginal, 8, 'wscaleOriginal'));
      if (tcp.wscaleReply !== undefined) w.u8(TCP.WSCALE_REPLY, checkUint(tcp.wscaleReply, 8, 'wscaleReply'));
      if (tcp.flagsOriginal) w.bytes(TCP.FLAGS_ORIGINAL, tcpFlags(tcp.flagsOriginal, 'flagsOriginal'));
      if (tcp.flagsReply) w.bytes(TCP.FLAGS_REPLY, tcpFlags(tcp.flagsReply, 'flagsReply'));
      w.close(t);
    }
    for (const attr of info.unknown ?? []) w.raw(attr);
    w.close(nest);
  }
  if (c.labels) w.bytes(TOP.LABELS, c.labels);
}

const tcpFlags = (f: { flags: number; mask: number }, field: string): Uint8Array =>
  Uint8Array.of(checkUint(f.flags, 8, `${field}.flags`), checkUint(f.mask, 8, `${field}.mask`));

function writeNat(w: ScratchWriter, range: NatRange, family: Family, type: number, field: string): void {
  const v4 = family === 'ipv4';
  const min = addressBytes(range.address, family, `${field}.address`);
  const max = range.maxAddress === undefined ? min : addressBytes(range.maxAddress, family, `${field}.maxAddress`);
  const nest = w.open(type);
  w.bytes(v4 ? CTA_NAT.V4_MINIP : CTA_NAT.V6_MINIP, min);
  w.bytes(v4 ? CTA_NAT.V4_MAXIP : CTA_NAT.V6_MAXIP, max);
  if (range.portMin !== undefined || range.portMax !== undefined) {
    const portMin = checkUint(range.portMin ?? range.portMax ?? 0, 16, `${field}.portMin`);
    const portMax = checkUint(range.portMax ?? portMin, 16, `${field}.portMax`);
    if (portMin > portMax) throw new ValidationError(`${field}.portMax`, `port range ${portMin}-${portMax} is empty`);
    const proto = w.open(CTA_NAT.PROTO);
    w.u16be(CTA_PROTONAT.PORT_MIN, portMin);
    w.u16be(CTA_PROTONAT.PORT_MAX, portMax);
    w.close(proto);
  }
  w.close(nest);
}

/**
 * The attributes of a CT_NEW request for entry: what encodeConnection writes (the kernel ignores CTA_ID,
 * CTA_USE, counters and timestamps on create), then CTA_NAT_SRC / CTA_NAT_DST. The kernel needs CTA_TIMEOUT.
 * IPS_CONFIRMED is added to the status, as libnetfilter_conntrack does: ctnetlink marks the new entry confirmed
 * before it applies CTA_STATUS and answers EBUSY to a status that would clear the bit (6.18).
 */
export function encodeNewConnection(entry: NewConnection): Uint8Array {
  if (!(entry.status & CONFIRMED)) entry = { ...entry, status: (entry.status | CONFIRMED) >>> 0 };
  const w = scratch;
  w.length = 0;
  try {
    if (fastPathFits(entry)) {
      writeConnection(w, entry);
    } else {
      const generic = new AttrWriter();
      encodeConnection(entry, generic);
      w.append(generic.finish());
    }
    if (entry.snat) writeNat(w, entry.snat, entry.family, TOP.NAT_SRC, 'snat');
    if (entry.dnat) writeNat(w, entry.dnat, entry.family, TOP.NAT_DST, 'dnat');
    return w.take();
  } finally {
    w.length = 0;
  }
}
