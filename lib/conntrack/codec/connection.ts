// A whole ctnetlink conntrack entry (the attributes after struct nfgenmsg) <-> Connection, and the views the rest
// of the library derives from one (NAT, who closed, status names).
//
// encodeConnection writes in the order of ctnetlink_fill_info (net/netfilter/nf_conntrack_netlink.c), the order of
// dump rows and GET replies, so captured bytes -> Connection -> the same bytes. Events (ctnetlink_conntrack_event)
// use another order; they decode the same, but do not re-encode byte for byte.
import { AF as AF_, CTA as CTA_, IP_CT_TCP_FLAG as IP_CT_TCP_FLAG_, IPS as IPS_, NLA_TYPE_MASK as NLA_TYPE_MASK_ } from '../constants';
import { CodecError } from '../errors';
import { attrBytes as attrBytes_, forEachAttr as forEachAttr_, readU16be as readU16be_, readU32be as readU32be_, readU64be as readU64be_, type AttrWriter } from '../netlink/attributes';
import type { ClosedBy, Connection, Counter, Family, NatInfo, Tuple } from '../types';
import { decodeCounter, encodeCounter } from './counters';
import { decodeHelp, decodeSecctx, encodeHelp, encodeSecctx } from './help';
import { CTA_NAMES as CTA_NAMES_ } from './names';
import { checkU64 as checkU64_, checkUint as checkUint_, missing as missing_, within as within_ } from './nest';
import { decodeProtoInfo, encodeProtoInfo } from './protoinfo';
import { decodeLevel as decodeLevel_, InPlaceWriter as InPlaceWriter_ } from './raw';
import { decodeSeqAdj, encodeSeqAdj } from './seqadj';
import { decodeSynproxy, encodeSynproxy } from './synproxy';
import { decodeTimestamp, encodeTimestamp } from './timestamp';
import { decodeTuple as decodeTuple_, encodeTuple as encodeTuple_ } from './tuple';

// Imported bindings can compile to getters (CommonJS interop, bundlers), which cost more than the decoding on the
// per-attribute path; the hot code reads these module-local copies.
const AF = AF_;
const CTA = CTA_;
const IP_CT_TCP_FLAG = IP_CT_TCP_FLAG_;
const IPS = IPS_;
const NLA_TYPE_MASK = NLA_TYPE_MASK_;
const attrBytes = attrBytes_;
const forEachAttr = forEachAttr_;
const readU16be = readU16be_;
const readU32be = readU32be_;
const readU64be = readU64be_;
const CTA_NAMES = CTA_NAMES_;
const checkU64 = checkU64_;
const checkUint = checkUint_;
const missing = missing_;
const within = within_;
const InPlaceWriter = InPlaceWriter_;
const decodeLevel = decodeLevel_;
const decodeTuple = decodeTuple_;
const encodeTuple = encodeTuple_;

/** nfgenmsg family -> Family; CodecError for anything but AF_INET / AF_INET6. */
export function familyFromNumber(af: number): Family {
  if (af === AF.INET) return 'ipv4';
  if (af === AF.INET6) return 'ipv6';
  throw new CodecError(['nfgenmsg'], `unsupported address family ${af}`);
}

export const familyToNumber = (family: Family): number => (family === 'ipv4' ? AF.INET : AF.INET6);


/**
 * Decodes one entry: buf[start, end) are the attributes after the 4-byte nfgenmsg, family comes from it.
 * Throws CodecError (with the attribute path) for anything malformed; unknown attributes are kept in place.
 */
