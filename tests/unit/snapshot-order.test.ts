// A first page is selected, not read off a full sort: the selection must give exactly the rows the full order gives,
// for every sort key, both directions, ties, filters and offsets around and beyond what it selected.
import { describe, expect, it } from 'vitest';
import { SnapshotBuilder, type Snapshot } from '@/lib/conntrack/snapshot';
import { orderSteps, runAll, selectSteps, sortColumnsSteps, stepLimit, warmSteps } from '@/lib/conntrack/snapshot/order';
import { TCP_STATES } from '@/lib/conntrack/constants';
import { parseAddress } from '@/lib/netlink/address';
import { SORT_KEYS, type SortKey } from '@/lib/conntrack/vocabulary';
import type { Connection, Tuple } from '@/lib/conntrack/types';
import { turnsDuring } from '../support/turns';

// More rows than a selection narrows to (2,048) several times over, so it takes more than one histogram pass.
const ROWS = 12_000;
const BASE_NS = 1_700_000_000_000_000_000n;

/** Pseudo-random entries of every shape: both families, ICMP, few distinct values on most keys (many ties). */
function build(seed: number): Snapshot {
  let x = seed;
  const next = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
  const builder = new SnapshotBuilder(ROWS);
  for (let i = 0; i < ROWS; i++) {
    const r = next();
    const v6 = r % 5 === 0;
    const protocol = [6, 6, 17, v6 ? 58 : 1][r % 4];
    const few = (next() >>> 8) % 24;
    const host = v6 ? `2001:db8::${(few * 977).toString(16)}` : `10.0.${few}.${next() % 4}`;
    const peer = v6 ? `2001:db8:1::${r % 3}` : `198.51.100.${r % 3}`;
    const ends = (src: string, dst: string, sport: number, dport: number): Tuple =>
      protocol === 1 || protocol === 58 ? { src, dst, protocol, icmp: { type: 8, code: few % 2, id: sport } } : { src, dst, protocol, sport, dport };
    const sport = (next() >>> 16) % 600;
    const dport = [443, 80, 53][few % 3];
    const connection: Connection = {
      family: v6 ? 'ipv6' : 'ipv4',
      original: ends(host, peer, sport, dport),
      reply: ends(peer, few % 2 ? (v6 ? '2001:db8:ff::9' : '203.0.113.9') : host, dport, sport),
      status: [0, 2, 8, 14][few % 4],
      zone: few % 3,
    };
    if (few % 7) connection.id = next();
    if (few % 5) connection.timeout = next() % 50;
    if (few % 3) connection.mark = few % 4;
    if (few % 6) connection.use = 1 + (few % 2);
    if (protocol === 6) connection.protoinfo = { tcp: { state: TCP_STATES[few % TCP_STATES.length] } };
    if (few % 4) {
      // A few counters above 2^53: their keys no longer fit two words of whole numbers.
      const huge = few === 13 ? 1n << 60n : 0n;
      connection.counters = {
        original: { packets: BigInt(next() % 40), bytes: BigInt(next() % 5000) + huge },
        reply: { packets: BigInt(next() % 40), bytes: BigInt(next() % 3) },
      };
    }
    // Start times in ns (above 2^53, so some round to the same double: ties), or none.
    if (few % 5 !== 1) connection.timestamp = { start: BASE_NS + BigInt(next() % 4096) };
    builder.addConnection(connection);
  }
  return builder.finish({ takenAt: new Date(), tookMs: 0 });
}

