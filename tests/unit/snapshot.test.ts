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