export function decodeConnection(buf: Uint8Array, start: number, end: number, family: Family): Connection {
  let original: Tuple | undefined;
  let reply: Tuple | undefined;
  let status: number | undefined;
  let countersOriginal: Counter | undefined;
  let countersReply: Counter | undefined;
  const rest: Omit<Connection, 'family' | 'original' | 'reply' | 'status' | 'zone' | 'counters' | 'unknown'> = {};
  let zone = 0;
  const unknown = decodeLevel(buf, start, end, CTA_NAMES, (attr) => {
    const { start: s, end: e } = attr;
    switch (attr.type) {
      case CTA.TUPLE_ORIG:
        original = within('CTA_TUPLE_ORIG', () => decodeTuple(buf, s, e, family));
        break;
      case CTA.TUPLE_REPLY:
        reply = within('CTA_TUPLE_REPLY', () => decodeTuple(buf, s, e, family));
        break;
      case CTA.TUPLE_MASTER:
        rest.master = within('CTA_TUPLE_MASTER', () => decodeTuple(buf, s, e, family));
        break;
      case CTA.STATUS:
        status = readU32be(attr, 'CTA_STATUS');
        break;
      case CTA.ZONE:
        zone = readU16be(attr, 'CTA_ZONE');
        break;
      case CTA.MARK:
        rest.mark = readU32be(attr, 'CTA_MARK');
        break;
      case CTA.ID:
        rest.id = readU32be(attr, 'CTA_ID');
        break;
      case CTA.USE:
        rest.use = readU32be(attr, 'CTA_USE');
        break;
      case CTA.TIMEOUT:
        rest.timeout = readU32be(attr, 'CTA_TIMEOUT');
        break;
      case CTA.SECMARK:
        rest.secmark = readU32be(attr, 'CTA_SECMARK');
        break;
      case CTA.PROTOINFO:
        rest.protoinfo = within('CTA_PROTOINFO', () => decodeProtoInfo(buf, s, e));
        break;
      case CTA.COUNTERS_ORIG:
        countersOriginal = within('CTA_COUNTERS_ORIG', () => decodeCounter(buf, s, e));
        break;
      case CTA.COUNTERS_REPLY:
        countersReply = within('CTA_COUNTERS_REPLY', () => decodeCounter(buf, s, e));
        break;
      case CTA.TIMESTAMP:
        rest.timestamp = within('CTA_TIMESTAMP', () => decodeTimestamp(buf, s, e));
        break;
      case CTA.HELP: {
        const help = within('CTA_HELP', () => decodeHelp(buf, s, e));
        if (help.name !== undefined) rest.helper = help.name;
        if (help.unknown) rest.helpUnknown = help.unknown;
        break;
      }
      case CTA.SECCTX: {
        const secctx = within('CTA_SECCTX', () => decodeSecctx(buf, s, e));
        if (secctx.name !== undefined) rest.secctx = secctx.name;
        if (secctx.unknown) rest.secctxUnknown = secctx.unknown;
        break;
      }
      case CTA.LABELS:
        rest.labels = attrBytes(attr);
        break;
      case CTA.SEQ_ADJ_ORIG:
        rest.seqAdjOriginal = within('CTA_SEQ_ADJ_ORIG', () => decodeSeqAdj(buf, s, e));
        break;
      case CTA.SEQ_ADJ_REPLY:
        rest.seqAdjReply = within('CTA_SEQ_ADJ_REPLY', () => decodeSeqAdj(buf, s, e));
        break;
      case CTA.SYNPROXY:
        rest.synproxy = within('CTA_SYNPROXY', () => decodeSynproxy(buf, s, e));
        break;
      case CTA.TIMESTAMP_EVENT:
        rest.timestampEvent = readU64be(attr, 'CTA_TIMESTAMP_EVENT');
        break;
      default:
        return false;
    }
    return true;
  });
  if (!original) throw missing('CTA_TUPLE_ORIG');
  if (!reply) throw missing('CTA_TUPLE_REPLY');
  if (status === undefined) throw missing('CTA_STATUS');
  if ((countersOriginal === undefined) !== (countersReply === undefined)) {
    throw missing(countersOriginal ? 'CTA_COUNTERS_REPLY' : 'CTA_COUNTERS_ORIG');
  }
  const conn: Connection = { family, original, reply, status, zone, ...rest };
  if (countersOriginal && countersReply) conn.counters = { original: countersOriginal, reply: countersReply };
  if (unknown) conn.unknown = unknown;
  return conn;
}

/**
 * Writes conn's attributes in kernel dump order (unknown ones back at their positions). Used for CT_NEW as well;
 * a caller sends only what the request needs by leaving the other fields out. ValidationError for values that do
 * not fit their attribute.
 */