/** The sort value the console shows, read from the Connection (not from the columns). */
function valueOf(c: Connection, key: Exclude<SortKey, 'src' | 'dst' | 'replySrc' | 'replyDst'>): number {
  const port = (t: Tuple, which: 0 | 1) => (t.icmp ? (which ? (t.icmp.type << 8) | t.icmp.code : t.icmp.id) : ((which ? t.dport : t.sport) ?? 0));
  const counter = (n?: bigint) => (c.counters && n !== undefined ? Number(n) : -1);
  switch (key) {
    case 'id':
      return c.id ?? 0;
    case 'family':
      return c.family === 'ipv6' ? 1 : 0;
    case 'protocol':
      return c.original.protocol;
    case 'sport':
      return port(c.original, 0);
    case 'dport':
      return port(c.original, 1);
    case 'replySport':
      return port(c.reply, 0);
    case 'replyDport':
      return port(c.reply, 1);
    case 'state':
      return c.protoinfo?.tcp ? TCP_STATES.indexOf(c.protoinfo.tcp.state) : -1;
    case 'status':
      return c.status;
    case 'timeout':
      return c.timeout ?? 0;
    case 'mark':
      return c.mark ?? 0;
    case 'zone':
      return c.zone;
    case 'use':
      return c.use ?? 0;
    case 'packetsOriginal':
      return counter(c.counters?.original.packets);
    case 'bytesOriginal':
      return counter(c.counters?.original.bytes);
    case 'packetsReply':
      return counter(c.counters?.reply.packets);
    case 'bytesReply':
      return counter(c.counters?.reply.bytes);
    case 'packets':
      return c.counters ? Number(c.counters.original.packets) + Number(c.counters.reply.packets) : -1;
    case 'bytes':
      return c.counters ? Number(c.counters.original.bytes) + Number(c.counters.reply.bytes) : -1;
    case 'startedAt':
      return c.timestamp ? Number(c.timestamp.start) : -1;
  }
}

/** Every row in the order the console promises: ascending by the value, ties by table order (IPv4 before IPv6 addresses). */
function referenceOrder(snapshot: Snapshot, key: SortKey): number[] {
  const rows = Array.from({ length: snapshot.size }, (_, row) => row);
  const connections = rows.map((row) => snapshot.connection(row));
  if (key === 'src' || key === 'dst' || key === 'replySrc' || key === 'replyDst') {
    const tuple = key.startsWith('reply') ? 'reply' : 'original';
    const side = key === 'src' || key === 'replySrc' ? 'src' : 'dst';
    const bytes = connections.map((c) => Buffer.from(parseAddress(c[tuple][side])!.bytes));
    return rows.sort((a, b) => bytes[a].length - bytes[b].length || Buffer.compare(bytes[a], bytes[b]) || a - b);
  }
  const values = connections.map((c) => valueOf(c, key));
  return rows.sort((a, b) => values[a] - values[b] || a - b);
}

/** The reference order of the rows passing `keep`, in a direction: what any page is a slice of. */
const filtered = (order: readonly number[], keep: (row: number) => boolean, desc: boolean) => {
  const rows = order.filter(keep);
  return desc ? rows.reverse() : rows;
};

/** Where a selected head first differs from the reference order (-1: it is a prefix of it): cheap on long arrays. */
function firstDifference(head: Uint32Array, reference: readonly number[]): number {
  for (let i = 0; i < head.length; i++) if (head[i] !== reference[i]) return i;
  return -1;
}

describe('a first page selected from the sort columns', () => {
  const snapshot = build(99);
  const c = snapshot.columns;
  const filters: { name: string; keep: (row: number) => boolean }[] = [
    { name: 'every row', keep: () => true },
    { name: 'UDP', keep: (row) => c.protocol[row] === 17 },
    { name: 'zone 2 and mark 3', keep: (row) => c.zone[row] === 2 && c.mark[row] === 3 },
    { name: 'a handful', keep: (row) => row % 4001 === 7 },
    { name: 'none', keep: () => false },
  ];

  it.each(SORT_KEYS)('selects exactly the first rows of the full order by %s: both directions, every filter, any take', (key) => {
    const reference = referenceOrder(snapshot, key);
    const columns = runAll(sortColumnsSteps(c, key));
    expect(Array.from(runAll(orderSteps(columns))), 'full order').toEqual(reference);
    for (const { name, keep } of filters) {
      const mask = new Uint8Array(c.size);
      let count = 0;
      for (let row = 0; row < c.size; row++) if (keep(row)) count += mask[row] = 1;
      for (const desc of [false, true]) {
        const expected = filtered(reference, keep, desc);
        for (const take of [1, 100, 2047, 2049, 7000, count - 1, count, count + 10]) {
          if (take < 1) continue;
          const head = runAll(selectSteps(columns, mask, count, take, desc));
          // At least what was asked (or every row), and exactly a prefix of the filtered order.
          expect(head.length, `${name} desc=${desc} take=${take}`).toBeGreaterThanOrEqual(Math.min(take, count));
          expect(head.length).toBeLessThanOrEqual(count);
          expect(firstDifference(head, expected), `${name} desc=${desc} take=${take}`).toBe(-1);
        }
      }
    }
  });
});

