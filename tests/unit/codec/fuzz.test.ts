// Mutated captures: decodeConnection either returns a Connection or throws CodecError, never anything else; and
// whatever it returns encodes, and decodes again to the same bytes.
import { describe, expect, it } from 'vitest';
import { decodeConnection, encodeConnection } from '@/lib/conntrack/codec/connection';
import { decodeExpectation, encodeExpectation } from '@/lib/conntrack/codec/expectation';
import { CodecError } from '@/lib/conntrack/errors';
import { AttrWriter } from '@/lib/conntrack/netlink/attributes';
import type { Connection, Expectation, Family } from '@/lib/conntrack/types';
import { attrsOf, connectionFixtures, expectationFixtures } from './fixtures';

/** mulberry32: small, seeded, reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Offsets of every attribute header in buf (nested ones too), found by walking the bytes by hand. */
function headerOffsets(buf: Buffer, start = 0, end = buf.length, out: number[] = []): number[] {
  let offset = start;
  while (offset + 4 <= end) {
    const len = buf.readUInt16LE(offset);
    if (len < 4 || offset + len > end) break;
    out.push(offset);
    if (buf.readUInt16LE(offset + 2) & 0x8000) headerOffsets(buf, offset + 4, offset + len, out);
    offset += (len + 3) & ~3;
  }
  return out;
}

function mutate(original: Buffer, random: () => number): Buffer {
  const buf = Buffer.from(original);
  const pick = (n: number): number => Math.floor(random() * n);
  const headers = headerOffsets(buf);
  const rounds = 1 + pick(3);
  let out = buf;
  for (let r = 0; r < rounds; r++) {
    switch (pick(6)) {
      case 0: {
        const i = pick(out.length);
        out[i] ^= 1 << pick(8);
        break;
      }
      case 1:
        out = out.subarray(0, pick(out.length + 1));
        break;
      case 2: {
        // A length field: off by a little, or anything.
        const h = headers[pick(headers.length)];
        if (h + 2 > out.length) break;
        const len = out.readUInt16LE(h);
        out.writeUInt16LE(random() < 0.5 ? Math.max(0, Math.min(0xffff, len + pick(9) - 4)) : pick(0x10000), h);
        break;
      }
      case 3: {
        // A type field: flags flipped or another type.
        const h = headers[pick(headers.length)];
        if (h + 4 > out.length) break;
        const type = out.readUInt16LE(h + 2);
        out.writeUInt16LE(random() < 0.5 ? type ^ (0x8000 >> pick(2)) : pick(40) | (type & 0x8000), h + 2);
        break;
      }
      case 4: {
        const i = pick(out.length);
        out[i] = pick(256);
        break;
      }
      default: {
        // Cut bytes out of the middle.
        const from = pick(out.length);
        out = Buffer.concat([out.subarray(0, from), out.subarray(from + 1 + pick(8))]);
      }
    }
  }
  return out;
}

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
