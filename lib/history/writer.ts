// The recorder's writes to the history table, off the event loop: a worker thread with its own connection to the
// database file inserts the batches and applies the retention (with 13 indexes at 5 million rows an insert costs
// tens of microseconds and a commit's page writes and checkpoints more; on the event loop they kept the event socket
// unread until the kernel dropped events). The main thread only encodes each batch into two buffers (handed over,
// not copied) and an array of texts. Transactions bounded in time (CHUNK_MS) with a pause between them leave the
// write lock to the server's own connection, whose statements wait only SERVER_BUSY_TIMEOUT_MS for it; the worker
// also does the checkpoints (the server's connection does none while it runs). The worker's source
// is text (its job function's source, writer-job.ts): nothing is bundled or resolved at run time but better-sqlite3.
// Without a file (an in-memory store), or when the worker cannot run, the jobs run on this thread.
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { BUSY_BUDGET_MS, busyWaiters } from '@/lib/store';
import { pruneJob, encodeRows, WRITER_SQL, type HistoryRecord, type HistoryStore } from './store';
import { runWriterJob, type JobResult, type WriterJob } from './writer-job';

/** Rows per transaction at most. */
export const CHUNK_ROWS = 200;
/**
 * A transaction commits after this much work (a DELETE is sized to take about as long): at 5 million rows with 13
 * indexes a row costs 100-500 us on a busy machine, so 200 rows held the lock for 15-80 ms (measured), the whole
 * of the server's wait for it (SERVER_BUSY_TIMEOUT_MS, 20) and more.
 */
export const CHUNK_MS = 8;
/**
 * Between two transactions of one job, so the server's own connection gets the lock: SQLite's busy handler tries
 * again after 1, 2, 5, 10 and 2 ms, and most of its 20 ms waits meet a pause between holds of at most ~10 ms. Not
 * all: the server's writes that must not fail (login, stats, the loss count) try again (retryWhileBusy), and while
 * one waits the worker starts no transaction (busyWaiters), so its next try gets the lock. Longer pauses would
 * make most waits succeed at once but cost the writer a third of its time (a profile of bench:history's churn: 50
 * of 140 s in 5 ms pauses), where it is the bottleneck at 5 million rows.
 */
const PAUSE_MS = 2;
/**
 * The worker's page cache (negative: KiB): the upper levels of 13 indexes at 5 million rows and their hot leaves
 * stay in memory across transactions instead of being read again from the file each time (SQLite's default: 2 MiB).
 */
const WORKER_CACHE_KIB = 64 * 1024;
/**
 * Pages in the WAL before the worker checkpoints (SQLite's default: 1000). Pages written again and again (the
 * newest leaves of the ended_at index, the table's end) are copied back once per checkpoint, not after every few
 * transactions: a third less work a row in a measurement at 5 million rows.
 */
const WORKER_CHECKPOINT_PAGES = 10_000;
/** The worker waits this long for a lock another process holds, then the batch fails (and is retried). */
const WORKER_BUSY_TIMEOUT_MS = 1000;
/** SQLite's default wal_autocheckpoint, the server's connection's again once no worker checkpoints for it. */
const SQLITE_CHECKPOINT_PAGES = 1000;

