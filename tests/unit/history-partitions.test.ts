// The history's partitions: rows go into the newest, which is sealed by its row count or by the time its rows span;
// the retention removes the oldest whole (by the row cap and by age, leaving exactly the rows of the partitions
// kept); a database of an earlier version (one history table, maybe millions of rows) becomes the oldest partition
// as it is, and loses only the rows it must; a second connection (the writer's worker is one) sees partitions the
// other created and retired at its next query.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseFilter } from '@/lib/conntrack';
import { HistoryStore, type HistoryRecord } from '@/lib/history';
import { HISTORY_MIGRATIONS } from '@/lib/history/schema';
import { migrate, openStore, type Store } from '@/lib/store';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function database(): Store {
  const dir = mkdtempSync(join(tmpdir(), 'ctc-history-partitions-'));
  dirs.push(dir);
  return openStore(dir);
}

const MINUTE = 60_000;

/** Row i, ended at `endedAt` (default: i minutes after the epoch's 1,000,000 ms). */
const record = (i: number, endedAt = 1_000_000 + i * MINUTE): HistoryRecord => ({
  id: i,
  family: 'ipv4',
  original: { src: `10.0.0.${i % 200}`, dst: '192.0.2.1', protocol: 17, sport: 1000 + i, dport: 53 },
  reply: { src: '192.0.2.1', dst: '203.0.113.1', protocol: 17, sport: 53, dport: 30_000 + i },
  status: 0x1e,
  zone: 0,
  mark: 0,
  startedAt: endedAt - 1000,
  endedAt,
  cause: 'timeout',
});
const records = (from: number, to: number) => Array.from({ length: to - from }, (_v, j) => record(from + j));

/** The ids of every row, oldest end first, as the API pages them (two pages at most). */
const ids = (store: HistoryStore) => store.query({ filter: {}, sort: 'ended', order: 'asc', limit: 1000, offset: 0 }).rows.map((r) => r.id);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_v, j) => from + j);

