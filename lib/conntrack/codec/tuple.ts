// CTA_TUPLE_ORIG / CTA_TUPLE_REPLY / CTA_TUPLE_MASTER <-> Tuple.
// Kernel order (ctnetlink_dump_tuples): CTA_TUPLE_IP {SRC, DST}, CTA_TUPLE_PROTO {NUM, ports | ICMP ID, TYPE, CODE},
// then CTA_TUPLE_ZONE when the zone is bound to this direction.
import { CTA_IP as CTA_IP_, CTA_PROTO as CTA_PROTO_, CTA_TUPLE as CTA_TUPLE_, IPPROTO as IPPROTO_ } from '../constants';
import { CodecError } from '../errors';
import { readU16be as readU16be_, readU8 as readU8_, type AttrWriter } from '../netlink/attributes';
import type { Family, IcmpFields, RawAttribute, Tuple } from '../types';
import { decodeAddress as decodeAddress_, encodeAddress as encodeAddress_ } from './address';
import { CTA_IP_NAMES as CTA_IP_NAMES_, CTA_PROTO_NAMES as CTA_PROTO_NAMES_, CTA_TUPLE_NAMES as CTA_TUPLE_NAMES_ } from './names';
import { checkUint as checkUint_, expectLength as expectLength_, missing as missing_, within as within_ } from './nest';
import { decodeLevel as decodeLevel_, InPlaceWriter as InPlaceWriter_ } from './raw';

// Imported bindings can compile to getters (CommonJS interop, bundlers), which cost more than the decoding on the
// per-attribute path; the hot code reads these module-local copies.
const CTA_IP = CTA_IP_;
const CTA_PROTO = CTA_PROTO_;
const CTA_TUPLE = CTA_TUPLE_;
const IPPROTO = IPPROTO_;
const readU16be = readU16be_;
const readU8 = readU8_;
const decodeAddress = decodeAddress_;
const encodeAddress = encodeAddress_;
const CTA_IP_NAMES = CTA_IP_NAMES_;
const CTA_PROTO_NAMES = CTA_PROTO_NAMES_;
const CTA_TUPLE_NAMES = CTA_TUPLE_NAMES_;
const checkUint = checkUint_;
const expectLength = expectLength_;
const missing = missing_;
const within = within_;
const InPlaceWriter = InPlaceWriter_;
const decodeLevel = decodeLevel_;

interface IpPart {
  src?: string;
  dst?: string;
  unknown?: RawAttribute[];
}

function decodeIp(buf: Uint8Array, start: number, end: number, family: Family): IpPart {
  const part: IpPart = {};
  const want = family === 'ipv4' ? 4 : 16;
  const unknown = decodeLevel(buf, start, end, CTA_IP_NAMES, (attr) => {
    switch (attr.type) {
      case CTA_IP.V4_SRC:
      case CTA_IP.V4_DST:
      case CTA_IP.V6_SRC:
      case CTA_IP.V6_DST: {
        const name = CTA_IP_NAMES[attr.type];
        const isV4 = attr.type === CTA_IP.V4_SRC || attr.type === CTA_IP.V4_DST;
        if (isV4 !== (family === 'ipv4')) throw new CodecError([name], `unexpected in an ${family} entry`);
        expectLength(attr, name, want);
        const text = decodeAddress(attr.buf, attr.start, family);
        if (attr.type === CTA_IP.V4_SRC || attr.type === CTA_IP.V6_SRC) part.src = text;
        else part.dst = text;
        break;
      }
      default:
        return false;
    }
    return true;
  });
  if (unknown) part.unknown = unknown;
  return part;
}

interface ProtoPart {
  protocol: number;
  sport?: number;
  dport?: number;
  icmpType?: number;
  icmpCode?: number;
  icmpId?: number;
  unknown?: RawAttribute[];
}

function decodeProto(buf: Uint8Array, start: number, end: number): ProtoPart {
  const part: Partial<ProtoPart> = {};
  const unknown = decodeLevel(buf, start, end, CTA_PROTO_NAMES, (attr) => {
    switch (attr.type) {
      case CTA_PROTO.NUM:
        part.protocol = readU8(attr, 'CTA_PROTO_NUM');
        break;
      case CTA_PROTO.SRC_PORT:
        part.sport = readU16be(attr, 'CTA_PROTO_SRC_PORT');
        break;
      case CTA_PROTO.DST_PORT:
        part.dport = readU16be(attr, 'CTA_PROTO_DST_PORT');
        break;
      case CTA_PROTO.ICMP_ID:
      case CTA_PROTO.ICMPV6_ID:
        part.icmpId = readU16be(attr, CTA_PROTO_NAMES[attr.type]);
        break;
      case CTA_PROTO.ICMP_TYPE:
      case CTA_PROTO.ICMPV6_TYPE:
        part.icmpType = readU8(attr, CTA_PROTO_NAMES[attr.type]);
        break;
      case CTA_PROTO.ICMP_CODE:
      case CTA_PROTO.ICMPV6_CODE:
        part.icmpCode = readU8(attr, CTA_PROTO_NAMES[attr.type]);
        break;
      default:
        return false;
    }
    return true;
  });
  if (unknown) part.unknown = unknown;
  if (part.protocol === undefined) throw missing('CTA_PROTO_NUM');
  return { ...part, protocol: part.protocol };
}