describe('pages of a snapshot before and after its order is built', () => {
  it('answers every page the same from a selection, from the cached head, and from the full order', async () => {
    const selected = build(7);
    const ordered = build(7);
    const c = selected.columns;
    for (const sort of ['timeout', 'src', 'startedAt', 'protocol', 'bytes'] as const) {
      const reference = referenceOrder(selected, sort);
      await ordered.prepare({ sort });
      // Pages near the top first (selected, until offset + limit passes a quarter of the rows): around the
      // head a first page selects (1,000 rows) and beyond it; then deeper ones (the full order) and past the end.
      const near = (): number[][] => [[0, 100], [100, 100], [950, 100], [1000, 100], [ROWS / 4 - 20, 20]];
      const deep = (matched: number): number[][] => [[ROWS / 4, 100], [matched - 5, 100], [ROWS, 100]];
      for (const pages of [near, deep]) {
        for (const q of (['asc', 'desc'] as const).flatMap((order) => [{}, { protocol: 17 }].map((filter) => ({ sort, order, filter })))) {
          const keep = (row: number) => q.filter.protocol === undefined || c.protocol[row] === q.filter.protocol;
          const expected = filtered(reference, keep, q.order === 'desc');
          for (const [offset, limit] of pages(expected.length)) {
            const page = selected.query({ ...q, offset, limit });
            expect(page.matched).toBe(expected.length);
            expect(page.rows, `${sort} ${q.order} ${JSON.stringify(q.filter)} @${offset}`).toEqual(expected.slice(offset, offset + limit));
            expect(ordered.query({ ...q, offset, limit })).toEqual(page);
          }
        }
      }
    }
  }, 120_000);

  it('keeps every order it built while it builds others: no two orders share an array', async () => {
    // Sorts give their scratch arrays back for later sorts of as many rows: an order handed out must never be one.
    const snapshot = build(11);
    const other = build(12);
    const built = new Map<SortKey, Uint32Array>();
    for (const sort of SORT_KEYS) {
      await snapshot.prepare({ sort });
      await other.prepare({ sort });
      built.set(sort, snapshot.order(sort));
    }
    for (const sort of SORT_KEYS) {
      const order = built.get(sort)!;
      expect(firstDifference(order, referenceOrder(snapshot, sort)), sort).toBe(-1);
      expect(order.length).toBe(ROWS);
    }
  }, 120_000);

  it('warms every sort key on the first rows of a table without writing the table or changing an answer', () => {
    const snapshot = build(21);
    const c = snapshot.columns;
    const entries = () => Array.from({ length: snapshot.size }, (_, row) => snapshot.connection(row));
    const before = entries();
    let steps = 0;
    for (const generator = warmSteps(c); !generator.next().done; ) steps++;
    expect(steps).toBeGreaterThan(0);
    expect(entries()).toEqual(before);
    for (const sort of ['src', 'bytes', 'startedAt', 'dport'] as const) {
      expect(firstDifference(snapshot.order(sort), referenceOrder(snapshot, sort)), sort).toBe(-1);
      expect(snapshot.query({ sort, order: 'desc', filter: { protocol: 17 } }).rows).toEqual(filtered(referenceOrder(snapshot, sort), (row) => c.protocol[row] === 17, true).slice(0, 100));
    }
  }, 60_000);

  it('pages an empty table and a one-row table by every key', async () => {
    const empty = new SnapshotBuilder(0).finish({ takenAt: new Date(), tookMs: 0 });
    const one = new SnapshotBuilder(1);
    one.addConnection({ family: 'ipv6', original: { src: '2001:db8::1', dst: '2001:db8::2', protocol: 17, sport: 1, dport: 2 }, reply: { src: '2001:db8::2', dst: '2001:db8::1', protocol: 17, sport: 2, dport: 1 }, status: 0, zone: 0 });
    const single = one.finish({ takenAt: new Date(), tookMs: 0 });
    for (const sort of SORT_KEYS) {
      for (const order of ['asc', 'desc'] as const) {
        expect(await empty.page({ sort, order })).toEqual({ matched: 0, rows: [] });
        expect(await single.page({ sort, order })).toEqual({ matched: 1, rows: [0] });
        expect(single.query({ sort, order, offset: 1 })).toEqual({ matched: 1, rows: [] });
      }
    }
  });

  it('page() selects the first page in turns, builds the order in the background, and later pages agree', async () => {
    const snapshot = build(3);
    const reference = filtered(referenceOrder(snapshot, 'bytesReply'), () => true, true);
    let first: Awaited<ReturnType<Snapshot['page']>> | undefined;
    // Steps end by time: at this size, with no time at all, every block of rows is a step of its own.
    const ms = stepLimit.ms;
    stepLimit.ms = 0;
    try {
      expect(await turnsDuring(async () => (first = await snapshot.page({ sort: 'bytesReply', order: 'desc' })))).toBeGreaterThan(1);
    } finally {
      stepLimit.ms = ms;
    }
    expect(first?.rows).toEqual(reference.slice(0, 100));
    // A page deep down (past a quarter of the rows) waits for the order; the order is the reference.
    expect((await snapshot.page({ sort: 'bytesReply', order: 'desc', offset: ROWS - 1000, limit: 100 })).rows).toEqual(reference.slice(ROWS - 1000, ROWS - 900));
    expect(firstDifference(snapshot.order('bytesReply').slice().reverse(), reference)).toBe(-1);
    expect((await snapshot.page({ sort: 'bytesReply', order: 'desc', offset: 2_000 })).rows).toEqual(reference.slice(2_000, 2_100));
  }, 60_000);
});

