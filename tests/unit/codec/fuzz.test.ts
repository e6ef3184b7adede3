// Mutated captures: decodeConnection either returns a Connection or throws CodecError, never anything else; and
// whatever it returns encodes, and decodes again to the same bytes.
import { describe, expect, it } from 'vitest';
import { decodeConnection, encodeConnection } from '@/lib/conntrack/codec/connection';
import { decodeExpectation, encodeExpectation } from '@/lib/conntrack/codec/expectation';
import { CodecError } from '@/lib/conntrack/errors';
import { AttrWriter } from '@/lib/conntrack/netlink/attributes';
import type { Connection, Expectation, Family } from '@/lib/conntrack/types';
import { attrsOf, connectionFixtures, expectationFixtures } from './fixtures';
import { mutate, prng } from './mutate';

function encode(conn: Connection): Buffer {
  const w = new AttrWriter();
  encodeConnection(conn, w);
  return Buffer.from(w.finish());
}

describe('fuzz: mutated captures', () => {
  const fixtures = connectionFixtures();

  it('decode returns or throws CodecError; what it returns re-encodes stably', () => {
    const random = prng(0x5eed);
    let decoded = 0;
    let rejected = 0;
    for (let i = 0; i < 20000; i++) {
      const f = fixtures[Math.floor(random() * fixtures.length)];
      const family: Family = f.family === 10 ? 'ipv6' : 'ipv4';
      const bytes = mutate(attrsOf(f), random);
      let conn: Connection;
      try {
        conn = decodeConnection(bytes, 0, bytes.length, family);
      } catch (err) {
        if (!(err instanceof CodecError)) throw new Error(`iteration ${i} (${f.name}, ${bytes.toString('hex')}): ${String(err)}`);
        expect(err.path.length + err.reason.length).toBeGreaterThan(0);
        rejected++;
        continue;
      }
      decoded++;
      const once = encode(conn);
      const twice = encode(decodeConnection(once, 0, once.length, family));
      if (!twice.equals(once)) throw new Error(`iteration ${i} (${f.name}): not stable after one round trip: ${bytes.toString('hex')}`);
    }
    // The mutations must exercise both outcomes, or the test proves nothing.
    expect(decoded).toBeGreaterThan(1000);
    expect(rejected).toBeGreaterThan(1000);
  }, 120_000);

  it('the same for expectations', () => {
    const expectations = expectationFixtures();
    const random = prng(0xe1ec);
    let decoded = 0;
    let rejected = 0;
    const encodeExp = (exp: Expectation): Buffer => {
      const w = new AttrWriter();
      encodeExpectation(exp, w);
      return Buffer.from(w.finish());
    };
    for (let i = 0; i < 5000; i++) {
      const f = expectations[Math.floor(random() * expectations.length)];
      const family: Family = f.family === 10 ? 'ipv6' : 'ipv4';
      const bytes = mutate(attrsOf(f), random);
      let exp: Expectation;
      try {
        exp = decodeExpectation(bytes, 0, bytes.length, family);
      } catch (err) {
        if (!(err instanceof CodecError)) throw new Error(`iteration ${i} (${f.name}, ${bytes.toString('hex')}): ${String(err)}`);
        rejected++;
        continue;
      }
      decoded++;
      const once = encodeExp(exp);
      const twice = encodeExp(decodeExpectation(once, 0, once.length, family));
      if (!twice.equals(once)) throw new Error(`iteration ${i} (${f.name}): not stable after one round trip: ${bytes.toString('hex')}`);
    }
    expect(decoded).toBeGreaterThan(250);
    expect(rejected).toBeGreaterThan(250);
  }, 120_000);
});
