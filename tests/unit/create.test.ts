// CT_NEW bodies: the one-pass writer produces exactly encodeConnection's bytes (for every captured entry, with and
// without the attributes it leaves to the generic codec), then the NAT nests; CONFIRMED is always asked for.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeConnection, encodeConnection } from '@/lib/conntrack/codec/connection';
import { CTA, IPS } from '@/lib/conntrack/constants';
import { encodeNewConnection, type NewConnection } from '@/lib/conntrack/create';
import { ValidationError } from '@/lib/conntrack/errors';
import { AttrWriter } from '@/lib/conntrack/netlink/attributes';
import type { Connection } from '@/lib/conntrack/types';

const dir = join(process.cwd(), 'tests/fixtures/ctnetlink');
const fixtures = readdirSync(dir)
  .filter((name) => name.endsWith('.json'))
  .map((name) => ({ name, ...(JSON.parse(readFileSync(join(dir, name), 'utf8')) as { kind: string; hex: string }) }))
  .filter((fixture) => fixture.kind === 'ct');

/** The fixture's entry (its hex is the whole message: nlmsghdr, nfgenmsg, attributes). */
function entryOf(hex: string): Connection {
  const buf = Buffer.from(hex, 'hex');
  return decodeConnection(buf, 20, buf.length, buf[16] === 10 ? 'ipv6' : 'ipv4');
}

function generic(conn: Connection): Buffer {
  const w = new AttrWriter();
  encodeConnection(conn, w);
  return Buffer.from(w.finish());
}

const simple: Connection = {
  family: 'ipv4',
  original: { src: '192.168.1.10', dst: '93.184.216.34', protocol: 6, sport: 51000, dport: 443 },
  reply: { src: '93.184.216.34', dst: '192.168.1.10', protocol: 6, sport: 443, dport: 51000 },
  status: IPS.CONFIRMED | IPS.SEEN_REPLY | IPS.ASSURED,
  zone: 0,
  timeout: 3600,
  protoinfo: { tcp: { state: 'ESTABLISHED' } },
};

describe('encodeNewConnection', () => {
  it.each(fixtures.map((f) => [f.name, f.hex]))('writes what encodeConnection writes for %s', (_name, hex) => {
    const conn = entryOf(hex);
    expect(Buffer.from(encodeNewConnection(conn))).toEqual(generic(conn));
    // Without the attributes only the generic codec writes, the one-pass writer does the whole entry.
    const { counters: _c, timestamp: _t, synproxy: _s, helper: _h, helpUnknown: _hu, seqAdjOriginal: _so, seqAdjReply: _sr, ...plain } = conn;
    expect(Buffer.from(encodeNewConnection(plain))).toEqual(generic(plain));
  });

  it('appends CTA_NAT_SRC and CTA_NAT_DST with the address range and the port range', () => {
    const entry: NewConnection = { ...simple, snat: { address: '203.0.113.5', portMin: 61000 }, dnat: { address: '10.0.0.2', maxAddress: '10.0.0.3' } };
    const expected = new AttrWriter();
    encodeConnection(simple, expected);
    expected.nested(CTA.NAT_SRC, (nat) => {
      nat.bytes(1, Uint8Array.of(203, 0, 113, 5)); // CTA_NAT_V4_MINIP
      nat.bytes(2, Uint8Array.of(203, 0, 113, 5)); // CTA_NAT_V4_MAXIP
      nat.nested(3, (proto) => proto.u16be(1, 61000).u16be(2, 61000)); // CTA_NAT_PROTO { PORT_MIN, PORT_MAX }
    });
    expected.nested(CTA.NAT_DST, (nat) => {
      nat.bytes(1, Uint8Array.of(10, 0, 0, 2));
      nat.bytes(2, Uint8Array.of(10, 0, 0, 3));
    });
    expect(Buffer.from(encodeNewConnection(entry))).toEqual(Buffer.from(expected.finish()));
  });

  it('uses the IPv6 NAT attributes for an IPv6 entry', () => {
    const entry: NewConnection = {
      ...simple,
      family: 'ipv6',
      original: { ...simple.original, src: '2001:db8::1', dst: '2001:db8::2' },
      reply: { ...simple.reply, src: '2001:db8::2', dst: '2001:db8::1' },
      snat: { address: '2001:db8:ff::1' },
    };
    const bytes = Buffer.from(encodeNewConnection(entry));
    const nat = bytes.subarray(generic(entry).length);
    expect(nat.readUInt16LE(2)).toBe(CTA.NAT_SRC | 0x8000);
    expect(nat.readUInt16LE(6)).toBe(4); // CTA_NAT_V6_MINIP
    expect(nat.readUInt16LE(26)).toBe(5); // CTA_NAT_V6_MAXIP
    expect(nat.length).toBe(4 + 20 + 20);
  });

  it('asks for IPS_CONFIRMED, which ctnetlink requires in the status of a new entry', () => {
    const unconfirmed = { ...simple, status: IPS.SEEN_REPLY };
    expect(Buffer.from(encodeNewConnection(unconfirmed))).toEqual(generic({ ...simple, status: IPS.SEEN_REPLY | IPS.CONFIRMED }));
  });

  it('names the field of a bad NAT value', () => {
    expect(() => encodeNewConnection({ ...simple, snat: { address: '2001:db8::1' } })).toThrow(ValidationError);
    expect(() => encodeNewConnection({ ...simple, snat: { address: '203.0.113.5', portMin: 70000 } })).toThrow(/snat\.portMin/);
    expect(() => encodeNewConnection({ ...simple, dnat: { address: '10.0.0.2', portMin: 9000, portMax: 8000 } })).toThrow(/dnat\.portMax/);
  });
});
