// Malformed input names its attribute path; attributes the codec does not model survive a round trip in place.
import { describe, expect, it } from 'vitest';
import { decodeConnection, encodeConnection } from '@/lib/conntrack/codec/connection';
import { CodecError } from '@/lib/conntrack/errors';
import { AttrWriter } from '@/lib/conntrack/netlink/attributes';
import type { Connection, Family } from '@/lib/conntrack/types';
import { attrsOf, fixture, nla, NESTED, splitAttrs } from './fixtures';

const v4 = (a: string): Buffer => Buffer.from(a.split('.').map(Number));
const u8 = (n: number): Buffer => Buffer.from([n]);
const be16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
const be32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

function tuple(type: number, ip: Buffer[], proto: Buffer[], extra: Buffer[] = []): Buffer {
  return nla(type, Buffer.concat([nla(1, Buffer.concat(ip), NESTED), nla(2, Buffer.concat(proto), NESTED), ...extra]), NESTED);
}

const goodIp = [nla(1, v4('10.0.0.1')), nla(2, v4('10.0.0.2'))];
const goodProto = [nla(1, u8(17)), nla(2, be16(1000)), nla(3, be16(53))];
const replyTuple = tuple(2, [nla(1, v4('10.0.0.2')), nla(2, v4('10.0.0.1'))], [nla(1, u8(17)), nla(2, be16(53)), nla(3, be16(1000))]);
const status = nla(3, be32(8));

function decode(bytes: Buffer, family: Family = 'ipv4'): Connection {
  return decodeConnection(bytes, 0, bytes.length, family);
}

function decodeError(bytes: Buffer, family: Family = 'ipv4'): CodecError {
  try {
    decode(bytes, family);
  } catch (err) {
    if (err instanceof CodecError) return err;
    throw err;
  }
  throw new Error('decoded without an error');
}

function encode(conn: Connection): Buffer {
  const w = new AttrWriter();
  encodeConnection(conn, w);
  return Buffer.from(w.finish());
}

