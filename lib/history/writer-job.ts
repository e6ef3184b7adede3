// What the history writer does to the database: insert a batch of rows, prune by age and by row count, each in
// short transactions. `runWriterJob` runs in the writer's worker thread (writer.ts sends its source text there, so
// it may use no import and no name from outside itself, only globals such as Buffer) and on the main thread for a
// store without a worker (in memory) and for the synchronous HistoryStore.insert / prune.

/** How a column's values travel in a batch: a number (NaN for NULL), a text, or a blob of at most 16 bytes. */
export type ColumnKind = 'n' | 't' | 'b';

/** Bytes per blob value in a batch: its length (NULL_BLOB for NULL), then up to 16 bytes (runWriterJob spells both out). */
export const BLOB_SLOT = 17;
export const NULL_BLOB = 255;

/** Rows in columns: numbers and blobs in two buffers the worker receives without a copy, texts in one array. */
export interface RowBatch {
  count: number;
  numbers: Float64Array;
  texts: (string | null)[];
  blobs: Uint8Array;
}

export interface WriterSql {
  /** The INSERT of one row into the partition table $T, its key then its parameters in the order of `columns`. */
  insert: string;
  columns: readonly ColumnKind[];
  /** Which of a row's numbers is its ended_at (a partition is sealed by the time its rows span). */
  endedAtNumber: number;
  /** The partition rows go into: the newest one not retired (n, rows, first_key, min_ended). */
  newest: string;
  /** CREATE TABLE $T and its indexes: a new partition (store.ts partitionDdl). */
  createPartition: string;
  /** The catalog row of a new partition (?: n, first_key); the rows a chunk added or deleted (@rows, @min, @max of ended_at, @n). */
  addPartition: string;
  countRows: string;
  /** The greatest key of $T. */
  maxKey: string;
  /** Every partition in order, oldest first (n, rows, min_ended, max_ended, retired). */
  partitions: string;
  /** Marks partition ? retired: no query reads it from then on. */
  retire: string;
  /** The indexes of table ? (to drop one by one); the catalog row of a partition emptied and dropped. */
  indexesOf: string;
  forget: string;
  /** Within $T: DELETE of at most ? rows that ended before ?; the key of the (?+1)th oldest row; DELETE of at most ? rows with a key up to ?; DELETE of the ? oldest rows. */
  pruneOlder: string;
  cutKey: string;
  pruneUpTo: string;
  emptyOldest: string;
  /** DELETE of the gaps that ended before ?. */
  pruneGaps: string;
}

/**
 * `chunkRows` rows at most per transaction, and with `chunkMs` a transaction commits once it has worked that long
 * (insert) or its DELETEs are sized to take about that long (prune): the writer thread holds the lock for a bounded
 * time whatever a row costs. Without it (this thread's synchronous writes) only chunkRows counts. Rows go into the
 * newest partition; a new one begins once it holds `partitionRows`, or when a row ended `partitionMs` or more after
 * its first (0: no time limit).
 */
export type WriterJob =
  | { op: 'insert'; batch: RowBatch; chunkRows: number; chunkMs?: number; partitionRows: number; partitionMs: number }
  /**
   * Partitions whose every row ended before `olderThan`, then the oldest partitions while more than `maxRows` rows
   * are kept (0: no limit), are retired and emptied (indexes dropped one by one, then the rows in chunks, then the
   * table): a DROP TABLE of a partition at once held the lock for half a second. A partition bigger than
   * `partitionRows` (the single table of an earlier version) loses its rows one by one instead, only those it must.
   * With `checkpoint` the WAL is copied back to the database file after (writer.ts: the server's connection does not).
   */
  | { op: 'prune'; olderThan?: number; maxRows: number; partitionRows: number; chunkRows: number; chunkMs?: number; checkpoint?: boolean };

/** Rows written (insert) or deleted (prune) - the ones before a failure are committed - and the failure. */
export interface JobResult {
  rows: number;
  error?: { code?: string; message: string };
  /** The longest time one of its transactions held the write lock, ms. */
  longestHoldMs?: number;
}

interface JobStatement {
  run(...params: unknown[]): { changes: number };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}
export interface JobDatabase {
  prepare(sql: string): JobStatement;
  exec(sql: string): unknown;
  readonly inTransaction: boolean;
}

/**
 * Runs one job, `chunkRows` rows per transaction with `pause(pauseMs)` between two: another writer of the database
 * (the server's own connection, whose statements wait only briefly for the lock) gets its turn between chunks.
 */
