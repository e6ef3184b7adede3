// A snapshot built from captured dump messages: one malformed entry is left out and counted, the rest stands.
import { describe, expect, it } from 'vitest';
import { decodeConnection } from '@/lib/conntrack/codec/connection';
import { SnapshotBuilder } from '@/lib/conntrack/snapshot';
import { inTurns, stepLimit } from '@/lib/conntrack/snapshot/order';
import { rowText } from '@/lib/conntrack/snapshot/text';
import { parseAddress } from '@/lib/netlink/address';
import { IPS, PROTOCOL_NAMES } from '@/lib/conntrack/constants';
import type { Connection, Tuple } from '@/lib/conntrack/types';
import { turnsDuring } from '../support/turns';
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
  it('prepare() runs the free-text search over several event-loop turns; the answers are the same as without it', async () => {
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
    expect(await turnsDuring(() => prepared.prepare({ text: '10.0.7.' }))).toBeGreaterThan(1);
    const direct = build();
    for (const text of ['10.0.7.', ':443', 'nothing']) {
      expect(prepared.query({ text, limit: 1000 })).toEqual(direct.query({ text, limit: 1000 }));
    }
    expect(prepared.count({}, '10.0.7.')).toBe(256);
  });
});

describe('sorting a large snapshot', () => {
  // Many blocks of rows (4,096) per pass; pseudo-random keys with many ties.
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
      // Steps end by time: with no time at all, every block of rows is a step of its own.
      const ms = stepLimit.ms;
      stepLimit.ms = 0;
      try {
        expect(await turnsDuring(() => prepared.prepare({ sort })), sort).toBeGreaterThan(1);
      } finally {
        stepLimit.ms = ms;
      }
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
        // The IPv6 rows after them, bytewise, ties by table order.
        const bytes = (row: number) => Buffer.from(parseAddress(direct.connection(row).original.src)!.bytes);
        const v6 = reference.filter((row) => values[row] === Infinity).sort((a, b) => Buffer.compare(bytes(a), bytes(b)) || a - b);
        expect(Array.from(order.subarray(v4.length)), sort).toEqual(v6);
      } else {
        expect(Array.from(order), sort).toEqual(reference);
      }
    }
  }, 120_000);

  it('finds the row of an id the same by scanning the ids as by searching the id order', async () => {
    const snapshot = build();
    const direct = build();
    // Ids of rows spread over the table (the generator never repeats one), asked twice, and ids no row has.
    const ids = [0, 1, 777, 74_999, 149_999, 777].map((row) => direct.connection(row).id!);
    const absent = [1, 2, 3].map((k) => (ids[0] + k * 0x9e3779b9) >>> 0).filter((id) => direct.count({ id }) === 0);
    expect(absent.length).toBeGreaterThan(0);
    const scanned = [...ids, ...absent].map((id) => snapshot.rowOfId(id));
    await direct.prepare({ sort: 'id' });
    const searched = [...ids, ...absent].map((id) => direct.rowOfId(id));
    expect(scanned).toEqual(searched);
    expect(scanned.slice(0, ids.length).map((row) => snapshot.connection(row).id)).toEqual(ids);
    expect(scanned.slice(ids.length)).toEqual(absent.map(() => -1));
  }, 60_000);
});

