import { describe, expect, it } from 'vitest';
import { IPS, TCP_STATES } from '@/lib/conntrack/constants';
import { closedBy, copyIdentity, decodeConnection, decodeIdentity, encodeConnection, encodeIdentity, familyFromNumber, natInfo, statusNames } from '@/lib/conntrack/codec/connection';
import { AttrWriter } from '@/lib/conntrack/netlink/attributes';
import type { Connection, Tuple } from '@/lib/conntrack/types';
import { attrsOf, connectionFixtures, fixture, ATTRS_START, type ExpectedTuple } from './fixtures';

const fixtures = connectionFixtures();

function decode(name: string): Connection {
  const f = fixture(name);
  return decodeConnection(f.message, ATTRS_START, f.end, familyFromNumber(f.family));
}

function encode(conn: Connection): Buffer {
  const w = new AttrWriter();
  encodeConnection(conn, w);
  return Buffer.from(w.finish());
}

function expectTuple(actual: Tuple, expected: ExpectedTuple): void {
  expect(actual.src).toBe(expected.src);
  expect(actual.dst).toBe(expected.dst);
  expect(actual.protocol).toBe(expected.protocol);
  expect(actual.sport).toBe(expected.sport);
  expect(actual.dport).toBe(expected.dport);
  expect(actual.icmp).toEqual(expected.icmp);
  expect(actual.zone).toBe(expected.zone);
}

describe('captured fixtures', () => {
  it('covers the cases the capture script is meant to produce', () => {
    const names = fixtures.map((f) => f.name);
    for (const name of ['tcp4-established-mark', 'tcp4-snat', 'tcp4-dnat', 'icmp4-echo', 'icmp6-echo', 'tcp6-established-zone', 'udp6-mapped', 'tcp4-real-client-closed', 'tcp4-real-server-closed-label']) {
      expect(names).toContain(name);
    }
  });

  describe.each(fixtures.map((f) => [f.name, f] as const))('%s', (_name, f) => {
    it('round-trips: bytes -> Connection -> the same bytes', () => {
      const conn = decodeConnection(f.message, ATTRS_START, f.end, familyFromNumber(f.family));
      expect(encode(conn).toString('hex')).toBe(attrsOf(f).toString('hex'));
    });

    it('decodes what conntrack(8) printed for the entry at capture time', () => {
      const conn = decodeConnection(f.message, ATTRS_START, f.end, familyFromNumber(f.family));
      const oracle = f.conntrack;
      expect(conn.family).toBe(oracle.family);
      expectTuple(conn.original, oracle.original);
      expectTuple(conn.reply, oracle.reply);
      expect(conn.id).toBe(oracle.id);
      expect(conn.mark).toBe(oracle.mark);
      expect(conn.use).toBe(oracle.use);
      expect(conn.zone).toBe(oracle.zone ?? 0);
      expect(conn.protoinfo?.tcp?.state).toBe(oracle.state === undefined || oracle.original.protocol !== 6 ? undefined : oracle.state);
      expect((conn.status & IPS.ASSURED) !== 0).toBe(oracle.assured);
      expect((conn.status & IPS.SEEN_REPLY) === 0).toBe(oracle.unreplied);
      expect(conn.counters?.original.packets.toString()).toBe(oracle.original.packets);
      expect(conn.counters?.original.bytes.toString()).toBe(oracle.original.bytes);
      expect(conn.counters?.reply.packets.toString()).toBe(oracle.reply.packets);
      expect(conn.counters?.reply.bytes.toString()).toBe(oracle.reply.bytes);
      expect(conn.timestamp?.start.toString()).toBe(oracle.timestampStart);
      expect(conn.timestamp?.stop?.toString()).toBe(oracle.timestampStop);
      expect(conn.unknown).toBeUndefined();
    });
  });
});

