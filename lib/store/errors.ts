import { processValue, shareErrorClass } from '@/lib/process';
// What a failed SQLite statement means for the console. better-sqlite3 throws SqliteError with the extended result
// code as text (SQLITE_BUSY, SQLITE_FULL, SQLITE_READONLY_DIRECTORY, ...): these helpers turn it into a sentence an
// operator can act on, and give the one asynchronous retry for a database another process has locked.

/** How long the server keeps retrying a locked database before it answers 503 database_busy. */
export const BUSY_BUDGET_MS = 250;
/** Seconds a client told "database_busy" should wait (Retry-After). */
export const BUSY_RETRY_AFTER_SECONDS = 1;

/** The SQLite result code of a failed statement (e.g. "SQLITE_BUSY"), or undefined for any other error. */
export function sqliteCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

/** Another connection (the CLI, a backup, sqlite3) holds the write lock. */
export function isBusy(error: unknown): boolean {
  const code = sqliteCode(error) ?? '';
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
}

/** The database stayed locked by another process for the whole retry budget. */
export class StoreBusyError extends Error {
  override readonly name = 'StoreBusyError';
  readonly retryAfterSeconds = BUSY_RETRY_AFTER_SECONDS;
  constructor(options?: { cause: unknown }) {
    super(`the database is locked by another process (the CLI, a backup or sqlite3) for more than ${BUSY_BUDGET_MS} ms: try again in a moment`, options);
  }
}

/**
 * Below this much free space on the data directory's file system the writes that must not be lost (an audit intent,
 * the health probe) are refused. SQLite alone does not say so reliably: once a checkpoint has reset the WAL (the
 * history writer checkpoints after its pruning), new transactions overwrite the WAL's old frames and succeed on a
 * full disk, until the next one that needs a fresh page fails.
 */
export const MIN_FREE_BYTES = 1024 * 1024;

/** The data directory's file system has less than MIN_FREE_BYTES free. */
export class StoreFullError extends Error {
  override readonly name = 'StoreFullError';
  constructor(readonly freeBytes: number) {
    super(`the disk holding the data directory is full (${freeBytes} bytes free, at least ${MIN_FREE_BYTES} needed)`);
  }
}

/** What is wrong with the store, in words (never the SQL): for error bodies, health and the start-up check. */
export function describeStoreError(error: unknown): string {
  const code = sqliteCode(error);
  if (error instanceof StoreBusyError || error instanceof StoreFullError) return error.message;
  if (!code) return error instanceof Error ? error.message : String(error);
  if (isBusy(error)) return 'the database is locked by another process (the CLI, a backup or sqlite3)';
  if (code === 'SQLITE_FULL') return 'the disk holding the data directory is full (SQLITE_FULL)';
  if (code.startsWith('SQLITE_READONLY')) return `the database cannot be written: the file or the data directory is read-only (${code})`;
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') return `the database file is corrupt (${code}): restore it from a backup`;
  if (code.startsWith('SQLITE_CANTOPEN')) return `the database file cannot be opened (${code}): check that the data directory exists, is writable (not a read-only mount) and belongs to the service user`;
  if (code.startsWith('SQLITE_IOERR')) return `the disk reported an I/O error (${code})`;
  if (code.startsWith('SQLITE_PERM') || code.startsWith('SQLITE_AUTH')) return `access to the database was refused (${code})`;
  return `${error instanceof Error ? error.message : String(error)} (${code})`;
}

/**
 * Runs a write that may be skipped while another process holds the lock (a "last seen" timestamp): true when it
 * ran. Other errors are thrown.
 */
export function unlessBusy(work: () => void): boolean {
  try {
    work();
    return true;
  } catch (error) {
    if (isBusy(error)) return false;
    throw error;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * How many of this process's writes are waiting for the lock now (retryWhileBusy after a busy attempt), shared with
 * threads that write the same database (the history writer): they let those writes have the lock first, so a write
 * this thread retries cannot keep meeting another thread's transactions.
 */
export function busyWaiters(): Int32Array {
  return processValue('store-busy-waiters', () => new Int32Array(new SharedArrayBuffer(4)));
}

/**
 * Runs `work` (synchronous statements) and, while another connection holds the lock, tries again without blocking
 * the event loop: each attempt waits at most the connection's busy_timeout, and the attempts stop after `budgetMs`
 * with StoreBusyError. Only for work that is safe to repeat (a single statement, or one transaction). While it
 * waits it counts in busyWaiters().
 */
export async function retryWhileBusy<T>(work: () => T, budgetMs: number = BUSY_BUDGET_MS): Promise<T> {
  const deadline = performance.now() + budgetMs;
  const waiters = busyWaiters();
  let waiting = false;
  try {
    for (let pause = 10; ; pause = Math.min(pause * 2, 80)) {
      try {
        return work();
      } catch (error) {
        if (!isBusy(error)) throw error;
        const left = deadline - performance.now();
        if (left <= 0) throw new StoreBusyError({ cause: error });
        if (!waiting) Atomics.add(waiters, 0, 1);
        waiting = true;
        await sleep(Math.min(pause, left));
      }
    }
  } finally {
    if (waiting) Atomics.sub(waiters, 0, 1);
  }
}

// Recognised whichever bundle threw them (see shareErrorClass).
shareErrorClass(StoreBusyError, 'StoreBusyError');
shareErrorClass(StoreFullError, 'StoreFullError');