/** Random IPv4 words and IPv6 groups drawn from a few values each, edge values among them (0, all ones, the top bit). */
function buildAddresses(seed: number, v6Share: number): Snapshot {
  let x = seed;
  const next = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
  const pick = <T>(values: readonly T[]): T => values[(next() >>> 8) % values.length];
  const octets = [0, 1, 127, 128, 254, 255];
  const groups = ['0', '1', 'ff', '100', '7fff', '8000', 'fffe', 'ffff'];
  const v4 = () => (next() % 7 === 0 ? pick(['0.0.0.0', '255.255.255.255', '128.0.0.0', '127.255.255.255']) : [0, 1, 2, 3].map(() => pick(octets)).join('.'));
  const v6 = () =>
    next() % 7 === 0 ? pick(['::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '::ffff:10.0.0.1', '8000::', '::1']) : Array.from({ length: 8 }, (_, g) => (g % 3 === 1 ? '0' : pick(groups))).join(':');
  const builder = new SnapshotBuilder(ROWS);
  for (let i = 0; i < ROWS; i++) {
    const family = next() % 1000 < v6Share * 1000 ? 'ipv6' : 'ipv4';
    const address = family === 'ipv6' ? v6 : v4;
    const [a, b, c, d] = [address(), address(), address(), address()];
    builder.addConnection({ family, original: { src: a, dst: b, protocol: 17, sport: 1, dport: 2 }, reply: { src: c, dst: d, protocol: 17, sport: 2, dport: 1 }, status: 0, zone: 0 });
  }
  return builder.finish({ takenAt: new Date(), tookMs: 0 });
}

describe('address keys on IPv4-only, mixed and IPv6-only tables', () => {
  const ADDRESS_KEYS = ['src', 'dst', 'replySrc', 'replyDst'] as const;
  it.each([0, 0.15, 0.5, 1])('orders and selects as the bytewise reference does, IPv6 share %s', (share) => {
    const snapshot = buildAddresses(5 + share * 100, share);
    const c = snapshot.columns;
    const mask = new Uint8Array(c.size);
    let count = 0;
    for (let row = 0; row < c.size; row++) if (row % 3) count += mask[row] = 1;
    for (const key of ADDRESS_KEYS) {
      const reference = referenceOrder(snapshot, key);
      const columns = runAll(sortColumnsSteps(c, key));
      expect(Array.from(runAll(orderSteps(columns))), key).toEqual(reference);
      for (const desc of [false, true]) {
        const expected = filtered(reference, (row) => mask[row] === 1, desc);
        for (const take of [1, 100, 3000]) {
          const head = runAll(selectSteps(columns, mask, count, take, desc));
          expect(head.length).toBeGreaterThanOrEqual(take);
          expect(firstDifference(head, expected), `${key} desc=${desc} take=${take}`).toBe(-1);
        }
      }
    }
  });
});
