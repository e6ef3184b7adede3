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
  /** The INSERT of one row, its parameters in the order of `columns`. */
  insert: string;
  columns: readonly ColumnKind[];
  /** DELETE of at most ? rows that ended before ?; of the gaps that ended before ?. */
  pruneOlder: string;
  pruneGaps: string;
  /** The key of the (?+1)th oldest row; DELETE of at most ? rows with a key up to ?. */
  cutKey: string;
  pruneUpTo: string;
}

/**
 * `chunkRows` rows at most per transaction, and with `chunkMs` a transaction commits once it has worked that long
 * (insert) or its DELETEs are sized to take about that long (prune): the writer thread holds the lock for a bounded
 * time whatever a row costs. Without it (this thread's synchronous writes) only chunkRows counts.
 */
export type WriterJob =
  | { op: 'insert'; batch: RowBatch; chunkRows: number; chunkMs?: number }
  /**
   * Rows that ended before `olderThan`, then the oldest rows while more than `excess` were counted before; with
   * `checkpoint` the WAL is copied back to the database file after (writer.ts: the server's connection does not).
   */
  | { op: 'prune'; olderThan?: number; excess: number; chunkRows: number; chunkMs?: number; checkpoint?: boolean };

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
  let limit = job.chunkMs === undefined ? job.chunkRows : Math.min(job.chunkRows, 50);
  const sized = (ms: number, changes: number) => {
    if (changes < limit || job.chunkMs === undefined) return;
    limit = Math.max(1, Math.min(job.chunkRows, Math.round((limit * chunkMs) / Math.max(ms, 0.01))));
  };
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
      const insert = db.prepare(sql.insert);
      const params: unknown[] = new Array(kinds.length);
      for (let from = 0; from < batch.count; ) {
        if (from) pause(pauseMs);
        const last = Math.min(batch.count, from + job.chunkRows);
        let to = from;
        const began = performance.now();
        db.exec('BEGIN IMMEDIATE');
        try {
          for (let row = from; row < last && (row === from || performance.now() - began < chunkMs); row++, to = row) {
            let n = row * numbersPerRow;
            let t = row * textsPerRow;
            let b = row * blobsPerRow * 17;
            for (let c = 0; c < kinds.length; c++) {
              const kind = kinds[c];
              if (kind === 'n') {
                const value = batch.numbers[n++];
                params[c] = Number.isNaN(value) ? null : value;
              } else if (kind === 't') {
                params[c] = batch.texts[t++];
              } else {
                const length = batch.blobs[b];
                params[c] = length === 255 ? null : Buffer.from(batch.blobs.buffer, batch.blobs.byteOffset + b + 1, length);
                b += 17;
              }
            }
            insert.run(...params);
          }
          db.exec('COMMIT');
        } finally {
          if (db.inTransaction) db.exec('ROLLBACK');
        }
        held(began);
        rows = from = to;
      }
      return { rows, longestHoldMs };
    }
    // DELETEs of `limit` rows (the statement's second parameter) until one deletes fewer than it was asked to.
    const deleteAll = (statement: JobStatement, bound: number, pauseFirst: boolean) => {
      for (let first = true; ; first = false) {
        if (!first || pauseFirst) pause(pauseMs);
        const began = performance.now();
        const asked = limit;
        const changes = statement.run(bound, asked).changes;
        rows += changes;
        sized(held(began), changes);
        if (changes < asked) return;
      }
    };
    if (job.olderThan !== undefined) {
      deleteAll(db.prepare(sql.pruneOlder), job.olderThan, false);
      db.prepare(sql.pruneGaps).run(job.olderThan);
    }
    // The row limit counts what the age limit left.
    const excess = job.excess - rows;
    if (excess > 0) {
      const cut = db.prepare(sql.cutKey).get(excess - 1) as { key: number } | undefined;
      if (cut) {
        deleteAll(db.prepare(sql.pruneUpTo), cut.key, true);
      }
    }
    if (job.checkpoint) db.exec('PRAGMA wal_checkpoint(PASSIVE)');
    return { rows, longestHoldMs };
  } catch (error) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    return { rows, longestHoldMs, error: { ...(typeof code === 'string' ? { code } : {}), message: typeof message === 'string' ? message : String(error) } };
  }
}
