// The history's pure parts: the cause of an ended connection, the bounded closers map, and the SQLite store
// (filters, sort, paging, retention, clear) on a throw-away database.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { emptyFields, emptyProgress, externalEndpoint, parseFilter, type Connection } from '@/lib/conntrack';
import { SnapshotBuilder } from '@/lib/conntrack/snapshot';
import { parseAddress, parsePrefix, type Prefix } from '@/lib/netlink/address';
import { causeOf, closerOf, closerOfFlags, ClosersMap, COUNT_CAP, HISTORY_SORT_KEYS, HistoryStore, OpenEntries, type HistoryRecord, type HistorySortKey } from '@/lib/history';
import { openStore } from '@/lib/store';
import { awkwardSnapshot } from '../support/awkward-snapshot';

const tcp = (state: string | undefined, extra: Partial<Connection> = {}): Connection => ({
  family: 'ipv4',
  original: { src: '10.0.0.1', dst: '10.0.0.2', protocol: 6, sport: 1000, dport: 80 },
  reply: { src: '10.0.0.2', dst: '10.0.0.1', protocol: 6, sport: 80, dport: 1000 },
  status: 0,
  zone: 0,
  ...(state ? { protoinfo: { tcp: { state: state as 'CLOSE' } } } : {}),
  ...extra,
});

describe('causeOf', () => {
  const cases: [string, Connection, 1 | 2 | undefined, 'admin' | 'flush' | undefined, string][] = [
    ['first FIN from the client', tcp('TIME_WAIT'), 1, undefined, 'client'],
    ['first FIN from the server', tcp('TIME_WAIT'), 2, undefined, 'server'],
    ['CLOSE without a FIN is a reset', tcp('CLOSE'), undefined, undefined, 'reset'],
    ['an idle TCP entry that expired', tcp('ESTABLISHED'), undefined, undefined, 'timeout'],
    ['UDP that expired', { ...tcp(undefined), original: { src: 'a', dst: 'b', protocol: 17 } }, undefined, undefined, 'timeout'],
    ['removed with time left, not by us', tcp('ESTABLISHED', { timeout: 500 }), undefined, undefined, 'deleted'],
    ['deleted from the console', tcp('ESTABLISHED', { timeout: 500 }), 1, 'admin', 'admin'],
    ['flushed from the console', tcp('ESTABLISHED', { timeout: 500 }), undefined, 'flush', 'flush'],
  ];
  for (const [what, destroy, closer, requested, cause] of cases) it(what, () => expect(causeOf(destroy, closer, requested)).toBe(cause));

  it('reads the closer from CLOSE_INIT', () => {
    expect(closerOf(tcp(undefined, { protoinfo: { tcp: { state: 'FIN_WAIT', flagsOriginal: { flags: 0x04, mask: 0x04 } } } }))).toBe(1);
    expect(closerOf(tcp(undefined, { protoinfo: { tcp: { state: 'CLOSE_WAIT', flagsReply: { flags: 0x04, mask: 0x04 } } } }))).toBe(2);
    expect(closerOf(tcp(undefined, { protoinfo: { tcp: { state: 'ESTABLISHED', flagsOriginal: { flags: 0x03, mask: 0x03 } } } }))).toBeUndefined();
  });
});

describe('ClosersMap', () => {
  it('keeps the first closer, forgets the oldest beyond its bound, and retains only live ids', () => {
    const map = new ClosersMap(2);
    map.note(1, 1);
    map.note(1, 2);
    map.note(2, 2);
    map.note(3, 1);
    expect(map.size).toBe(2);
    expect(map.take(1)).toBeUndefined();
    expect(map.take(2)).toBe(2);
    expect(map.take(2)).toBeUndefined();
    map.note(4, 2);
    expect(map.retain(new Set([4]))).toBe(1);
    expect(map.take(4)).toBe(2);
  });
});

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function store(options: { maxRows?: number } = {}): HistoryStore {
  dir = mkdtempSync(join(tmpdir(), 'ctc-history-unit-'));
  return new HistoryStore(openStore(dir), options);
}