describe('malformed known attributes', () => {
  it.each([
    [
      'an IPv4 address of 3 bytes',
      Buffer.concat([tuple(1, [nla(1, Buffer.from([10, 0, 0])), nla(2, v4('10.0.0.2'))], goodProto), replyTuple, status]),
      'CTA_TUPLE_ORIG: CTA_TUPLE_IP: CTA_IP_V4_SRC: bad length 3, expected 4',
    ],
    [
      'a port of 4 bytes in the reply',
      Buffer.concat([tuple(1, goodIp, goodProto), tuple(2, goodIp, [nla(1, u8(17)), nla(2, be32(53))]), status]),
      'CTA_TUPLE_REPLY: CTA_TUPLE_PROTO: CTA_PROTO_SRC_PORT: bad length 4, expected 2',
    ],
    ['a 2-byte status', Buffer.concat([tuple(1, goodIp, goodProto), replyTuple, nla(3, be16(8))]), 'CTA_STATUS: bad length 2, expected 4'],
    ['no reply tuple', Buffer.concat([tuple(1, goodIp, goodProto), status]), 'missing CTA_TUPLE_REPLY'],
    ['no status', Buffer.concat([tuple(1, goodIp, goodProto), replyTuple]), 'missing CTA_STATUS'],
    ['no protocol number', Buffer.concat([tuple(1, goodIp, [nla(2, be16(1))]), replyTuple, status]), 'CTA_TUPLE_ORIG: CTA_TUPLE_PROTO: missing CTA_PROTO_NUM'],
    ['no destination address', Buffer.concat([tuple(1, [goodIp[0]], goodProto), replyTuple, status]), 'CTA_TUPLE_ORIG: CTA_TUPLE_IP: missing CTA_IP_V4_DST'],
    [
      'an IPv6 address in an IPv4 entry',
      Buffer.concat([tuple(1, [nla(3, Buffer.alloc(16)), goodIp[1]], goodProto), replyTuple, status]),
      'CTA_TUPLE_ORIG: CTA_TUPLE_IP: CTA_IP_V6_SRC: unexpected in an ipv4 entry',
    ],
    [
      'ICMP without its id',
      Buffer.concat([tuple(1, goodIp, [nla(1, u8(1)), nla(5, u8(8)), nla(6, u8(0))]), replyTuple, status]),
      'CTA_TUPLE_ORIG: CTA_TUPLE_PROTO: missing CTA_PROTO_ICMP_ID',
    ],
    [
      'TCP state 10 (there is none)',
      Buffer.concat([tuple(1, goodIp, goodProto), replyTuple, status, nla(4, nla(1, nla(1, u8(10)), NESTED), NESTED)]),
      'CTA_PROTOINFO: CTA_PROTOINFO_TCP: CTA_PROTOINFO_TCP_STATE: unknown TCP state 10',
    ],
    [
      'TCP flags of 1 byte',
      Buffer.concat([tuple(1, goodIp, goodProto), replyTuple, status, nla(4, nla(1, Buffer.concat([nla(1, u8(3)), nla(4, u8(1))]), NESTED), NESTED)]),
      'CTA_PROTOINFO: CTA_PROTOINFO_TCP: CTA_PROTOINFO_TCP_FLAGS_ORIGINAL: bad length 1, expected 2',
    ],
    [
      'counters in one direction only',
      Buffer.concat([tuple(1, goodIp, goodProto), replyTuple, status, nla(9, Buffer.concat([nla(1, Buffer.alloc(8)), nla(2, Buffer.alloc(8))]), NESTED)]),
      'missing CTA_COUNTERS_REPLY',
    ],
    [
      'a 4-byte packet counter',
      Buffer.concat([tuple(1, goodIp, goodProto), replyTuple, status, nla(10, Buffer.concat([nla(1, be32(1)), nla(2, Buffer.alloc(8))]), NESTED)]),
      'CTA_COUNTERS_REPLY: CTA_COUNTERS_PACKETS: bad length 4, expected 8',
    ],
    [
      'a timestamp without its start',
      Buffer.concat([tuple(1, goodIp, goodProto), replyTuple, status, nla(20, nla(2, Buffer.alloc(8)), NESTED)]),
      'CTA_TIMESTAMP: missing CTA_TIMESTAMP_START',
    ],
    [
      'a sequence adjustment missing a field',
      Buffer.concat([tuple(1, goodIp, goodProto), replyTuple, status, nla(15, Buffer.concat([nla(1, be32(1)), nla(2, be32(2))]), NESTED)]),
      'CTA_SEQ_ADJ_ORIG: missing CTA_SEQADJ_OFFSET_AFTER',
    ],
    [
      'a nested attribute header shorter than itself',
      Buffer.concat([nla(1, Buffer.concat([Buffer.from([2, 0, 1, 0]), nla(2, Buffer.alloc(0), NESTED)]), NESTED), replyTuple, status]),
      'CTA_TUPLE_ORIG: CTA_TUPLE_IP: bad length 2',
    ],
    [
      'an inner length running past its nest',
      Buffer.concat([nla(1, Buffer.from([0x40, 0, 2, 0x80, 0, 0, 0, 0]), NESTED), replyTuple, status]),
      'CTA_TUPLE_ORIG: CTA_TUPLE_PROTO: length 64 runs past the end (8 bytes left)',
    ],
  ])('%s', (_name, bytes, message) => {
    const err = decodeError(bytes);
    expect(err.message).toBe(message);
    expect(err.path).toEqual(message.split(': ').slice(0, -1));
  });

  it('truncating a captured entry anywhere inside an attribute gives a CodecError naming a top-level attribute', () => {
    const attrs = attrsOf(fixture('tcp4-real-client-closed'));
    const names = new Set<string>();
    // Stop at every byte that is not an attribute boundary (a cut at a boundary is a shorter valid list).
    const boundaries = new Set<number>();
    let offset = 0;
    for (const a of splitAttrs(attrs)) {
      boundaries.add(offset);
      offset += a.raw.length;
    }
    for (let cut = 4; cut < attrs.length; cut++) {
      if (boundaries.has(cut) || boundaries.has(cut - 1) || boundaries.has(cut - 2) || boundaries.has(cut - 3)) continue;
      const err = decodeError(attrs.subarray(0, cut));
      names.add(err.path[0]);
      expect(err.message).toMatch(/runs past the end/);
    }
    expect([...names].sort()).toEqual(['CTA_COUNTERS_ORIG', 'CTA_COUNTERS_REPLY', 'CTA_ID', 'CTA_MARK', 'CTA_PROTOINFO', 'CTA_STATUS', 'CTA_TIMEOUT', 'CTA_TIMESTAMP', 'CTA_TUPLE_ORIG', 'CTA_TUPLE_REPLY', 'CTA_USE']);
  });
});