describe('what the captures show', () => {
  it('SNAT: the translated source is the reply destination', () => {
    // Captured with conntrack -I ... --src-nat 203.0.113.5:61000
    expect(natInfo(decode('tcp4-snat'))).toEqual({ snat: { address: '203.0.113.5', port: 61000 } });
    // --src-nat 203.0.113.5 without a port keeps the original source port 51001
    expect(natInfo(decode('tcp4-snat-address-only'))).toEqual({ snat: { address: '203.0.113.5', port: 51001 } });
  });

  it('DNAT: the real destination is the reply source', () => {
    // Captured with conntrack -I ... --dst-nat 10.0.0.99:8080
    expect(natInfo(decode('tcp4-dnat'))).toEqual({ dnat: { address: '10.0.0.99', port: 8080 } });
  });

  it('no NAT without the status bits', () => {
    expect(natInfo(decode('tcp4-established-mark'))).toEqual({});
  });

  it('who closed a real TCP connection (CLOSE_INIT)', () => {
    expect(closedBy(decode('tcp4-real-client-closed'))).toBe('client');
    expect(closedBy(decode('tcp4-real-server-closed-label'))).toBe('server');
    expect(closedBy(decode('tcp4-real-reset'))).toBeUndefined();
    expect(decode('tcp4-real-reset').protoinfo?.tcp?.state).toBe('CLOSE');
    expect(closedBy(decode('udp4-real-replied'))).toBeUndefined();
  });

  it('a real handshake records window scaling and SACK in both directions', () => {
    const tcp = decode('tcp6-real-established').protoinfo?.tcp;
    expect(tcp?.state).toBe('ESTABLISHED');
    // Linux clients and servers both offer window scaling (0x01) and SACK (0x02) on loopback.
    expect((tcp?.flagsOriginal?.flags ?? 0) & 0x03).toBe(0x03);
    expect((tcp?.flagsReply?.flags ?? 0) & 0x03).toBe(0x03);
    expect(tcp?.wscaleOriginal).toBeGreaterThan(0);
  });

  it('the nft rule "ct label set 5" shows as bit 5 of CTA_LABELS', () => {
    const labels = decode('tcp4-real-server-closed-label').labels;
    expect(labels && Buffer.from(labels).toString('hex')).toBe('20000000000000000000000000000000');
    expect(decode('tcp4-real-client-closed').labels).toBeUndefined();
  });

  it('a control connection through the ftp helper names it (CTA_HELP_NAME)', () => {
    expect(decode('tcp4-real-ftp-control').helper).toBe('ftp');
    expect(decode('tcp6-real-ftp-control').helper).toBe('ftp');
    expect(decode('tcp4-real-client-closed').helper).toBeUndefined();
  });

  it('keeps SCTP protocol info raw, nested flag included', () => {
    const info = decode('sctp4-established').protoinfo;
    expect(info?.tcp).toBeUndefined();
    expect(info?.unknown).toHaveLength(1);
    expect(info?.unknown?.[0]).toMatchObject({ type: 3, nested: true, position: 0 });
  });

  it('GRE keys arrive as ports, an unknown protocol has none', () => {
    const gre = decode('gre4-keys');
    expect([gre.original.sport, gre.original.dport]).toEqual([1, 2]);
    const generic = decode('proto99-generic');
    expect(generic.original.protocol).toBe(99);
    expect(generic.original.sport).toBeUndefined();
    expect(generic.original.icmp).toBeUndefined();
  });

  it('the kernel sends CTA_SYNPROXY (all zero) for entries with the extension', () => {
    expect(decode('icmp4-echo').synproxy).toEqual({ isn: 0, its: 0, tsoff: 0 });
  });

  it('a zone bound to one direction is CTA_TUPLE_ZONE, not CTA_ZONE', () => {
    const conn = decode('udp4-orig-zone');
    expect(conn.original.zone).toBe(3);
    expect(conn.reply.zone).toBeUndefined();
    expect(conn.zone).toBe(0);
    expect(decode('udp4-zone').zone).toBe(9);
  });
});

describe('statusNames', () => {
  it('names the IPS bits lowest first and shows unnamed bits in hex', () => {
    expect(statusNames(0)).toEqual([]);
    expect(statusNames(0x0e)).toEqual(['SEEN_REPLY', 'ASSURED', 'CONFIRMED']);
    expect(statusNames(0x1b0)).toEqual(['SRC_NAT', 'DST_NAT', 'SRC_NAT_DONE', 'DST_NAT_DONE']);
    expect(statusNames(0x80010001)).toEqual(['EXPECTED', '0x10000', '0x80000000']);
  });
});