const record = (i: number, extra: Partial<HistoryRecord> = {}): HistoryRecord => ({
  id: 1000 + i,
  family: i % 2 ? 'ipv6' : 'ipv4',
  original: i % 2 ? { src: `fd00::${i}`, dst: '2001:db8::1', protocol: 6, sport: 40000 + i, dport: 443 } : { src: `10.0.${i >> 8}.${i & 255}`, dst: '192.0.2.1', protocol: 17, sport: 40000 + i, dport: 53 },
  reply: i % 2 ? { src: '2001:db8::1', dst: `fd00::${i}`, protocol: 6, sport: 443, dport: 40000 + i } : { src: '192.0.2.1', dst: '203.0.113.5', protocol: 17, sport: 53, dport: 40000 + i },
  status: 0x10,
  zone: 0,
  mark: i,
  startedAt: 1_000_000 + i * 1000,
  endedAt: 1_000_000 + i * 1000 + i * 10,
  counters: { original: { packets: i, bytes: i * 100 }, reply: { packets: 1, bytes: 10 } },
  cause: i % 3 ? 'timeout' : 'client',
  ...extra,
});

describe('HistoryStore', () => {
  it('filters with the shared vocabulary, time range and causes; sorts and pages', () => {
    const s = store();
    s.insert(Array.from({ length: 40 }, (_v, i) => record(i)));
    expect(s.size).toBe(40);
    const q = (filter: unknown, extra: object = {}) => s.query({ filter: parseFilter(filter), limit: 1000, offset: 0, ...extra });
    expect(q({}).matched).toBe(40);
    expect(q({ family: 'ipv6' }).matched).toBe(20);
    expect(q({ protocol: 'udp' }).matched).toBe(20);
    expect(q({ src: '10.0.0.0/27' }).rows.map((r) => r.id).sort()).toEqual([1000, 1002, 1004, 1006, 1008, 1010, 1012, 1014, 1016, 1018, 1020, 1022, 1024, 1026, 1028, 1030]);
    expect(q({ ip: '203.0.113.5' }).matched).toBe(20);
    expect(q({ ip: 'fd00::3' }).rows.map((r) => r.id)).toEqual([1003]);
    expect(q({ port: '40005-40007' }).matched).toBe(3);
    expect(q({ id: 1007 }).rows[0].mark).toBe(7);
    expect(q({ mark: '0x4/0x4' }).matched).toBe(20);
    expect(q({}, { causes: ['client'] }).matched).toBe(14);
    expect(q({}, { from: 1_000_000 + 10 * 1000, to: 1_000_000 + 19 * 1000 + 1000 }).matched).toBe(10);
    expect(q({}, { sort: 'duration', order: 'desc', limit: 3 }).rows.map((r) => r.id)).toEqual([1039, 1038, 1037]);
    expect(q({}, { sort: 'ended', order: 'asc', limit: 2, offset: 5 }).rows.map((r) => r.id)).toEqual([1005, 1006]);
    expect(s.latestById(1003)?.src).toBe('fd00::3');
  });

  it('prunes by age and by rows (the newest stay), deletes selected keys and clears everything', () => {
    // Partitions of 5 rows (a cap of 80 is 16 of them): the retention removes whole partitions.
    const s = store({ maxRows: 80 });
    s.insert(Array.from({ length: 30 }, (_v, i) => record(i)));
    expect(s.prune({ olderThan: 1_000_000 + 5 * 1000, maxRows: 0 })).toBe(5);
    expect(s.prune({ maxRows: 10 })).toBe(15);
    const left = s.query({ filter: {}, limit: 100, offset: 0, sort: 'id', order: 'asc' }).rows;
    expect(left.map((r) => r.id)).toEqual(Array.from({ length: 10 }, (_v, i) => 1020 + i));
    expect(s.deleteKeys([left[0].key, left[1].key, 999_999])).toBe(2);
    expect(s.size).toBe(8);
    s.recordGap({ startedAt: 1, endedAt: 2, overflows: 3, lostEvents: 40 });
    expect(s.gaps()).toMatchObject({ gaps: 1, overflows: 3, lostEvents: 40 });
    expect(s.clear()).toBe(8);
    expect(s.gaps().overflows).toBe(0);
    expect(s.query({ filter: {}, limit: 10, offset: 0 }).matched).toBe(0);
  });
});