describe('unknown attributes', () => {
  it('are kept at the top level, with flags, and written back in place', () => {
    const parts = splitAttrs(attrsOf(fixture('tcp4-established-mark')));
    const statusAt = parts.findIndex((p) => p.type === 3);
    const plain = nla(99, Buffer.from('abcde'));
    const nested = nla(98, nla(1, be32(7)), NESTED);
    const bytes = Buffer.concat([...parts.slice(0, statusAt + 1).map((p) => p.raw), plain, nested, ...parts.slice(statusAt + 1).map((p) => p.raw), nla(97, Buffer.alloc(0))]);
    const conn = decode(bytes);
    expect(conn.unknown).toEqual([
      { type: 99, nested: false, data: Uint8Array.from(Buffer.from('abcde')), position: statusAt + 1 },
      { type: 98, nested: true, data: Uint8Array.from(nla(1, be32(7))), position: statusAt + 2 },
      { type: 97, nested: false, data: new Uint8Array(0), position: parts.length + 2 },
    ]);
    expect(conn.mark).toBe(42);
    expect(encode(conn).toString('hex')).toBe(bytes.toString('hex'));
  });

  it('are kept inside the tuple, its IP and PROTO nests and the TCP info', () => {
    const bytes = Buffer.concat([
      tuple(1, [nla(9, u8(1)), ...goodIp], [...goodProto, nla(12, be16(7))], [nla(7, be32(1), NESTED)]),
      replyTuple,
      status,
      nla(4, Buffer.concat([nla(1, Buffer.concat([nla(1, u8(3)), nla(6, be32(5))]), NESTED), nla(2, nla(1, u8(1)), NESTED)]), NESTED),
    ]);
    const conn = decode(bytes);
    expect(conn.original.ipUnknown).toEqual([{ type: 9, nested: false, data: Uint8Array.of(1), position: 0 }]);
    expect(conn.original.protoUnknown).toEqual([{ type: 12, nested: false, data: Uint8Array.of(0, 7), position: 3 }]);
    expect(conn.original.unknown).toEqual([{ type: 7, nested: true, data: Uint8Array.of(0, 0, 0, 1), position: 2 }]);
    expect(conn.original.src).toBe('10.0.0.1');
    expect(conn.protoinfo?.tcp?.state).toBe('ESTABLISHED');
    expect(conn.protoinfo?.tcp?.unknown).toEqual([{ type: 6, nested: false, data: Uint8Array.of(0, 0, 0, 5), position: 1 }]);
    expect(conn.protoinfo?.unknown).toEqual([{ type: 2, nested: true, data: Uint8Array.from(nla(1, u8(1))), position: 1 }]);
    expect(encode(conn).toString('hex')).toBe(bytes.toString('hex'));
  });

  it('without a position are written after the modelled attributes', () => {
    const conn = decode(Buffer.concat([tuple(1, goodIp, goodProto), replyTuple, status]));
    conn.unknown = [{ type: 99, nested: false, data: Uint8Array.of(1, 2, 3, 4) }];
    const out = splitAttrs(encode(conn));
    expect(out.map((a) => a.type)).toEqual([1, 2, 3, 99]);
  });
});