function icmpFields(part: ProtoPart): IcmpFields | undefined {
  if (part.icmpType === undefined && part.icmpCode === undefined && part.icmpId === undefined) return undefined;
  const v6 = part.protocol === IPPROTO.ICMPV6;
  if (part.icmpId === undefined) throw missing(v6 ? 'CTA_PROTO_ICMPV6_ID' : 'CTA_PROTO_ICMP_ID');
  if (part.icmpType === undefined) throw missing(v6 ? 'CTA_PROTO_ICMPV6_TYPE' : 'CTA_PROTO_ICMP_TYPE');
  if (part.icmpCode === undefined) throw missing(v6 ? 'CTA_PROTO_ICMPV6_CODE' : 'CTA_PROTO_ICMP_CODE');
  return { type: part.icmpType, code: part.icmpCode, id: part.icmpId };
}

/** Decodes the attributes inside one CTA_TUPLE_* nest (buf[start, end)). Paths start below the tuple. */
export function decodeTuple(buf: Uint8Array, start: number, end: number, family: Family): Tuple {
  let ip: IpPart | undefined;
  let proto: ProtoPart | undefined;
  let zone: number | undefined;
  const unknown = decodeLevel(buf, start, end, CTA_TUPLE_NAMES, (attr) => {
    switch (attr.type) {
      case CTA_TUPLE.IP:
        ip = within('CTA_TUPLE_IP', () => decodeIp(attr.buf, attr.start, attr.end, family));
        break;
      case CTA_TUPLE.PROTO:
        proto = within('CTA_TUPLE_PROTO', () => decodeProto(attr.buf, attr.start, attr.end));
        break;
      case CTA_TUPLE.ZONE:
        zone = readU16be(attr, 'CTA_TUPLE_ZONE');
        break;
      default:
        return false;
    }
    return true;
  });
  if (!ip) throw missing('CTA_TUPLE_IP');
  if (!proto) throw missing('CTA_TUPLE_PROTO');
  const v4 = family === 'ipv4';
  if (ip.src === undefined) throw missing(v4 ? 'CTA_IP_V4_SRC' : 'CTA_IP_V6_SRC').within('CTA_TUPLE_IP');
  if (ip.dst === undefined) throw missing(v4 ? 'CTA_IP_V4_DST' : 'CTA_IP_V6_DST').within('CTA_TUPLE_IP');
  const p = proto;
  const tuple: Tuple = { src: ip.src, dst: ip.dst, protocol: p.protocol };
  if (p.sport !== undefined) tuple.sport = p.sport;
  if (p.dport !== undefined) tuple.dport = p.dport;
  const icmp = within('CTA_TUPLE_PROTO', () => icmpFields(p));
  if (icmp) tuple.icmp = icmp;
  if (zone !== undefined) tuple.zone = zone;
  if (unknown) tuple.unknown = unknown;
  if (ip.unknown) tuple.ipUnknown = ip.unknown;
  if (p.unknown) tuple.protoUnknown = p.unknown;
  return tuple;
}

/**
 * Writes tuple as the nested attribute attrType (CTA_TUPLE_ORIG, CTA_TUPLE_REPLY, CTA_TUPLE_MASTER), in kernel
 * order. Addresses that are not of the family throw ValidationError.
 */
export function encodeTuple(tuple: Tuple, family: Family, w: AttrWriter, attrType: number): void {
  const v4 = family === 'ipv4';
  const src = encodeAddress(tuple.src, family, 'src');
  const dst = encodeAddress(tuple.dst, family, 'dst');
  w.nested(attrType, (t) => {
    const level = new InPlaceWriter(t, tuple.unknown);
    level.next().nested(CTA_TUPLE.IP, (ipw) => {
      const ip = new InPlaceWriter(ipw, tuple.ipUnknown);
      ip.next().bytes(v4 ? CTA_IP.V4_SRC : CTA_IP.V6_SRC, src);
      ip.next().bytes(v4 ? CTA_IP.V4_DST : CTA_IP.V6_DST, dst);
      ip.finish();
    });
    level.next().nested(CTA_TUPLE.PROTO, (pw) => {
      const proto = new InPlaceWriter(pw, tuple.protoUnknown);
      proto.next().u8(CTA_PROTO.NUM, checkUint(tuple.protocol, 8, 'protocol'));
      if (tuple.sport !== undefined) proto.next().u16be(CTA_PROTO.SRC_PORT, checkUint(tuple.sport, 16, 'sport'));
      if (tuple.dport !== undefined) proto.next().u16be(CTA_PROTO.DST_PORT, checkUint(tuple.dport, 16, 'dport'));
      if (tuple.icmp) {
        const v6 = tuple.protocol === IPPROTO.ICMPV6;
        proto.next().u16be(v6 ? CTA_PROTO.ICMPV6_ID : CTA_PROTO.ICMP_ID, checkUint(tuple.icmp.id, 16, 'icmp.id'));
        proto.next().u8(v6 ? CTA_PROTO.ICMPV6_TYPE : CTA_PROTO.ICMP_TYPE, checkUint(tuple.icmp.type, 8, 'icmp.type'));
        proto.next().u8(v6 ? CTA_PROTO.ICMPV6_CODE : CTA_PROTO.ICMP_CODE, checkUint(tuple.icmp.code, 8, 'icmp.code'));
      }
      proto.finish();
    });
    if (tuple.zone !== undefined) level.next().u16be(CTA_TUPLE.ZONE, checkUint(tuple.zone, 16, 'zone'));
    level.finish();
  });
}