const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
// A bundler's helper the job function's text may name.
var __name = (target) => target;
const runWriterJob = (${runWriterJob.toString()});
const { file, sql, busyTimeoutMs, pauseMs, cacheKib, checkpointPages, waiters, yieldMs, done, results } = workerData;
let db;
let openError;
try {
  const Database = require('better-sqlite3');
  db = new Database(file);
  db.pragma('busy_timeout = ' + busyTimeoutMs);
  // WAL: a commit that is not synced is lost only with the machine, never corrupts; the rows were in memory anyway.
  db.pragma('synchronous = NORMAL');
  db.pragma('cache_size = -' + cacheKib);
  db.pragma('wal_autocheckpoint = ' + checkpointPages);
} catch (error) {
  openError = { code: typeof error.code === 'string' ? error.code : undefined, message: String(error.message ?? error) };
}
const sleeper = new Int32Array(new SharedArrayBuffer(4));
// Between two transactions; and while a write of the server's is waiting for the lock (busyWaiters, counted by
// retryWhileBusy), no next transaction starts: that write gets the lock when the current one ends.
const yieldToWaiters = () => {
  for (let waited = 0; Atomics.load(waiters, 0) > 0 && waited < yieldMs; waited += 2) Atomics.wait(sleeper, 0, 0, 2);
};
const pause = (ms) => {
  Atomics.wait(sleeper, 0, 0, ms);
  yieldToWaiters();
};
parentPort.on('message', ({ seq, job }) => {
  yieldToWaiters();
  const result = openError ? { rows: 0, error: openError } : runWriterJob(db, sql, job, pause, pauseMs);
  results.postMessage({ seq, result });
  Atomics.store(done, 0, seq);
  Atomics.notify(done, 0);
});
`;

type Settle = (result: JobResult) => void;

export class HistoryWriter {
  private worker: Worker | undefined;
  /** Where the worker answers: read by events, or synchronously by drain(). */
  private readonly results: MessagePort | undefined;
  /** The sequence number of the last job the worker finished (shared, so drain() can wait without the event loop). */
  private readonly done = new Int32Array(new SharedArrayBuffer(4));
  private seq = 0;
  private readonly waiting = new Map<number, Settle>();

  constructor(
    private readonly store: HistoryStore,
    private readonly log: (message: string) => void,
  ) {
    if (store.db.memory) return;
    const { port1, port2 } = new MessageChannel();
    const workerData = {
      file: store.db.name,
      sql: WRITER_SQL,
      busyTimeoutMs: WORKER_BUSY_TIMEOUT_MS,
      pauseMs: PAUSE_MS,
      cacheKib: WORKER_CACHE_KIB,
      checkpointPages: WORKER_CHECKPOINT_PAGES,
      waiters: busyWaiters(),
      yieldMs: BUSY_BUDGET_MS,
      done: this.done,
      results: port2,
    };
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData, transferList: [port2] });
    worker.unref();
    port1.on('message', (message: { seq: number; result: JobResult }) => this.deliver(message));
    port1.unref();
    this.results = port1;
    // The worker checkpoints (after its commits, and every prune): one on the event loop, after any of the server's
    // small commits once the worker's rows filled the WAL, copied thousands of pages there (a stall of 100s of ms).
    store.db.pragma('wal_autocheckpoint = 0');
    const failed = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      store.db.pragma(`wal_autocheckpoint = ${SQLITE_CHECKPOINT_PAGES}`);
      this.log(`the history writer thread stopped (${why}): rows are written on the main thread`);
      // Jobs it had not finished: their rows were not written (the recorder retries them).
      const waiting = [...this.waiting.values()];
      this.waiting.clear();
      Atomics.store(this.done, 0, this.seq);
      for (const settle of waiting) settle({ rows: 0, error: { message: `the history writer thread stopped (${why})` } });
    };
    worker.on('error', (error) => failed(error.message));
    worker.on('exit', (code) => failed(`exit ${code}`));
    this.worker = worker;
  }

  /** Whether the writes run in a worker thread. */
  get threaded(): boolean {
    return this.worker !== undefined;
  }

  private deliver({ seq, result }: { seq: number; result: JobResult }): void {
    const settle = this.waiting.get(seq);
    this.waiting.delete(seq);
    settle?.(result);
  }

  /** Runs a job in the worker (or here, at once, without one); `settle` is told the result. */
  private run(job: WriterJob, settle: Settle, transfer: ArrayBuffer[] = []): void {
    const worker = this.worker;
    if (!worker) return settle(runWriterJob(this.store.db, WRITER_SQL, job, () => undefined, 0));
    const seq = ++this.seq;
    this.waiting.set(seq, settle);
    worker.postMessage({ seq, job }, transfer);
  }

  /** Inserts the records, committed CHUNK_ROWS at a time: `rows` of the result were written even on a failure. */
  insert(records: readonly HistoryRecord[], settle: Settle): void {
    const batch = encodeRows(records);
    const transfer = [batch.numbers.buffer as ArrayBuffer, batch.blobs.buffer as ArrayBuffer];
    this.run(
      { op: 'insert', batch, chunkRows: CHUNK_ROWS, chunkMs: CHUNK_MS, partitionRows: this.store.partitioning.rows, partitionMs: this.store.partitioning.ms },
      settle,
      transfer,
    );
  }

  /** Applies the retention (HistoryStore.prune's meaning) in chunks; resolves with the rows deleted. */
  prune(options: { olderThan?: number; maxRows: number }): Promise<JobResult> {
    return new Promise((resolve) =>
      // The checkpoint: the server's small commits fill the WAL too, and only this thread copies it back, at least
      // once a prune (every minute) even when no rows come.
      this.run({ ...pruneJob(options, this.store.partitioning.rows, CHUNK_ROWS), chunkMs: CHUNK_MS, checkpoint: this.worker !== undefined }, resolve),
    );
  }

  /**
   * Blocks until the worker finished every job given (at most `timeoutMs`) and tells their results, for a shutdown
   * that cannot await. False when it did not finish in time.
   */
  drain(timeoutMs: number): boolean {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const finished = Atomics.load(this.done, 0);
      if (finished >= this.seq) break;
      const left = deadline - performance.now();
      if (left <= 0) break;
      Atomics.wait(this.done, 0, finished, left);
    }
    for (let message; this.results && (message = receiveMessageOnPort(this.results)); ) this.deliver(message.message as { seq: number; result: JobResult });
    return !this.waiting.size;
  }

  close(): void {
    const worker = this.worker;
    this.worker = undefined;
    if (worker && this.store.db.open) this.store.db.pragma(`wal_autocheckpoint = ${SQLITE_CHECKPOINT_PAGES}`);
    this.results?.close();
    void worker?.terminate();
  }
}