describe('HistoryStore sorting and counting', () => {
  // The value each sort key orders by, computed from the records (not from SQL), and whether NULLs sort first.
  const KEY_VALUE: Record<HistorySortKey, (r: HistoryRecord) => number | string | null> = {
    ended: (r) => r.endedAt,
    started: (r) => r.startedAt ?? null,
    duration: (r) => (r.startedAt === undefined ? null : r.endedAt - r.startedAt),
    id: (r) => r.id,
    protocol: (r) => r.original.protocol,
    state: (r) => r.state ?? null,
    cause: (r) => r.cause,
    src: (r) => `${r.family === 'ipv4' ? 4 : 6}|${Buffer.from(parseAddress(r.original.src)!.bytes).toString('hex')}`,
    dst: (r) => `${r.family === 'ipv4' ? 4 : 6}|${Buffer.from(parseAddress(r.original.dst)!.bytes).toString('hex')}`,
    external: (r) => {
      const e = externalEndpoint(r);
      return e ? `${Buffer.from(parseAddress(e.address)!.bytes).toString('hex')}|${String(e.port ?? '').padStart(5, '0')}` : null;
    },
    bytes: (r) => (r.counters ? r.counters.original.bytes + r.counters.reply.bytes : 0),
    packets: (r) => (r.counters ? r.counters.original.packets + r.counters.reply.packets : 0),
  };

  const varied = (i: number): HistoryRecord => {
    const base = record(i, { status: i % 4 === 0 ? 0x1e : i % 4 === 1 ? 0x2e : 0x0e });
    if (i % 5 === 0) delete base.startedAt;
    if (i % 7 === 0) delete base.counters;
    if (i % 3 === 0) base.state = (['ESTABLISHED', 'TIME_WAIT', 'CLOSE'] as const)[i % 9 === 0 ? 0 : i % 2];
    return { ...base, id: 5000 - i * 7, counters: base.counters && { original: { packets: (i * 13) % 17, bytes: (i * 7919) % 1000 }, reply: { packets: 1, bytes: 5 } } };
  };

  it('sorts by every key in both orders, ties broken by row key', () => {
    const s = store();
    const records = Array.from({ length: 40 }, (_v, i) => varied(i));
    s.insert(records);
    for (const sort of HISTORY_SORT_KEYS) {
      for (const order of ['asc', 'desc'] as const) {
        const got = s.query({ filter: {}, sort, order, limit: 1000, offset: 0 }).rows.map((r) => r.key);
        // SQLite orders NULL before any value ascending, after descending; then the row key (insertion order, 1-based).
        const expected = records
          .map((r, index) => ({ value: KEY_VALUE[sort](r), key: index + 1 }))
          .sort((a, b) => {
            const cmp = a.value === b.value ? 0 : a.value === null ? -1 : b.value === null ? 1 : a.value < b.value ? -1 : 1;
            return (cmp || a.key - b.key) * (order === 'asc' ? 1 : -1);
          })
          .map((r) => r.key);
        expect(got, `${sort} ${order}`).toEqual(expected);
      }
    }
  });

  it('counts exactly up to COUNT_CAP and says "more" beyond, the page the same either way', () => {
    const s = store();
    const n = COUNT_CAP + 50;
    s.insert(Array.from({ length: n }, (_v, i) => record(i, { original: { src: '10.9.0.1', dst: '192.0.2.1', protocol: 17, sport: 1000 + (i % 20), dport: 53 }, reply: { src: '192.0.2.1', dst: '203.0.113.9', protocol: 17, sport: 53, dport: 30000 + (i % 3000) }, family: 'ipv4', status: 0x1e })));
    const broad = s.query({ filter: parseFilter({ src: '10.9.0.1' }), limit: 5, offset: 0 });
    expect(broad).toMatchObject({ exact: false, matched: COUNT_CAP });
    expect(broad.rows.map((r) => r.ended_at)).toEqual([...broad.rows.map((r) => r.ended_at)].sort((a, b) => b - a));
    expect(broad.rows[0].key).toBe(n);
    const narrow = s.query({ filter: parseFilter({ src: '10.9.0.1', sport: '1003' }), limit: 5, offset: 0 });
    expect(narrow).toMatchObject({ exact: true, matched: Math.ceil((n - 3) / 20) });
    const external = s.query({ filter: {}, external: parsePrefix('203.0.113.9') as Prefix, externalPort: { min: 30007, max: 30007 }, limit: 100, offset: 0 });
    expect(external.exact).toBe(true);
    expect(external.rows.map((r) => r.reply_dport)).toEqual(Array(external.matched).fill(30007));
    expect(external.matched).toBe(Math.ceil((n - 7) / 3000));
  });

  it('finds who used an external address and port at an instant (the life overlaps the window)', () => {
    const s = store();
    const snat = (i: number, start: number, end: number, lan: string, port: number): HistoryRecord => ({
      ...record(i),
      family: 'ipv4',
      status: 0x1e,
      original: { src: lan, dst: '198.51.100.1', protocol: 6, sport: 40000 + i, dport: 443 },
      reply: { src: '198.51.100.1', dst: '203.0.113.1', protocol: 6, sport: 443, dport: port },
      startedAt: start,
      endedAt: end,
    });
    s.insert([snat(1, 1000, 2000, '10.0.0.1', 5000), snat(2, 3000, 9000, '10.0.0.2', 5000), snat(3, 3000, 9000, '10.0.0.3', 5001), snat(4, 20_000, 21_000, '10.0.0.4', 5000)]);
    const at = (instant: number, window: number) =>
      s
        .query({ filter: {}, external: parsePrefix('203.0.113.1') as Prefix, externalPort: { min: 5000, max: 5000 }, activeFrom: instant - window, activeTo: instant + window, limit: 10, offset: 0 })
        .rows.map((r) => r.src);
    expect(at(5000, 0)).toEqual(['10.0.0.2']);
    expect(at(2500, 600)).toEqual(['10.0.0.2', '10.0.0.1']);
    expect(at(15_000, 1000)).toEqual([]);
    expect(at(19_500, 600)).toEqual(['10.0.0.4']);
  });
});

