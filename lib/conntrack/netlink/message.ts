// nlmsghdr + nfgenmsg framing for nfnetlink requests and replies. Knows nothing of CTA_* meanings.
import { CodecError } from '../errors';
import { NFGENMSG_LEN, NLMSG, NLMSG_HDRLEN } from '../constants';
import { align4 } from './attributes';

// A module-local copy: an imported binding can compile to a getter, called here once per message.
const HDRLEN = NLMSG_HDRLEN;

export interface RequestHeader {
  /** Full nlmsg type, e.g. ctnlMsgType(IPCTNL_MSG.CT_GET). */
  type: number;
  flags: number;
  seq: number;
  /** nfgenmsg.nfgen_family: AF_UNSPEC, AF_INET or AF_INET6. */
  family: number;
  /** nfgenmsg.version (0; 1 asks a flush to honour the family). */
  version?: number;
  /** nfgenmsg.res_id, host order here, big-endian on the wire. */
  resId?: number;
}

/** Builds one nfnetlink message: nlmsghdr, nfgenmsg, then the already-encoded attributes. */
export function buildMessage(header: RequestHeader, attrs?: Uint8Array): Uint8Array {
  const payload = attrs?.length ?? 0;
  const length = NLMSG_HDRLEN + NFGENMSG_LEN + payload;
  const out = new Uint8Array(align4(length));
  const view = new DataView(out.buffer);
  view.setUint32(0, length, true);
  view.setUint16(4, header.type, true);
  view.setUint16(6, header.flags, true);
  view.setUint32(8, header.seq >>> 0, true);
  view.setUint32(12, 0, true); // nlmsg_pid 0: addressed to the kernel
  out[16] = header.family;
  out[17] = header.version ?? 0;
  view.setUint16(18, header.resId ?? 0, false);
  if (attrs) out.set(attrs, NLMSG_HDRLEN + NFGENMSG_LEN);
  return out;
}

/** A message inside a received datagram: the header fields and where its payload lies. */
export interface ReceivedMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  buf: Uint8Array;
  /** Offset of the message (its nlmsghdr) in buf. */
  offset: number;
  /** Total message length (header included). */
  length: number;
}

/**
 * Calls visit for each netlink message in a datagram. Stops early when visit returns false.
 * A datagram whose lengths do not add up throws CodecError: the kernel never sends one, so it means corruption.
 */
export function forEachMessage(buf: Uint8Array, visit: (msg: ReceivedMessage) => boolean | void): void {
  scanMessages(buf, (msg) => visit({ ...msg }));
}

/**
 * forEachMessage for the per-entry path of a dump: visit gets one message object, updated in place for each
 * message, so it is only valid during the call (a dump of a million entries would otherwise allocate a million).
 */
export function scanMessages(buf: Uint8Array, visit: (msg: ReceivedMessage) => boolean | void): void {
  let offset = 0;
  const msg: ReceivedMessage = { type: 0, flags: 0, seq: 0, pid: 0, buf, offset: 0, length: 0 };
  while (buf.length - offset >= HDRLEN) {
    const length = (buf[offset] | (buf[offset + 1] << 8) | (buf[offset + 2] << 16) | (buf[offset + 3] << 24)) >>> 0;
    if (length < HDRLEN || offset + length > buf.length) {
      throw new CodecError(['nlmsghdr'], `bad message length ${length} at offset ${offset} of ${buf.length}`);
    }
    msg.type = buf[offset + 4] | (buf[offset + 5] << 8);
    msg.flags = buf[offset + 6] | (buf[offset + 7] << 8);
    msg.seq = (buf[offset + 8] | (buf[offset + 9] << 8) | (buf[offset + 10] << 16) | (buf[offset + 11] << 24)) >>> 0;
    msg.pid = (buf[offset + 12] | (buf[offset + 13] << 8) | (buf[offset + 14] << 16) | (buf[offset + 15] << 24)) >>> 0;
    msg.offset = offset;
    msg.length = length;
    if (visit(msg) === false) return;
    offset += (length + 3) & ~3;
  }
}

/** The errno of an NLMSG_ERROR message (0 for an ACK), positive. */
export function errorOf(msg: ReceivedMessage): number {
  if (msg.type !== NLMSG.ERROR) return 0;
  if (msg.length < NLMSG_HDRLEN + 4) throw new CodecError(['nlmsgerr'], `bad length ${msg.length}`);
  const view = new DataView(msg.buf.buffer, msg.buf.byteOffset + msg.offset + NLMSG_HDRLEN, 4);
  return -view.getInt32(0, true);
}

/** The seq of the request an NLMSG_ERROR answers (its nlmsghdr is echoed after the errno). */
export function erroredSeq(msg: ReceivedMessage): number {
  if (msg.length < NLMSG_HDRLEN + 4 + NLMSG_HDRLEN) return msg.seq;
  const view = new DataView(msg.buf.buffer, msg.buf.byteOffset + msg.offset + NLMSG_HDRLEN + 4, NLMSG_HDRLEN);
  return view.getUint32(8, true);
}

/** nfgenmsg of a data message. */
export function nfgenOf(msg: ReceivedMessage): { family: number; version: number; resId: number } {
  if (msg.length < NLMSG_HDRLEN + NFGENMSG_LEN) throw new CodecError(['nfgenmsg'], `message too short (${msg.length} bytes)`);
  const at = msg.offset + NLMSG_HDRLEN;
  return { family: msg.buf[at], version: msg.buf[at + 1], resId: (msg.buf[at + 2] << 8) | msg.buf[at + 3] };
}

/** Where the CTA_* attributes of a data message lie: [start, end) in msg.buf. */
export function attrsOf(msg: ReceivedMessage): { start: number; end: number } {
  return { start: msg.offset + NLMSG_HDRLEN + NFGENMSG_LEN, end: msg.offset + msg.length };
}
