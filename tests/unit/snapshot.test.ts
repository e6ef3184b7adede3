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
