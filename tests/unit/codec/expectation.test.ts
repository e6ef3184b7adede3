// Expectation codec: captured kernel bytes (an FTP helper's PASV / EPSV expectations) round-trip byte for byte and
// decode to what conntrack -L expect printed; malformed input names its path; unknown attributes survive.
import { describe, expect, it } from 'vitest';
import { familyFromNumber } from '@/lib/conntrack/codec/connection';
import { decodeExpectation, encodeExpectation, encodeExpectationIdentity } from '@/lib/conntrack/codec/expectation';
import { CodecError } from '@/lib/conntrack/errors';
import { matchesExpectation, toExpectationFilter, expectationFilterSchema } from '@/lib/conntrack/expectation-filter';
import { AttrWriter } from '@/lib/conntrack/netlink/attributes';
import type { Expectation } from '@/lib/conntrack/types';
import { attrsOf, ATTRS_START, expectationFixtures, nla, NESTED, splitAttrs } from './fixtures';

const fixtures = expectationFixtures();

function encode(exp: Expectation): Buffer {
  const w = new AttrWriter();
  encodeExpectation(exp, w);
  return Buffer.from(w.finish());
}

const decodeFixture = (f: (typeof fixtures)[number]): Expectation => decodeExpectation(f.message, ATTRS_START, f.end, familyFromNumber(f.family));

describe('captured expectations', () => {
  it('has one IPv4 and one IPv6 expectation', () => {
    expect(fixtures.map((f) => f.name).sort()).toEqual(['expect-ftp4-pasv', 'expect-ftp6-epsv']);
    // Each was sent as IPCTNL_MSG_EXP_NEW of NFNL_SUBSYS_CTNETLINK_EXP.
    for (const f of fixtures) expect(f.message.readUInt16LE(4)).toBe(0x200);
  });

  describe.each(fixtures.map((f) => [f.name, f] as const))('%s', (_name, f) => {
    it('round-trips: bytes -> Expectation -> the same bytes', () => {
      expect(encode(decodeFixture(f)).toString('hex')).toBe(attrsOf(f).toString('hex'));
    });

    it('decodes what conntrack -L expect printed at capture time', () => {
      const exp = decodeFixture(f);
      const oracle = f.conntrack;
      expect(exp.family).toBe(oracle.family);
      for (const [part, want] of [
        [exp.tuple, oracle.tuple],
        [exp.mask, oracle.mask],
        [exp.master, oracle.master],
      ] as const) {
        expect({ src: part.src, dst: part.dst, sport: part.sport, dport: part.dport }).toEqual(want);
        expect(part.protocol).toBe(oracle.protocol);
      }
      expect(exp.helper).toBe(oracle.helper);
      expect(exp.class).toBe(oracle.class);
      // conntrack(8) ran a moment after the capture: the timeout can only have gone down.
      expect(exp.timeout).toBeGreaterThanOrEqual(oracle.timeout);
      expect(exp.timeout).toBeLessThanOrEqual(oracle.timeout + 2);
      expect(exp.zone).toBe(0);
      expect(exp.unknown).toBeUndefined();
    });
  });
});

describe('malformed expectations', () => {
  const f = fixtures[0];
  const attrs = splitAttrs(attrsOf(f));

  it('a missing CTA_EXPECT_ID is named', () => {
    const bytes = Buffer.concat(attrs.filter((a) => a.type !== 5).map((a) => a.raw));
    expect(() => decodeExpectation(bytes, 0, bytes.length, 'ipv4')).toThrow('missing CTA_EXPECT_ID');
  });

  it('a bad length inside the master tuple names the path', () => {
    const bytes = Buffer.concat(attrs.map((a) => (a.type === 1 ? nla(1, Buffer.concat([nla(1, nla(1, Buffer.from([127, 0, 0])), NESTED)]), NESTED) : a.raw)));
    let error: unknown;
    try {
      decodeExpectation(bytes, 0, bytes.length, 'ipv4');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CodecError);
    expect((error as CodecError).message).toContain('CTA_EXPECT_MASTER: CTA_TUPLE_IP: CTA_IP_V4_SRC: bad length 3, expected 4');
  });

  it('keeps an unknown top-level attribute in place', () => {
    const extra = nla(30, Buffer.from([1, 2, 3, 4]));
    const bytes = Buffer.concat([attrs[0].raw, extra, ...attrs.slice(1).map((a) => a.raw)]);
    const exp = decodeExpectation(bytes, 0, bytes.length, 'ipv4');
    expect(exp.unknown).toEqual([{ type: 30, nested: false, data: new Uint8Array([1, 2, 3, 4]), position: 1 }]);
    expect(encode(exp).toString('hex')).toBe(bytes.toString('hex'));
  });
});

describe('the identity of an expectation (the body of a delete)', () => {
  it('is the expected tuple, the zone when not 0 and the id; never the master', () => {
    const exp = decodeFixture(fixtures[0]);
    const w = new AttrWriter();
    encodeExpectationIdentity({ ...exp, zone: 7 }, w);
    const types = splitAttrs(Buffer.from(w.finish())).map((a) => a.type);
    expect(types).toEqual([2, 7, 5]); // CTA_EXPECT_TUPLE, CTA_EXPECT_ZONE, CTA_EXPECT_ID
    const plain = new AttrWriter();
    encodeExpectationIdentity(exp, plain);
    expect(splitAttrs(Buffer.from(plain.finish())).map((a) => a.type)).toEqual([2, 5]);
  });
});

describe('the expectation filter', () => {
  const v4 = decodeFixture(fixtures.find((f) => f.name === 'expect-ftp4-pasv') ?? fixtures[0]);
  const parse = (input: Record<string, unknown>) => toExpectationFilter(expectationFilterSchema.parse(input));

  it.each([
    [{}, true],
    [{ helper: 'ftp' }, true],
    [{ helper: 'sip' }, false],
    [{ family: 'ipv6' }, false],
    [{ address: '127.0.0.0/8' }, true],
    [{ address: '10.0.0.1' }, false],
    [{ port: String(v4.tuple.dport) }, true],
    [{ port: '21' }, true],
    [{ port: '1-20' }, false],
    [{ master: 5 }, true],
    [{ master: 6 }, false],
  ])('%j -> %s', (input, want) => {
    expect(matchesExpectation(parse(input), v4, 5)).toBe(want);
  });

  it('a wildcard source port (mask 0) matches no port condition by itself', () => {
    // The expected tuple's sport is 0 under a 0 mask: "port=0" must not match it.
    expect(v4.tuple.sport).toBe(0);
    expect(v4.mask.sport).toBe(0);
    expect(matchesExpectation(parse({ port: '0' }), v4, 5)).toBe(false);
  });

  it.each([
    [{ helper: 'no spaces' }, 'helper'],
    [{ master: 'x' }, 'master'],
    [{ address: '300.1.1.1' }, 'address'],
    [{ port: '70000' }, 'port'],
    [{ nonsense: 1 }, ''],
  ])('refuses %j', (input, field) => {
    const result = expectationFilterSchema.safeParse(input);
    expect(result.success).toBe(false);
    if (!result.success && field) expect(result.error.issues[0].path[0]).toBe(field);
  });
});