describe('the free-text rows', () => {
  // Rows of every shape the text spells differently: both families, IPv4-mapped and compressed IPv6, ICMP without
  // ports, NAT and unreplied status words, mark, zone, a helper with capitals, no TCP state.
  const connections: Connection[] = [
    { family: 'ipv4', original: { src: '10.0.0.1', dst: '198.51.100.7', protocol: 6, sport: 40000, dport: 443 }, reply: { src: '198.51.100.7', dst: '203.0.113.1', protocol: 6, sport: 443, dport: 40000 }, status: IPS.ASSURED | IPS.SEEN_REPLY | IPS.SRC_NAT, zone: 0, id: 4294967295, mark: 256, protoinfo: { tcp: { state: 'ESTABLISHED' } } },
    { family: 'ipv6', original: { src: '2001:db8::1', dst: '::ffff:192.0.2.1', protocol: 17, sport: 53, dport: 5353 }, reply: { src: '::ffff:192.0.2.1', dst: '2001:db8::1', protocol: 17, sport: 5353, dport: 53 }, status: 0, zone: 7, id: 1 },
    { family: 'ipv4', original: { src: '192.0.2.9', dst: '192.0.2.10', protocol: 1, icmp: { type: 8, code: 0, id: 77 } }, reply: { src: '192.0.2.10', dst: '192.0.2.9', protocol: 1, icmp: { type: 0, code: 0, id: 77 } }, status: IPS.SEEN_REPLY | IPS.DST_NAT | IPS.OFFLOAD, zone: 0, id: 2147483648, helper: 'FTP-Data' },
    { family: 'ipv6', original: { src: 'fe80::1:0:0:2', dst: '2001:db8:0:1::', protocol: 58, icmp: { type: 128, code: 0, id: 1 } }, reply: { src: '2001:db8:0:1::', dst: 'fe80::1:0:0:2', protocol: 58, icmp: { type: 129, code: 0, id: 1 } }, status: IPS.SEEN_REPLY, zone: 0, id: 0 },
  ];
  // What the console shows, spelt here from the Connection (the snapshot's text is written from its columns).
  const endpoint = (c: Connection, t: Tuple, side: 'src' | 'dst'): string => {
    const port = side === 'src' ? t.sport : t.dport;
    if (port === undefined) return t[side];
    return c.family === 'ipv6' ? `[${t[side]}]:${port}` : `${t[side]}:${port}`;
  };
  const expected = (c: Connection): string => {
    const words = [c.status & IPS.ASSURED && 'assured', !(c.status & IPS.SEEN_REPLY) && 'unreplied', c.status & IPS.SRC_NAT && 'snat', c.status & IPS.DST_NAT && 'dnat', c.status & IPS.OFFLOAD && 'offload'].filter(Boolean);
    return [
      String(c.id),
      c.family,
      PROTOCOL_NAMES[c.original.protocol],
      endpoint(c, c.original, 'src'),
      endpoint(c, c.original, 'dst'),
      endpoint(c, c.reply, 'src'),
      endpoint(c, c.reply, 'dst'),
      c.protoinfo?.tcp?.state ?? '',
      words.join(' '),
      c.mark ? `mark=${c.mark}` : '',
      c.zone ? `zone=${c.zone}` : '',
      c.helper ?? '',
    ]
      .join(' ')
      .toLowerCase();
  };
  const build = () => {
    const builder = new SnapshotBuilder();
    for (const c of connections) builder.addConnection(c);
    return builder.finish({ takenAt: new Date(), tookMs: 0 });
  };

  it('spells each row as the console shows it, lower-case', () => {
    const snapshot = build();
    connections.forEach((c, row) => expect(rowText(snapshot.columns, row)).toBe(expected(c)));
  });

  it('finds exactly the rows whose text contains the needle, across fields but never across rows', async () => {
    const needles = ['443', '203.0.113.1:40000', 'established assured snat', '[::ffff:192.0.2.1]:5353', 'zone=7', 'ftp-data', 'icmpv6', '0', '4294967295', '2147483648', 'fe80::1:0:0:2', 'dnat offload', 'unreplied  zone=7', 'nothing'];
    for (const needle of [...needles, 'ftp-data\n0 ipv6']) {
      const snapshot = build();
      await snapshot.prepare({ text: needle });
      const want = connections.map((c, row) => (expected(c).includes(needle) ? row : -1)).filter((row) => row >= 0);
      expect(snapshot.query({ text: needle, limit: 10 }).rows, needle).toEqual(want);
      expect(build().query({ text: needle, limit: 10 }).rows, needle).toEqual(want);
    }
  });
});

describe('the IPv6 slots given back in steps', () => {
  it('trimSteps() in turns leaves the same snapshot as finish() alone, with room for 2 % more slots and no more', async () => {
    // 20,000 IPv6 rows: 80,000 slots (1.25 MB) in room for 131,072 (the slots grow by doubling).
    const v6 = (i: number): Connection => {
      const a = `2001:db8:${(i >> 8).toString(16)}::${(i & 255).toString(16)}`;
      const b = `2001:db8:ffff::${((i % 4000) + 1).toString(16)}`;
      return { family: 'ipv6', original: { src: a, dst: b, protocol: 17, sport: 1024 + (i % 50_000), dport: 53 }, reply: { src: b, dst: a, protocol: 17, sport: 53, dport: 1024 + (i % 50_000) }, status: 0x8, zone: 0, id: i + 1 };
    };
    const rows = Array.from({ length: 20_000 }, (_, i) => v6(i));
    const built = () => {
      const builder = new SnapshotBuilder(rows.length);
      for (const c of rows) builder.addConnection(c);
      return builder;
    };
    const stepped = built();
    expect(await turnsDuring(async () => inTurns(stepped.trimSteps()))).toBeGreaterThan(0);
    const a = stepped.finish({ takenAt: new Date(), tookMs: 0 });
    const whole = built();
    const b = whole.finish({ takenAt: new Date(), tookMs: 0 });
    // Room for a later refresh of a table a little larger to reuse them without growing (builder.ts V6_HEADROOM).
    const used = rows.length * 4 * 16;
    expect(a.columns.v6.length).toBeGreaterThanOrEqual(used * 1.02);
    expect(a.columns.v6.length).toBeLessThan(used * 1.02 + 16);
    // Buffer.compare: a deep equality of a megabyte, element by element, would take the test's whole budget.
    const bytes = (x: Uint8Array | Uint32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
    expect(Buffer.compare(bytes(stepped.v6), bytes(whole.v6))).toBe(0);
    expect(Buffer.compare(bytes(stepped.addr), bytes(whole.addr))).toBe(0);
    for (const row of [0, 1, 9_999, 19_999]) expect(a.connection(row)).toEqual(b.connection(row));
    expect(a.connection(12_345).original.src).toBe(rows[12_345].original.src);
  });
});