describe('families without a capture (layout from nfnetlink_conntrack.h)', () => {
  it('CTA_HELP, CTA_SECCTX, CTA_TUPLE_MASTER and CTA_SEQ_ADJ_* round-trip in kernel order', () => {
    const master = tuple(14, goodIp, [nla(1, u8(6)), nla(2, be16(40000)), nla(3, be16(21))]);
    const seqAdj = (type: number, pos: number, before: number, after: number): Buffer =>
      nla(type, Buffer.concat([nla(1, be32(pos)), nla(2, be32(before >>> 0)), nla(3, be32(after >>> 0))]), NESTED);
    const bytes = Buffer.concat([
      tuple(1, goodIp, goodProto),
      replyTuple,
      status,
      nla(19, nla(1, Buffer.from('system_u:object_r:unlabeled_t:s0\0')), NESTED),
      nla(12, be32(77)),
      master,
      nla(5, Buffer.concat([nla(1, Buffer.from('ftp\0')), nla(2, Buffer.from([1, 2, 3, 4]), NESTED)]), NESTED),
      seqAdj(15, 1000, -3, 5),
      seqAdj(16, 2000, 0, -7),
    ]);
    const conn = decode(bytes);
    expect(conn.helper).toBe('ftp');
    expect(conn.helpUnknown).toEqual([{ type: 2, nested: true, data: Uint8Array.of(1, 2, 3, 4), position: 1 }]);
    expect(conn.secctx).toBe('system_u:object_r:unlabeled_t:s0');
    expect(conn.master).toMatchObject({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 6, sport: 40000, dport: 21 });
    expect(conn.seqAdjOriginal).toEqual({ correctionPos: 1000, offsetBefore: -3, offsetAfter: 5 });
    expect(conn.seqAdjReply).toEqual({ correctionPos: 2000, offsetBefore: 0, offsetAfter: -7 });
    expect(encode(conn).toString('hex')).toBe(bytes.toString('hex'));
  });

  it('CTA_TIMESTAMP with a stop time and CTA_TIMESTAMP_EVENT', () => {
    const be64 = (n: bigint): Buffer => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(n);
      return b;
    };
    const bytes = Buffer.concat([
      tuple(1, goodIp, goodProto),
      replyTuple,
      status,
      nla(20, Buffer.concat([nla(1, be64(1795264579999778155n)), nla(2, be64(1795264589999778155n))]), NESTED),
      nla(27, be64(18446744073709551615n)),
    ]);
    const conn = decode(bytes);
    expect(conn.timestamp).toEqual({ start: 1795264579999778155n, stop: 1795264589999778155n });
    expect(conn.timestampEvent).toBe(18446744073709551615n);
    expect(encode(conn).toString('hex')).toBe(bytes.toString('hex'));
  });

  it('ICMPv6 fields use the ICMPV6 attribute types', () => {
    const ip6 = [nla(3, Buffer.from('fe800000000000000000000000000001', 'hex')), nla(4, Buffer.from('ff020000000000000000000000000001', 'hex'))];
    const proto = [nla(1, u8(58)), nla(7, be16(77)), nla(8, u8(128)), nla(9, u8(0))];
    const bytes = Buffer.concat([tuple(1, ip6, proto), tuple(2, ip6, proto), status]);
    const conn = decode(bytes, 'ipv6');
    expect(conn.original.icmp).toEqual({ type: 128, code: 0, id: 77 });
    expect(encode(conn).toString('hex')).toBe(bytes.toString('hex'));
  });
});
