// The history's pure parts: the cause of an ended connection, the bounded closers map, and the SQLite store
// (filters, sort, paging, retention, clear) on a throw-away database.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseFilter, type Connection } from '@/lib/conntrack';
import { causeOf, closerOf, ClosersMap, HistoryStore, type HistoryRecord } from '@/lib/history';
import { openStore } from '@/lib/store';

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

function store(): HistoryStore {
  dir = mkdtempSync(join(tmpdir(), 'ctc-history-unit-'));
  return new HistoryStore(openStore(dir));
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
    const s = store();
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
