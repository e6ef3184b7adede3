// The history writer: rows and the retention go through a worker thread with its own connection; what it wrote is
// what this thread's store reads (row for row, the same as the synchronous insert), and a shutdown that cannot await
// (stop() in a process 'exit' handler) still writes every buffered row, once.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HISTORY_DEFAULTS, HistoryRecorder, HistoryStore, type HistoryRecord } from '@/lib/history';
import { HistoryWriter } from '@/lib/history/writer';
import { encodeRows, pruneJob, WRITER_SQL } from '@/lib/history/store';
import { runWriterJob, type JobDatabase, type JobResult } from '@/lib/history/writer-job';
import { openStore } from '@/lib/store';
import { endedUdp, eventFeed } from '../support/ended';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function fileStore(options: { maxRows?: number } = {}): HistoryStore {
  dir = mkdtempSync(join(tmpdir(), 'ctc-history-writer-'));
  return new HistoryStore(openStore(dir), options);
}

const record = (i: number): HistoryRecord => ({
  id: 5000 + i,
  family: i % 2 ? 'ipv6' : 'ipv4',
  original: i % 2 ? { src: `fd00::${i}`, dst: '2001:db8::1', protocol: 6, sport: 40000 + i, dport: 443 } : { src: `10.0.${i >> 8}.${i & 255}`, dst: '192.0.2.1', protocol: 1, icmp: { type: 8, code: 0, id: i } },
  reply: i % 2 ? { src: '2001:db8::1', dst: `fd00::${i}`, protocol: 6, sport: 443, dport: 40000 + i } : { src: '192.0.2.1', dst: '203.0.113.5', protocol: 1, icmp: { type: 0, code: 0, id: i } },
  status: i % 2 ? 0 : 0x10,
  zone: i % 3,
  mark: i,
  ...(i % 4 ? { startedAt: 2_000_000 + i * 1000, state: 'TIME_WAIT' as const, closedBy: 'server' as const } : {}),
  endedAt: 2_000_000 + i * 1000 + 7,
  ...(i % 5 ? { counters: { original: { packets: i, bytes: i * 1500 }, reply: { packets: 2, bytes: 2 ** 40 + i } } } : {}),
  cause: i % 5 ? 'timeout' : 'admin',
  ...(i % 5 ? {} : { deletedBy: `user${i}`, endedAfter: 1_999_000 + i * 1000, endedBefore: 2_000_000 + i * 1000 + 7 }),
});

/** Every stored column of every row of every partition but the key, in id order, read by a connection of its own. */
function storedRows(file: string): unknown[] {
  const db = new Database(file, { readonly: true });
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND (name = 'history' OR name GLOB 'history_[0-9]*')").all() as { name: string }[]).map((t) => `SELECT * FROM ${t.name}`);
    return (db.prepare(`SELECT * FROM (${tables.join(' UNION ALL ')}) ORDER BY id`).all() as Record<string, unknown>[]).map(({ key: _key, ...row }) => row);
  } finally {
    db.close();
  }
}

const inserted = (writer: HistoryWriter, records: HistoryRecord[]) => new Promise<JobResult>((resolve) => writer.insert(records, resolve));