export function encodeConnection(conn: Connection, w: AttrWriter): void {
  const level = new InPlaceWriter(w, conn.unknown);
  encodeTuple(conn.original, conn.family, level.next(), CTA.TUPLE_ORIG);
  encodeTuple(conn.reply, conn.family, level.next(), CTA.TUPLE_REPLY);
  if (conn.zone !== 0) level.next().u16be(CTA.ZONE, checkUint(conn.zone, 16, 'zone'));
  level.next().u32be(CTA.STATUS, checkUint(conn.status, 32, 'status'));
  if (conn.mark !== undefined) level.next().u32be(CTA.MARK, checkUint(conn.mark, 32, 'mark'));
  if (conn.secctx !== undefined || conn.secctxUnknown) encodeSecctx({ name: conn.secctx, unknown: conn.secctxUnknown }, level.next(), CTA.SECCTX);
  if (conn.secmark !== undefined) level.next().u32be(CTA.SECMARK, checkUint(conn.secmark, 32, 'secmark'));
  if (conn.id !== undefined) level.next().u32be(CTA.ID, checkUint(conn.id, 32, 'id'));
  if (conn.use !== undefined) level.next().u32be(CTA.USE, checkUint(conn.use, 32, 'use'));
  if (conn.master) encodeTuple(conn.master, conn.family, level.next(), CTA.TUPLE_MASTER);
  if (conn.timeout !== undefined) level.next().u32be(CTA.TIMEOUT, checkUint(conn.timeout, 32, 'timeout'));
  if (conn.protoinfo) encodeProtoInfo(conn.protoinfo, level.next(), CTA.PROTOINFO);
  if (conn.counters) {
    encodeCounter(conn.counters.original, level.next(), CTA.COUNTERS_ORIG);
    encodeCounter(conn.counters.reply, level.next(), CTA.COUNTERS_REPLY);
  }
  if (conn.timestamp) encodeTimestamp(conn.timestamp, level.next(), CTA.TIMESTAMP);
  if (conn.helper !== undefined || conn.helpUnknown) encodeHelp({ name: conn.helper, unknown: conn.helpUnknown }, level.next(), CTA.HELP);
  if (conn.labels) level.next().bytes(CTA.LABELS, conn.labels);
  if (conn.seqAdjOriginal) encodeSeqAdj(conn.seqAdjOriginal, level.next(), CTA.SEQ_ADJ_ORIG);
  if (conn.seqAdjReply) encodeSeqAdj(conn.seqAdjReply, level.next(), CTA.SEQ_ADJ_REPLY);
  if (conn.synproxy) encodeSynproxy(conn.synproxy, level.next(), CTA.SYNPROXY);
  if (conn.timestampEvent !== undefined) level.next().u64be(CTA.TIMESTAMP_EVENT, checkU64(conn.timestampEvent, 'timestampEvent'));
  level.finish();
}

/**
 * What names one entry exactly: CTA_TUPLE_ORIG, CTA_ZONE (when not 0) and CTA_ID (when known). The body of a
 * CT_DELETE or CT_GET for that entry; with the id the kernel never touches a newer entry reusing the tuple.
 */
export function encodeIdentity(conn: Pick<Connection, 'family' | 'original' | 'zone' | 'id'>, w: AttrWriter): void {
  encodeTuple(conn.original, conn.family, w, CTA.TUPLE_ORIG);
  if (conn.zone !== 0) w.u16be(CTA.ZONE, checkUint(conn.zone, 16, 'zone'));
  if (conn.id !== undefined) w.u32be(CTA.ID, checkUint(conn.id, 32, 'id'));
}

/**
 * Copies the attributes that name an entry exactly - CTA_TUPLE_ORIG, CTA_ZONE and CTA_ID, as the kernel sent them -
 * from an entry's attributes b[start, end) to out[at...) and returns where they end: a CT_DELETE or CT_GET for that
 * entry with no decoding and re-encoding in between. -1 when the entry lacks its original tuple or its id (the
 * kernel always sends both). Writes at most end - start bytes.
 */
