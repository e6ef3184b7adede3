// CTA_PROTOINFO <-> ProtoInfo. TCP is modelled (ctnetlink's tcp_to_nlattr order: STATE, WSCALE_ORIGINAL,
// WSCALE_REPLY, FLAGS_ORIGINAL, FLAGS_REPLY; a DESTROY event carries STATE only). DCCP, SCTP and anything newer
// are kept raw in ProtoInfo.unknown.
import { CTA_PROTOINFO as CTA_PROTOINFO_, CTA_PROTOINFO_TCP as CTA_PROTOINFO_TCP_, TCP_STATES as TCP_STATES_ } from '../constants';
import { CodecError, ValidationError } from '../errors';
import { readU8 as readU8_, type AttrWriter } from '../netlink/attributes';
import type { ProtoInfo, TcpInfo } from '../types';
import { CTA_PROTOINFO_NAMES as CTA_PROTOINFO_NAMES_, CTA_PROTOINFO_TCP_NAMES as CTA_PROTOINFO_TCP_NAMES_ } from './names';
import { checkUint as checkUint_, expectLength as expectLength_, missing as missing_, within as within_ } from './nest';
import { decodeLevel as decodeLevel_, InPlaceWriter as InPlaceWriter_ } from './raw';

// Imported bindings can compile to getters (CommonJS interop, bundlers), which cost more than the decoding on the
// per-attribute path; the hot code reads these module-local copies.
const CTA_PROTOINFO = CTA_PROTOINFO_;
const CTA_PROTOINFO_TCP = CTA_PROTOINFO_TCP_;
const TCP_STATES = TCP_STATES_;
const readU8 = readU8_;
const CTA_PROTOINFO_NAMES = CTA_PROTOINFO_NAMES_;
const CTA_PROTOINFO_TCP_NAMES = CTA_PROTOINFO_TCP_NAMES_;
const checkUint = checkUint_;
const expectLength = expectLength_;
const missing = missing_;
const within = within_;
const InPlaceWriter = InPlaceWriter_;
const decodeLevel = decodeLevel_;

const TCP_STATE_NUMBERS: Readonly<Record<string, number>> = Object.fromEntries(TCP_STATES.map((name, i) => [name, i]));

/** Decodes the attributes inside CTA_PROTOINFO_TCP. */
export function decodeTcpInfo(buf: Uint8Array, start: number, end: number): TcpInfo {
  let state: number | undefined;
  const info: Omit<TcpInfo, 'state'> = {};
  const unknown = decodeLevel(buf, start, end, CTA_PROTOINFO_TCP_NAMES, (attr) => {
    switch (attr.type) {
      case CTA_PROTOINFO_TCP.STATE:
        state = readU8(attr, 'CTA_PROTOINFO_TCP_STATE');
        if (state >= TCP_STATES.length) throw new CodecError(['CTA_PROTOINFO_TCP_STATE'], `unknown TCP state ${state}`);
        break;
      case CTA_PROTOINFO_TCP.WSCALE_ORIGINAL:
        info.wscaleOriginal = readU8(attr, 'CTA_PROTOINFO_TCP_WSCALE_ORIGINAL');
        break;
      case CTA_PROTOINFO_TCP.WSCALE_REPLY:
        info.wscaleReply = readU8(attr, 'CTA_PROTOINFO_TCP_WSCALE_REPLY');
        break;
      case CTA_PROTOINFO_TCP.FLAGS_ORIGINAL:
      case CTA_PROTOINFO_TCP.FLAGS_REPLY: {
        // struct nf_ct_tcp_flags { __u8 flags; __u8 mask; }
        expectLength(attr, CTA_PROTOINFO_TCP_NAMES[attr.type], 2);
        const flags = { flags: attr.buf[attr.start], mask: attr.buf[attr.start + 1] };
        if (attr.type === CTA_PROTOINFO_TCP.FLAGS_ORIGINAL) info.flagsOriginal = flags;
        else info.flagsReply = flags;
        break;
      }
      default:
        return false;
    }
    return true;
  });
  if (state === undefined) throw missing('CTA_PROTOINFO_TCP_STATE');
  const tcp: TcpInfo = { state: TCP_STATES[state], ...info };
  if (unknown) tcp.unknown = unknown;
  return tcp;
}

export function encodeTcpInfo(tcp: TcpInfo, w: AttrWriter): void {
  const state = TCP_STATE_NUMBERS[tcp.state];
  if (state === undefined) throw new ValidationError('protoinfo.tcp.state', `unknown TCP state ${JSON.stringify(tcp.state)}`);
  const level = new InPlaceWriter(w, tcp.unknown);
  level.next().u8(CTA_PROTOINFO_TCP.STATE, state);
  if (tcp.wscaleOriginal !== undefined) level.next().u8(CTA_PROTOINFO_TCP.WSCALE_ORIGINAL, checkUint(tcp.wscaleOriginal, 8, 'wscaleOriginal'));
  if (tcp.wscaleReply !== undefined) level.next().u8(CTA_PROTOINFO_TCP.WSCALE_REPLY, checkUint(tcp.wscaleReply, 8, 'wscaleReply'));
  const flags = (f: { flags: number; mask: number }, field: string): Uint8Array =>
    Uint8Array.of(checkUint(f.flags, 8, `${field}.flags`), checkUint(f.mask, 8, `${field}.mask`));
  if (tcp.flagsOriginal) level.next().bytes(CTA_PROTOINFO_TCP.FLAGS_ORIGINAL, flags(tcp.flagsOriginal, 'flagsOriginal'));
  if (tcp.flagsReply) level.next().bytes(CTA_PROTOINFO_TCP.FLAGS_REPLY, flags(tcp.flagsReply, 'flagsReply'));
  level.finish();
}

/** Decodes the attributes inside CTA_PROTOINFO. */
export function decodeProtoInfo(buf: Uint8Array, start: number, end: number): ProtoInfo {
  const info: ProtoInfo = {};
  const unknown = decodeLevel(buf, start, end, CTA_PROTOINFO_NAMES, (attr) => {
    if (attr.type !== CTA_PROTOINFO.TCP) return false;
    info.tcp = within('CTA_PROTOINFO_TCP', () => decodeTcpInfo(attr.buf, attr.start, attr.end));
    return true;
  });
  if (unknown) info.unknown = unknown;
  return info;
}

/** Writes CTA_PROTOINFO (nested) with its contents. */
export function encodeProtoInfo(info: ProtoInfo, w: AttrWriter, attrType: number): void {
  w.nested(attrType, (inner) => {
    const level = new InPlaceWriter(inner, info.unknown);
    const tcp = info.tcp;
    if (tcp) level.next().nested(CTA_PROTOINFO.TCP, (t) => encodeTcpInfo(tcp, t));
    level.finish();
  });
}