describe('HistoryWriter', () => {
  it('writes in its own thread exactly the rows the synchronous insert writes, and prunes there', async () => {
    // Partitions of 100 rows (a cap of 1,600 is 16 of them).
    const threaded = fileStore({ maxRows: 1600 });
    const records = Array.from({ length: 1000 }, (_v, i) => record(i));
    const writer = new HistoryWriter(threaded, () => undefined);
    try {
      expect(writer.threaded).toBe(true);
      expect(await inserted(writer, records)).toEqual({ rows: 1000, longestHoldMs: expect.any(Number) });
      expect(threaded.size).toBe(1000);
      const here = new HistoryStore(openStore(mkdtempSync(join(tmpdir(), 'ctc-history-writer-here-'))), { maxRows: 1600 });
      try {
        here.insert(records);
        expect(storedRows(threaded.db.name)).toEqual(storedRows(here.db.name));
      } finally {
        here.db.close();
        rmSync(join(here.db.name, '..'), { recursive: true, force: true });
      }
      // This thread's store reads them (another connection wrote them).
      expect(threaded.query({ filter: {}, causes: ['admin'], limit: 500, offset: 0 }).matched).toBe(200);
      // Age (the first partition's rows all ended before it), then the row limit: the oldest partitions go whole.
      expect(await writer.prune({ olderThan: 2_000_000 + 100 * 1000, maxRows: 600 })).toEqual({ rows: 400, longestHoldMs: expect.any(Number) });
      expect(threaded.size).toBe(600);
      const ids = (storedRows(threaded.db.name) as { id: number }[]).map((r) => r.id);
      expect([ids.length, ids[0]]).toEqual([600, 5400]);
      // The partitions removed are gone from the file, tables and indexes.
      expect(threaded.db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE tbl_name IN ('history', 'history_1', 'history_2', 'history_3')").get()).toEqual({ n: 0 });
    } finally {
      writer.close();
      threaded.db.close();
    }
  });

  it('reports a failed write with its SQLite code; rows of chunks committed before it count', async () => {
    const s = fileStore();
    const writer = new HistoryWriter(s, () => undefined);
    try {
      s.db.exec("CREATE TRIGGER history_full BEFORE INSERT ON history WHEN NEW.id = 5450 BEGIN SELECT RAISE(ABORT, 'disk full'); END");
      const result = await inserted(writer, Array.from({ length: 1000 }, (_v, i) => record(i)));
      expect(result.error).toMatchObject({ code: 'SQLITE_CONSTRAINT_TRIGGER', message: 'disk full' });
      // The transactions before the failing row's are committed; that row's chunk is not.
      expect(result.rows).toBeGreaterThan(0);
      expect(result.rows).toBeLessThanOrEqual(450);
      expect(s.size).toBe(result.rows);
      expect((s.db.prepare('SELECT COUNT(*) AS n FROM history').get() as { n: number }).n).toBe(result.rows);
    } finally {
      writer.close();
      s.db.close();
    }
  });
});

/** The store's connection, counting the transactions begun and the pauses taken between them. */
function counting(db: Database.Database): { db: JobDatabase; begun: () => number } {
  let begun = 0;
  return {
    db: {
      prepare: (sql) => db.prepare(sql),
      exec: (sql) => {
        if (sql === 'BEGIN IMMEDIATE') begun++;
        return db.exec(sql);
      },
      get inTransaction() {
        return db.inTransaction;
      },
    },
    begun: () => begun,
  };
}

describe('the writer job holds the lock for a bounded time', () => {
  it('a transaction commits once its time budget is spent (after one row at 0 ms); without a budget, chunkRows rows each', () => {
    const s = fileStore();
    try {
      const records = Array.from({ length: 300 }, (_v, i) => record(i));
      // A budget of 0 ms: every transaction commits after its first row, whatever a row costs.
      const bounded = counting(s.db);
      let pauses = 0;
      const partitions = { partitionRows: 30, partitionMs: 0 };
      const result = runWriterJob(bounded.db, WRITER_SQL, { op: 'insert', batch: encodeRows(records.slice(0, 100)), chunkRows: 200, chunkMs: 0, ...partitions }, () => pauses++, 5);
      expect(result).toEqual({ rows: 100, longestHoldMs: expect.any(Number) });
      expect(bounded.begun()).toBe(100);
      expect(pauses).toBe(99);
      const plain = counting(s.db);
      expect(runWriterJob(plain.db, WRITER_SQL, { op: 'insert', batch: encodeRows(records.slice(100)), chunkRows: 64, ...partitions }, () => undefined, 0).rows).toBe(200);
      // A transaction ends at a partition's end too: 20 rows fill the 4th partition, then 30 a partition.
      expect(plain.begun()).toBe(1 + Math.ceil(180 / 30));
      expect(storedRows(s.db.name)).toHaveLength(300);
      // The retention: six partitions retired, then each emptied in transactions of one index drop each (and more).
      let prunePauses = 0;
      const pruned = runWriterJob(s.db, WRITER_SQL, { ...pruneJob({ maxRows: 120 }, 30, 200), chunkMs: 0 }, () => prunePauses++, 5);
      expect(pruned).toEqual({ rows: 180, longestHoldMs: expect.any(Number) });
      expect(prunePauses).toBeGreaterThanOrEqual(6 * 13);
      const ids = (storedRows(s.db.name) as { id: number }[]).map((r) => r.id);
      expect([ids.length, ids[0]]).toEqual([120, 5180]);
    } finally {
      s.db.close();
    }
  });
});

describe('the recorder through its writer', () => {
  it('a read waits for the rows just ended; stop() without awaiting writes the rest, each once', async () => {
    const s = fileStore();
    const recorder = new HistoryRecorder({ store: s, config: { ...HISTORY_DEFAULTS, flushRows: 1000 }, log: () => undefined });
    const feed = eventFeed(recorder);
    for (let i = 0; i < 2500; i++) feed({ kind: 'destroy', connection: endedUdp(i) });
    await recorder.flushed();
    expect(s.query({ filter: {}, limit: 1, offset: 0 }).matched).toBe(2500);
    // More than one batch of the writer, then a synchronous stop: nothing is awaited.
    for (let i = 2500; i < 47_500; i++) feed({ kind: 'destroy', connection: endedUdp(i) });
    recorder.stop();
    const counted = s.db.prepare('SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS ids FROM history').get();
    expect(counted).toEqual({ n: 47_500, ids: 47_500 });
    expect(recorder.status()).toMatchObject({ recorded: 47_500, pending: 0 });
    s.db.close();
  }, 120_000);
});