describe('OpenEntries', () => {
  const open = (id: number, extra: Partial<Connection> = {}): Connection => ({
    ...tcp('ESTABLISHED'),
    id,
    status: 0x1e,
    mark: 7,
    original: { src: '10.0.0.5', dst: '198.51.100.3', protocol: 6, sport: 40000 + id, dport: 443 },
    reply: { src: '198.51.100.3', dst: '203.0.113.1', protocol: 6, sport: 443, dport: 60000 - id },
    counters: { original: { packets: 3n, bytes: 300n }, reply: { packets: 4n, bytes: 4000n } },
    timestamp: { start: 1_700_000_000_000_000_000n },
    ...extra,
  });

  it('keeps what the history row needs, refreshes counters, and tells a reused id apart', () => {
    const entries = new OpenEntries();
    entries.note(open(1), 100, 1);
    entries.note(open(2, { family: 'ipv6', original: { src: 'fd00::5', dst: '2001:db8::1', protocol: 17, sport: 5353, dport: 53 }, reply: { src: '2001:db8::1', dst: 'fd00::5', protocol: 17, sport: 53, dport: 5353 }, status: 0x0e }), 100, 1, 2);
    expect(entries.size).toBe(2);
    entries.note(open(1, { counters: { original: { packets: 9n, bytes: 900n }, reply: { packets: 8n, bytes: 8000n } }, protoinfo: { tcp: { state: 'TIME_WAIT' } } }), 200, 2);
    // Id 2 reused by another connection: not refreshed, so generation 2 did not see it.
    entries.note(open(2), 200, 2);
    expect(entries.unseenBy(2)).toEqual([2]);
    const ended = entries.take(1, { cause: 'unobserved', endedAfter: 200, endedBefore: 300 });
    expect(ended).toMatchObject({
      id: 1,
      family: 'ipv4',
      original: { src: '10.0.0.5', dst: '198.51.100.3', protocol: 6, sport: 40001, dport: 443 },
      reply: { src: '198.51.100.3', dst: '203.0.113.1', protocol: 6, sport: 443, dport: 59999 },
      status: 0x1e,
      mark: 7,
      state: 'TIME_WAIT',
      startedAt: 1_700_000_000_000,
      endedAt: 300,
      endedAfter: 200,
      endedBefore: 300,
      counters: { original: { packets: 9, bytes: 900 }, reply: { packets: 8, bytes: 8000 } },
      cause: 'unobserved',
    });
    const v6 = entries.take(2, { cause: 'admin', endedAfter: 5, endedBefore: 5, endedAt: 5, deletedBy: 'alice' });
    expect(v6).toMatchObject({ family: 'ipv6', original: { src: 'fd00::5', dst: '2001:db8::1', sport: 5353 }, closedBy: 'server', deletedBy: 'alice', endedAt: 5 });
    expect(v6?.endedAfter).toBeUndefined();
    expect(entries.size).toBe(0);
    expect(entries.take(1, { cause: 'unobserved', endedAfter: 0, endedBefore: 0 })).toBeUndefined();
  });

  it('a snapshot row is noted from its columns exactly as its decoded connection is, reused ids included', () => {
    const snapshot = awkwardSnapshot(4000);
    const byRow = new OpenEntries();
    const byConnection = new OpenEntries();
    const fields = emptyFields();
    const ids = new Set<number>();
    let closers = 0;
    // Twice: the second pass refreshes what the first noted (and meets the reused ids again).
    for (const generation of [1, 2]) {
      for (let row = 0; row < snapshot.size; row++) {
        const f = snapshot.fieldsAt(row, fields);
        const connection = snapshot.connection(row);
        expect(f.id).toBe(connection.id ?? -1);
        if (f.id < 0) continue;
        const closer = closerOf(connection) ?? 0;
        expect(closerOfFlags(f.flagsOriginal, f.flagsReply) ?? 0).toBe(closer);
        if (closer) closers++;
        byRow.noteRow(snapshot, row, f, generation * 1000 + row, generation, closer);
        byConnection.note(connection, generation * 1000 + row, generation, closer);
        ids.add(f.id);
      }
    }
    expect(closers).toBeGreaterThan(0);
    expect(ids.size).toBeLessThan(snapshot.size - 100);
    expect(byRow.size).toBe(ids.size);
    expect(byRow.unseenBy(2)).toEqual(byConnection.unseenBy(2));
    const end = { cause: 'unobserved', endedAfter: 5000, endedBefore: 6000 } as const;
    for (const id of ids) expect(byRow.take(id, end), `id ${id}`).toEqual(byConnection.take(id, end));
    expect(byRow.size).toBe(0);
  });

  it('a snapshot row refreshes an entry the same as its decoded connection, without building one', () => {
    const icmp = (id: number, extra: Partial<Connection> = {}): Connection => ({
      family: 'ipv4',
      original: { src: '10.0.0.6', dst: '198.51.100.4', protocol: 1, icmp: { type: 8, code: 0, id } },
      reply: { src: '198.51.100.4', dst: '203.0.113.1', protocol: 1, icmp: { type: 0, code: 0, id } },
      status: 0x0a,
      zone: 0,
      id,
      ...extra,
    });
    const later = [
      open(1, { counters: { original: { packets: 2n ** 40n, bytes: 2n ** 45n + 5n }, reply: { packets: 8n, bytes: 8000n } }, protoinfo: { tcp: { state: 'FIN_WAIT' } }, mark: 9, status: 0x19e }),
      icmp(3, { counters: { original: { packets: 1n, bytes: 84n }, reply: { packets: 1n, bytes: 84n } } }),
      // Id 4 now names another connection (other ports): the noted one ended.
      open(4, { original: { src: '10.0.0.5', dst: '198.51.100.3', protocol: 6, sport: 1, dport: 443 } }),
      // Not noted at the start: ignored.
      open(5),
    ];
    const builder = new SnapshotBuilder(8);
    for (const connection of later) builder.addConnection(connection);
    const snapshot = builder.finish({ takenAt: new Date(), tookMs: 0 });
    const byProgress = new OpenEntries();
    const byConnection = new OpenEntries();
    for (const entries of [byProgress, byConnection]) for (const c of [open(1), open(2), icmp(3), open(4)]) entries.note(c, 100, 1);
    const progress = emptyProgress();
    for (let row = 0; row < snapshot.size; row++) {
      const id = snapshot.idAt(row);
      if (byProgress.has(id)) byProgress.refreshSlot(byProgress.slotFor(id), snapshot.progressAt(row, progress), 200, 2);
      if (byConnection.has(id)) byConnection.note(snapshot.connection(row), 200, 2);
    }
    expect(byProgress.unseenBy(2).sort()).toEqual([2, 4]);
    expect(byConnection.unseenBy(2).sort()).toEqual([2, 4]);
    const end = { cause: 'unobserved', endedAfter: 200, endedBefore: 300 } as const;
    const first = byProgress.take(1, end);
    expect(first).toMatchObject({ state: 'FIN_WAIT', mark: 9, status: 0x19e, counters: { original: { packets: 2 ** 40, bytes: 2 ** 45 + 5 }, reply: { packets: 8, bytes: 8000 } } });
    expect(first).toEqual(byConnection.take(1, end));
    for (const id of [2, 3, 4]) expect(byProgress.take(id, end), `id ${id}`).toEqual(byConnection.take(id, end));
    expect(byProgress.take(5, { cause: 'unobserved', endedAfter: 0, endedBefore: 0 })).toBeUndefined();
  });
});