export function runWriterJob(db: JobDatabase, sql: WriterSql, job: WriterJob, pause: (ms: number) => void, pauseMs: number): JobResult {
  let rows = 0;
  let longestHoldMs = 0;
  const held = (since: number) => {
    const ms = performance.now() - since;
    if (ms > longestHoldMs) longestHoldMs = ms;
    return ms;
  };
  // A DELETE's row count follows what the last one cost, so one statement takes about chunkMs (a delete at 5
  // million rows touches every index: hundreds of microseconds a row on a busy machine).
  const chunkMs = job.chunkMs ?? Number.POSITIVE_INFINITY;
  let most = job.chunkRows;
  let limit = job.chunkMs === undefined ? job.chunkRows : Math.min(job.chunkRows, 50);
  const sized = (ms: number, changes: number) => {
    if (changes < limit || job.chunkMs === undefined) return;
    limit = Math.max(1, Math.min(most, Math.round((limit * chunkMs) / Math.max(ms, 0.01))));
  };
  // Rows a transaction at most when emptying a partition whose indexes are gone.
  const EMPTY_ROWS = 50_000;
  const tableOf = (n: number) => (n === 0 ? 'history' : 'history_' + n);
  const inTable = (text: string, table: string) => text.split('$T').join(table);
  try {
    if (job.op === 'insert') {
      const batch = job.batch;
      const kinds = sql.columns;
      let numbersPerRow = 0;
      let textsPerRow = 0;
      let blobsPerRow = 0;
      for (const kind of kinds) {
        if (kind === 'n') numbersPerRow++;
        else if (kind === 't') textsPerRow++;
        else blobsPerRow++;
      }
      const inserts = new Map<string, JobStatement>();
      const maxKeys = new Map<string, JobStatement>();
      const params: unknown[] = new Array(kinds.length + 1);
      const newest = db.prepare(sql.newest);
      const counted = db.prepare(sql.countRows);
      for (let from = 0; from < batch.count; ) {
        if (from) pause(pauseMs);
        let last = Math.min(batch.count, from + job.chunkRows);
        let to = from;
        const began = performance.now();
        db.exec('BEGIN IMMEDIATE');
        try {
          let part = newest.get() as { n: number; rows: number; first_key: number; min_ended: number | null };
          const firstEnded = batch.numbers[from * numbersPerRow + sql.endedAtNumber];
          const nextKey = (table: string) => {
            let max = maxKeys.get(table);
            if (!max) maxKeys.set(table, (max = db.prepare(inTable(sql.maxKey, table))));
            const { key } = max.get() as { key: number | null };
            return key === null ? part.first_key : Math.max(part.first_key, key + 1);
          };
          if (part.rows >= job.partitionRows || (job.partitionMs > 0 && part.min_ended !== null && firstEnded - part.min_ended >= job.partitionMs)) {
            // Sealed: the next partition, its keys after every key given so far.
            const n = part.n + 1;
            const first = nextKey(tableOf(part.n));
            db.exec(inTable(sql.createPartition, tableOf(n)));
            db.prepare(sql.addPartition).run(n, first);
            part = newest.get() as typeof part;
          }
          const table = tableOf(part.n);
          let insert = inserts.get(table);
          if (!insert) inserts.set(table, (insert = db.prepare(inTable(sql.insert, table))));
          last = Math.min(last, from + job.partitionRows - part.rows);
          const since = part.min_ended ?? firstEnded;
          let key = nextKey(table);
          let minEnded = Number.POSITIVE_INFINITY;
          let maxEnded = Number.NEGATIVE_INFINITY;
          for (let row = from; row < last && (row === from || performance.now() - began < chunkMs); row++, to = row) {
            let n = row * numbersPerRow;
            let t = row * textsPerRow;
            let b = row * blobsPerRow * 17;
            const ended = batch.numbers[n + sql.endedAtNumber];
            // A partition spans at most partitionMs of end times: a row past it begins the next.
            if (row > from && job.partitionMs > 0 && ended - since >= job.partitionMs) break;
            if (ended < minEnded) minEnded = ended;
            if (ended > maxEnded) maxEnded = ended;
            params[0] = key++;
            for (let c = 0; c < kinds.length; c++) {
              const kind = kinds[c];
              if (kind === 'n') {
                const value = batch.numbers[n++];
                params[c + 1] = Number.isNaN(value) ? null : value;
              } else if (kind === 't') {
                params[c + 1] = batch.texts[t++];
              } else {
                const length = batch.blobs[b];
                params[c + 1] = length === 255 ? null : Buffer.from(batch.blobs.buffer, batch.blobs.byteOffset + b + 1, length);
                b += 17;
              }
            }
            insert.run(...params);
          }
          if (to > from) counted.run({ rows: to - from, min: minEnded, max: maxEnded, n: part.n });
          db.exec('COMMIT');
        } finally {
          if (db.inTransaction) db.exec('ROLLBACK');
        }
        held(began);
        rows = from = to;
      }
      return { rows, longestHoldMs };
    }
    // One statement a transaction: a DELETE of `limit` rows (its last parameter) until one deletes fewer than asked.
    const deleteAll = (statement: JobStatement, bound: number | undefined, after: (changes: number) => void) => {
      for (;;) {
        pause(pauseMs);
        const began = performance.now();
        const asked = limit;
        db.exec('BEGIN IMMEDIATE');
        let changes = 0;
        try {
          changes = (bound === undefined ? statement.run(asked) : statement.run(bound, asked)).changes;
          after(changes);
          db.exec('COMMIT');
        } finally {
          if (db.inTransaction) db.exec('ROLLBACK');
        }
        sized(held(began), changes);
        if (changes < asked) return;
      }
    };
    const once = (run: () => void) => {
      pause(pauseMs);
      const began = performance.now();
      db.exec('BEGIN IMMEDIATE');
      try {
        run();
        db.exec('COMMIT');
      } finally {
        if (db.inTransaction) db.exec('ROLLBACK');
      }
      held(began);
    };
    type Partition = { n: number; rows: number; min_ended: number | null; max_ended: number | null; retired: number };
    const all = db.prepare(sql.partitions).all() as Partition[];
    const live = all.filter((p) => !p.retired);
    let kept = 0;
    for (const p of live) kept += p.rows;
    const retire = db.prepare(sql.retire);
    const countRows = db.prepare(sql.countRows);
    // The oldest first; the newest (rows go into it) stays.
    for (const p of live.slice(0, -1)) {
      const expired = job.olderThan !== undefined && (p.rows === 0 || (p.max_ended !== null && p.max_ended < job.olderThan));
      const over = job.maxRows > 0 && kept > job.maxRows;
      if (p.rows <= job.partitionRows && (expired || over || p.rows === 0)) {
        once(() => retire.run(p.n));
        p.retired = 1;
        kept -= p.rows;
        rows += p.rows;
        continue;
      }
      if (p.rows <= job.partitionRows) break;
      // Bigger than a partition (an earlier version's single table): its rows go one by one, only those that must.
      const table = tableOf(p.n);
      const less = (changes: number) => {
        countRows.run({ rows: -changes, min: null, max: null, n: p.n });
        kept -= changes;
        rows += changes;
      };
      if (job.olderThan !== undefined) deleteAll(db.prepare(inTable(sql.pruneOlder, table)), job.olderThan, less);
      const excess = job.maxRows > 0 ? kept - job.maxRows : 0;
      if (excess > 0) {
        const cut = db.prepare(inTable(sql.cutKey, table)).get(excess - 1) as { key: number } | undefined;
        if (cut) deleteAll(db.prepare(inTable(sql.pruneUpTo, table)), cut.key, less);
      }
      break;
    }
    if (job.olderThan !== undefined) db.prepare(sql.pruneGaps).run(job.olderThan);
    // Retired partitions (now and by an earlier run that did not finish) are emptied in short transactions.
    for (const p of all.filter((q) => q.retired)) {
      const table = tableOf(p.n);
      const indexes = db.prepare(sql.indexesOf).all(table) as { name: string }[];
      for (const index of indexes) once(() => db.exec(`DROP INDEX IF EXISTS "${index.name}"`));
      const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table);
      if (exists) {
        // Without its indexes a row costs a few microseconds: far more of them a transaction.
        most = job.chunkMs === undefined ? job.chunkRows : EMPTY_ROWS;
        limit = job.chunkMs === undefined ? job.chunkRows : Math.min(EMPTY_ROWS, 1000);
        deleteAll(db.prepare(inTable(sql.emptyOldest, table)), undefined, () => undefined);
        once(() => db.exec(`DROP TABLE IF EXISTS "${table}"`));
      }
      once(() => db.prepare(sql.forget).run(p.n));
    }
    if (job.checkpoint) db.exec('PRAGMA wal_checkpoint(PASSIVE)');
    return { rows, longestHoldMs };
  } catch (error) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    return { rows, longestHoldMs, error: { ...(typeof code === 'string' ? { code } : {}), message: typeof message === 'string' ? message : String(error) } };
  }
}