export function copyIdentity(b: Uint8Array, start: number, end: number, out: Uint8Array, at: number): number {
  let w = at;
  let found = 0;
  let p = start;
  while (end - p >= 4) {
    const len = b[p] | (b[p + 1] << 8);
    if (len < 4 || p + len > end) return -1;
    const type = (b[p + 2] | (b[p + 3] << 8)) & NLA_TYPE_MASK;
    const aligned = (len + 3) & ~3;
    if (type === CTA.TUPLE_ORIG || type === CTA.ZONE || type === CTA.ID) {
      for (let i = 0; i < len; i++) out[w + i] = b[p + i];
      for (let i = len; i < aligned; i++) out[w + i] = 0;
      w += aligned;
      if (type === CTA.TUPLE_ORIG) found |= 1;
      else if (type === CTA.ID) found |= 2;
    }
    p += aligned;
  }
  return found === 3 ? w : -1;
}

/** The EntryRef parts of attributes copyIdentity() wrote (or any entry's attributes): original tuple, zone, id. */
export function decodeIdentity(buf: Uint8Array, start: number, end: number, family: Family): Pick<Connection, 'family' | 'original' | 'zone' | 'id'> {
  let original: Tuple | undefined;
  let zone = 0;
  let id: number | undefined;
  forEachAttr(
    buf,
    start,
    end,
    (attr) => {
      if (attr.type === CTA.TUPLE_ORIG) original = within('CTA_TUPLE_ORIG', () => decodeTuple(attr.buf, attr.start, attr.end, family));
      else if (attr.type === CTA.ZONE) zone = readU16be(attr, 'CTA_ZONE');
      else if (attr.type === CTA.ID) id = readU32be(attr, 'CTA_ID');
    },
    CTA_NAMES,
  );
  if (!original) throw missing('CTA_TUPLE_ORIG');
  return { family, original, zone, id };
}

/**
 * The NAT the kernel applied, read from the status bits and the reply tuple: after SNAT the reply goes to the
 * translated source (reply.dst), after DNAT it comes from the real destination (reply.src).
 */
export function natInfo(conn: Connection): NatInfo {
  const nat: NatInfo = {};
  if (conn.status & IPS.SRC_NAT) {
    nat.snat = conn.reply.dport === undefined ? { address: conn.reply.dst } : { address: conn.reply.dst, port: conn.reply.dport };
  }
  if (conn.status & IPS.DST_NAT) {
    nat.dnat = conn.reply.sport === undefined ? { address: conn.reply.src } : { address: conn.reply.src, port: conn.reply.sport };
  }
  return nat;
}

/** Who sent the first FIN: CLOSE_INIT in the original direction is the client, in the reply direction the server. */
export function closedBy(conn: Connection): ClosedBy | undefined {
  const tcp = conn.protoinfo?.tcp;
  if (!tcp) return undefined;
  if (tcp.flagsOriginal && tcp.flagsOriginal.flags & IP_CT_TCP_FLAG.CLOSE_INIT) return 'client';
  if (tcp.flagsReply && tcp.flagsReply.flags & IP_CT_TCP_FLAG.CLOSE_INIT) return 'server';
  return undefined;
}

const STATUS_BITS = Object.entries(IPS);

/** IPS_* names of the bits set in status, lowest bit first; bits the kernel header does not name as hex. */
export function statusNames(status: number): string[] {
  const names: string[] = [];
  let known = 0;
  for (const [name, bit] of STATUS_BITS) {
    known |= bit;
    if (status & bit) names.push(name);
  }
  const rest = status & ~known;
  for (let i = 0; i < 32; i++) {
    const bit = (1 << i) >>> 0;
    if (rest & bit) names.push(`0x${bit.toString(16)}`);
  }
  return names;
}

/** The status as people read it (API, exports, JSON lines): the IPS_* names, plus UNREPLIED when SEEN_REPLY is clear. */
export function statusNamesShown(status: number): string[] {
  const names = statusNames(status);
  if (!(status & IPS.SEEN_REPLY)) names.push('UNREPLIED');
  return names;
}