describe('partitions', () => {
  it("a new partition has the history table's columns, in order, and an index for each of its indexes", () => {
    // PARTITION_DDL restates what migrations 1 to 3 made of the history table: a query across partitions is a
    // UNION ALL of SELECT *, and walkPage names a partition's index after the history table's.
    const db = database();
    const store = new HistoryStore(db, { maxRows: 160, retentionDays: 0 });
    store.insert(records(0, 11));
    const columns = (table: string) => (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string; type: string; notnull: number; pk: number }[]).map((c) => [c.name, c.type, c.notnull, c.pk]);
    const indexes = (table: string) =>
      (db.prepare(`PRAGMA index_list(${table})`).all() as { name: string; origin: string }[])
        .filter((i) => i.origin === 'c')
        .map((i) => [i.name.slice(table.length), (db.prepare(`PRAGMA index_info(${i.name})`).all() as { name: string }[]).map((c) => c.name).join(',')])
        .sort();
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'history_1'").get()).toBeTruthy();
    expect(columns('history_1')).toEqual(columns('history'));
    expect(indexes('history_1')).toEqual(indexes('history'));
    expect(indexes('history').length).toBe(13);
  });

  it('a partition is sealed at its row count: the next begins, keys running on', () => {
    // A cap of 160 rows: partitions of 10.
    const store = new HistoryStore(database(), { maxRows: 160, retentionDays: 0 });
    store.insert(records(0, 25));
    store.insert(records(25, 27));
    const catalog = store.catalog();
    expect(catalog.map((p) => [p.table, p.rows, p.first_key])).toEqual([
      ['history_2', 7, 21],
      ['history_1', 10, 11],
      ['history', 10, 1],
    ]);
    expect(catalog.map((p) => [p.min_ended, p.max_ended])).toEqual([20, 10, 0].map((i) => [record(i).endedAt, record(Math.min(i + 9, 26)).endedAt]));
    expect(ids(store)).toEqual(range(0, 27));
    expect(store.size).toBe(27);
    // Details by key and by kernel id, in whichever partition.
    expect(store.latestById(3)?.key).toBe(4);
    expect(store.latestById(22)?.key).toBe(23);
    // Deleting by key counts in the right partition.
    expect(store.deleteKeys([4, 23, 999])).toBe(2);
    expect(store.catalog().map((p) => p.rows)).toEqual([6, 10, 9]);
    expect(store.size).toBe(25);
  });

  it('pages in end order are the same when the partitions\' end times overlap (rows that came out of order)', () => {
    const store = new HistoryStore(database(), { maxRows: 160, retentionDays: 0 });
    // 60 rows whose end times are a permutation: each partition of 10 spans much of the whole range.
    const ended = (i: number) => 1_000_000 + ((i * 37) % 60) * MINUTE;
    store.insert(Array.from({ length: 60 }, (_v, i) => record(i, ended(i))));
    const all = Array.from({ length: 60 }, (_v, i) => i).sort((a, b) => ended(a) - ended(b));
    for (const order of ['asc', 'desc'] as const) {
      const expected = order === 'asc' ? all : [...all].reverse();
      for (const [limit, offset] of [[10, 0], [7, 13], [25, 40], [10, 55]]) {
        const page = store.query({ filter: {}, sort: 'ended', order, limit, offset });
        expect(page.rows.map((r) => r.id), `${order} ${limit}@${offset}`).toEqual(expected.slice(offset, offset + limit));
      }
    }
  });

  it('a partition is sealed once its rows span a 16th of the retention time', () => {
    // 16 days of retention: a partition spans less than a day of end times.
    const store = new HistoryStore(database(), { maxRows: 1_000_000, retentionDays: 16 });
    const DAY = 86_400_000;
    const at = (i: number, day: number) => record(i, 1_000_000 + day * DAY + i);
    store.insert([at(0, 0), at(1, 0), at(2, 0.5), at(3, 1), at(4, 1.2), at(5, 2.5)]);
    expect(store.catalog().map((p) => p.rows)).toEqual([1, 2, 3]);
  });

  it('the retention removes whole partitions, oldest first: by the row cap, then by age, exactly those rows', () => {
    const db = database();
    const store = new HistoryStore(db, { maxRows: 160, retentionDays: 0 });
    store.insert(records(0, 175));
    expect(store.catalog()).toHaveLength(18);
    // 175 rows over a cap of 160: the two oldest partitions go (155 kept, between the cap less a partition and the cap).
    expect(store.prune({ maxRows: 160 })).toBe(20);
    expect(ids(store)).toEqual(range(20, 175));
    // Age: every partition whose newest row ended before the limit; the one holding the limit stays whole.
    expect(store.prune({ maxRows: 160, olderThan: record(45).endedAt })).toBe(20);
    expect(ids(store)).toEqual(range(40, 175));
    // Their tables and indexes are gone.
    const tables = db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE tbl_name IN ('history', 'history_1', 'history_2', 'history_3')").get();
    expect(tables).toEqual({ n: 0 });
    expect(store.catalog().at(-1)?.table).toBe('history_4');
    // The newest partition stays whatever the limits say (rows go into it).
    expect(store.prune({ maxRows: 1, olderThan: record(1000).endedAt })).toBe(130);
    expect(ids(store)).toEqual(range(170, 175));
    store.insert(records(175, 180));
    expect(ids(store)).toEqual(range(170, 180));
  });

  it('a partition retired but not emptied (the process was killed meanwhile) is read by no query and finished by the next retention', () => {
    const db = database();
    const store = new HistoryStore(db, { maxRows: 160, retentionDays: 0 });
    store.insert(records(0, 30));
    // As a retention killed after the retirement and the first index drop leaves it.
    db.prepare('UPDATE history_partitions SET retired = 1 WHERE n = 1').run();
    db.exec('DROP INDEX history_1_src');
    expect(ids(store)).toEqual([...range(0, 10), ...range(20, 30)]);
    expect(store.query({ filter: parseFilter({ src: '10.0.0.15' }), limit: 10, offset: 0 }).rows).toEqual([]);
    expect(store.size).toBe(20);
    expect(store.prune({ maxRows: 0 })).toBe(0);
    expect(db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE tbl_name = 'history_1'").get()).toEqual({ n: 0 });
    expect(db.prepare('SELECT n FROM history_partitions ORDER BY n').all()).toEqual([{ n: 0 }, { n: 2 }]);
  });

  it('a database of an earlier version keeps its table as the oldest partition, which loses only the rows it must', () => {
    const db = database();
    // Version 3: the single history table, with 50 rows.
    migrate(db, 'history', HISTORY_MIGRATIONS.slice(0, 3));
    for (let i = 0; i < 50; i++) {
      const r = record(i);
      db.prepare(
        `INSERT INTO history (id, family, protocol, src, dst, sport, dport, reply_src, reply_dst, reply_sport, reply_dport, src_b, dst_b, reply_src_b, reply_dst_b, zone, mark, status, started_at, ended_at, cause)
         VALUES (?, 4, 17, ?, '192.0.2.1', ?, 53, '192.0.2.1', '203.0.113.1', 53, ?, ?, X'C0000201', X'C0000201', X'CB007101', 0, 0, 30, ?, ?, 'timeout')`,
      ).run(r.id, r.original.src, r.original.sport, r.reply.dport, Buffer.from([10, 0, 0, i % 200]), r.startedAt, r.endedAt);
    }
    // Partitions of 2 rows for a cap of 32.
    const store = new HistoryStore(db, { maxRows: 32, retentionDays: 0 });
    expect(store.catalog().map((p) => [p.table, p.rows, p.first_key])).toEqual([['history', 50, 1]]);
    expect(ids(store)).toEqual(range(0, 50));
    // It is full (more than a partition): new rows begin the next partition.
    store.insert(records(50, 55));
    expect(store.catalog().map((p) => [p.table, p.rows, p.first_key])).toEqual([
      ['history_3', 1, 55],
      ['history_2', 2, 53],
      ['history_1', 2, 51],
      ['history', 50, 1],
    ]);
    // Over the cap by 23: the old table is bigger than a partition, so its 23 oldest rows go one by one.
    expect(store.prune({ maxRows: 32 })).toBe(23);
    expect(ids(store)).toEqual(range(23, 55));
    expect(store.query({ filter: {}, sort: 'ended', order: 'desc', limit: 3, offset: 0 }).rows.map((r) => r.id)).toEqual([54, 53, 52]);
    store.insert(records(55, 80));
    expect(store.prune({ maxRows: 32 })).toBe(25);
    expect(store.catalog().at(-1)?.rows).toBe(2);
    // Once it is no bigger than a partition it goes whole, like any.
    store.insert(records(80, 82));
    expect(store.prune({ maxRows: 32 })).toBe(2);
    expect(store.catalog().some((p) => p.table === 'history')).toBe(false);
    expect(ids(store)).toEqual(range(50, 82));
  });

  it('a second connection sees the partitions the first created and retired', () => {
    const db = database();
    const writer = new HistoryStore(db, { maxRows: 160, retentionDays: 0 });
    const reader = new HistoryStore(openStore(join(db.name, '..')), { maxRows: 160, retentionDays: 0 });
    try {
      writer.insert(records(0, 5));
      expect(ids(reader)).toEqual(range(0, 5));
      writer.insert(records(5, 45));
      expect(ids(reader)).toEqual(range(0, 45));
      expect(reader.catalog()).toHaveLength(5);
      expect(reader.query({ filter: {}, causes: ['timeout'], limit: 10, offset: 0 }).matched).toBe(45);
      writer.prune({ maxRows: 30 });
      expect(ids(reader)).toEqual(range(20, 45));
      expect(reader.size).toBe(25);
      expect(reader.latestById(3)).toBeUndefined();
      expect(reader.query({ filter: {}, causes: ['timeout'], limit: 10, offset: 0 }).matched).toBe(25);
    } finally {
      reader.db.close();
    }
  });
});
