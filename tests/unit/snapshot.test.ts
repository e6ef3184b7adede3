// A snapshot built from captured dump messages: one malformed entry is left out and counted, the rest stands.
import { describe, expect, it } from 'vitest';
import { decodeConnection } from '@/lib/conntrack/codec/connection';
import { SnapshotBuilder } from '@/lib/conntrack/snapshot';
import { connectionFixtures, splitAttrs, ATTRS_START } from './codec/fixtures';

describe('a dump with a malformed entry', () => {
  it('skips and counts that entry; every other entry is in the snapshot as decoded', () => {
    const fixtures = connectionFixtures();
    const messages = fixtures.map((f) => Buffer.from(f.message.subarray(0, f.end)));
    // Mutate one capture: CTA_STATUS (type 3) one byte short, as a corrupted or newer kernel message might be.
    const bad = 3;
    const attrs = splitAttrs(messages[bad].subarray(ATTRS_START));
    const status = attrs.find((a) => a.type === 3);
    expect(status).toBeDefined();
    const at = ATTRS_START + attrs.slice(0, attrs.indexOf(status!)).reduce((sum, a) => sum + a.raw.length, 0);
    messages[bad].writeUInt16LE(7, at);

    // One datagram's worth of messages, back to back, read in place as the dump path reads them.
    const datagram = Buffer.concat(messages);
    const builder = new SnapshotBuilder();
    let offset = 0;
    for (const message of messages) {
      builder.addMessage(datagram, offset, message.length);
      offset += message.length;
    }
    const snapshot = builder.finish({ takenAt: new Date(), tookMs: 0 });

    expect(snapshot.info.skipped).toBe(1);
    expect(snapshot.size).toBe(fixtures.length - 1);
    const expected = fixtures.filter((_, i) => i !== bad).map((f) => decodeConnection(f.message, ATTRS_START, f.end, f.family === 10 ? 'ipv6' : 'ipv4'));
    expect(expected.map((c) => c.id)).toEqual(Array.from({ length: snapshot.size }, (_, row) => snapshot.connection(row).id));
    expect(expected.map((c) => c.original)).toMatchObject(Array.from({ length: snapshot.size }, (_, row) => snapshot.connection(row).original));
    expect(snapshot.count({ id: fixtures[bad].conntrack.id })).toBe(0);
  });
});

describe('free text on a large snapshot', () => {
  it('prepare() builds the text index over several event-loop turns; the answers are the same as without it', async () => {
    const build = () => {
      const builder = new SnapshotBuilder(20_000);
      for (let i = 0; i < 20_000; i++) {
        const host = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
        builder.addConnection({
          family: 'ipv4',
          original: { src: host, dst: '198.51.100.7', protocol: 6, sport: 1024 + (i % 60000), dport: 443 },
          reply: { src: '198.51.100.7', dst: host, protocol: 6, sport: 443, dport: 1024 + (i % 60000) },
          status: 0,
          zone: 0,
          id: i + 1,
        });
      }
      return builder.finish({ takenAt: new Date(), tookMs: 0 });
    };
    const prepared = build();
    let turns = 0;
    let done = false;
    const tick = () => {
      if (done) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    await prepared.prepare({ text: '10.0.7.' });
    done = true;
    expect(turns).toBeGreaterThan(1);
    const direct = build();
    for (const text of ['10.0.7.', ':443', 'nothing']) {
      expect(prepared.query({ text, limit: 1000 })).toEqual(direct.query({ text, limit: 1000 }));
    }
    expect(prepared.count({}, '10.0.7.')).toBe(256);
  });
});

describe('sorting a large snapshot', () => {
  // More rows than one sorting step (65,536), so the runs are merged; pseudo-random keys with many ties.
  const ROWS = 150_000;
  const build = () => {
    const builder = new SnapshotBuilder(ROWS);
    let x = 12345;
    for (let i = 0; i < ROWS; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const v6 = i % 7 === 0;
      const host = v6 ? `2001:db8::${(x >>> 8).toString(16)}` : `10.${(x >>> 24) & 255}.${(x >>> 16) & 255}.${(x >>> 8) & 255}`;
      const peer = v6 ? '2001:db8::1' : '198.51.100.7';
      builder.addConnection({
        family: v6 ? 'ipv6' : 'ipv4',
        original: { src: host, dst: peer, protocol: 6, sport: x & 0xffff, dport: 443 },
        reply: { src: peer, dst: host, protocol: 6, sport: 443, dport: x & 0xffff },
        status: 0,
        zone: 0,
        id: x,
        timeout: x % 600,
      });
    }
    return builder.finish({ takenAt: new Date(), tookMs: 0 });
  };

  it('orders ascending with ties by table order, the same whether prepare() built it in turns or query() at once', async () => {
    const prepared = build();
    const direct = build();
    for (const sort of ['timeout', 'sport', 'id', 'src'] as const) {
      let turns = 0;
      let done = false;
      const tick = () => {
        if (done) return;
        turns++;
        setImmediate(tick);
      };
      setImmediate(tick);
      await prepared.prepare({ sort });
      done = true;
      expect(turns, sort).toBeGreaterThan(1);
      const order = prepared.order(sort);
      expect(Array.from(order), sort).toEqual(Array.from(direct.order(sort)));
      // Against a plain stable sort of the rows by the value the console shows.
      const value = (row: number): number | string => {
        const c = direct.connection(row);
        if (sort === 'timeout') return c.timeout ?? -1;
        if (sort === 'sport') return c.original.sport ?? 0;
        if (sort === 'id') return c.id ?? 0;
        return c.family === 'ipv4' ? c.original.src.split('.').reduce((n, part) => n * 256 + Number(part), 0) : Infinity;
      };
      const values = Array.from({ length: ROWS }, (_, row) => value(row));
      const reference = Array.from({ length: ROWS }, (_, row) => row).sort((a, b) => (values[a] < values[b] ? -1 : values[a] > values[b] ? 1 : a - b));
      if (sort === 'src') {
        // IPv4 rows first, numerically; the IPv6 rows after them.
        const v4 = reference.filter((row) => values[row] !== Infinity);
        expect(Array.from(order.subarray(0, v4.length)), sort).toEqual(v4);
        expect(order.length - v4.length).toBe(reference.length - v4.length);
      } else {
        expect(Array.from(order), sort).toEqual(reference);
      }
    }
  }, 120_000);
});