describe('familyFromNumber', () => {
  it('maps AF_INET and AF_INET6 and refuses the rest', () => {
    expect(familyFromNumber(2)).toBe('ipv4');
    expect(familyFromNumber(10)).toBe('ipv6');
    expect(() => familyFromNumber(0)).toThrow(/unsupported address family 0/);
  });
});

describe('encodeConnection for requests', () => {
  it('writes a minimal CT_NEW body in kernel order', () => {
    const conn: Connection = {
      family: 'ipv4',
      original: { src: '10.0.0.1', dst: '10.0.0.2', protocol: 17, sport: 1000, dport: 53 },
      reply: { src: '10.0.0.2', dst: '10.0.0.1', protocol: 17, sport: 53, dport: 1000 },
      status: 0,
      zone: 0,
      timeout: 30,
    };
    // Expected bytes written out by hand from the attribute layout in nfnetlink_conntrack.h.
    const tuple = (type: string, a: string, b: string, sp: string, dp: string): string =>
      '3400' + type + ('1400' + '0180' + '0800' + '0100' + a + '0800' + '0200' + b) + ('1c00' + '0280' + '0500' + '0100' + '11000000' + '0600' + '0200' + sp + '0000' + '0600' + '0300' + dp + '0000');
    const expected =
      tuple('0180', '0a000001', '0a000002', '03e8', '0035') +
      tuple('0280', '0a000002', '0a000001', '0035', '03e8') +
      '0800' + '0300' + '00000000' +
      '0800' + '0700' + '0000001e';
    expect(encode(conn).toString('hex')).toBe(expected);
  });

  it('refuses values that do not fit (ValidationError, not garbage bytes)', () => {
    const base = decode('tcp4-established-mark');
    expect(() => encode({ ...base, mark: -1 })).toThrow(/mark/);
    expect(() => encode({ ...base, original: { ...base.original, sport: 70000 } })).toThrow(/sport/);
    expect(() => encode({ ...base, original: { ...base.original, src: '2001:db8::1' } })).toThrow(/not an IPv4 address/);
    expect(() => encode({ ...base, protoinfo: { tcp: { state: 'BOGUS' as (typeof TCP_STATES)[number] } } })).toThrow(/unknown TCP state/);
  });
});

describe('copyIdentity (a dump row straight into a delete)', () => {
  it.each(fixtures.map((f) => [f.name, f] as const))('%s: copies the bytes encodeIdentity would send, and decodeIdentity reads them back', (_name, f) => {
    const conn = decode(f.name);
    const out = new Uint8Array(f.end - ATTRS_START);
    const end = copyIdentity(f.message, ATTRS_START, f.end, out, 0);
    expect(end).toBeGreaterThan(0);
    const w = new AttrWriter();
    encodeIdentity(conn, w);
    const copied = decodeIdentity(out, 0, end, conn.family);
    expect(copied).toEqual({ family: conn.family, original: conn.original, zone: conn.zone, id: conn.id });
    expect(decodeIdentity(w.finish(), 0, w.size, conn.family)).toEqual(copied);
    // The same attributes as the encoder writes, byte for byte but for the kernel's NLA_F_NESTED on the tuple.
    expect(end).toBe(w.finish().length);
  });

  it('refuses an entry without its id', () => {
    const f = fixtures[0];
    const attrs = Buffer.from(f.message.subarray(ATTRS_START, f.end));
    // Rename CTA_ID (12) to an unused type: the entry no longer names itself exactly.
    for (let at = 0; at + 4 <= attrs.length; ) {
      const len = attrs.readUInt16LE(at);
      if ((attrs.readUInt16LE(at + 2) & 0x3fff) === 12) attrs.writeUInt16LE(99, at + 2);
      at += (len + 3) & ~3;
    }
    expect(copyIdentity(attrs, 0, attrs.length, new Uint8Array(attrs.length), 0)).toBe(-1);
  });
});
