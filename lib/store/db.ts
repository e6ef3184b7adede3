// The console's embedded SQLite store: one database file in the data directory, opened once per process, with
// numbered schema migrations per module (auth now, connection history later) applied in a transaction each and
// recorded in schema_migrations, so a module adds its own list without touching anyone else's.
import Database from 'better-sqlite3';
import { mkdirSync, statfsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { processValue } from '@/lib/process';
import { MIN_FREE_BYTES, StoreFullError } from './errors';

export type Store = Database.Database;

export interface Migration {
  /** 1, 2, 3, ... in order; never renumber or edit one that has shipped: add the next. */
  version: number;
  description: string;
  sql: string;
}

/** The data directory: CONNTRACK_DATA_DIR, else ./data under the working directory. */
export function dataDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return resolve(/*turbopackIgnore: true*/ env.CONNTRACK_DATA_DIR || 'data');
}

export const DATABASE_FILE = 'console.db';

/**
 * How long one statement waits for another process's write lock. The server's statements run on the event loop, so
 * it waits only briefly and retries asynchronously (retryWhileBusy); the CLI may block and waits longer.
 */
export const SERVER_BUSY_TIMEOUT_MS = 20;
export const CLI_BUSY_TIMEOUT_MS = 5000;

export interface StoreOptions {
  /** busy_timeout of the connection (default SERVER_BUSY_TIMEOUT_MS). */
  busyTimeoutMs?: number;
}

/** Opens (creating the directory and file on first use) the database in `dir`. */
export function openStore(dir: string, options: StoreOptions = {}): Store {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const db = new Database(join(dir, DATABASE_FILE));
  try {
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? SERVER_BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
  } catch (error) {
    // A corrupt or unwritable file: do not keep it open (a read-only mount could not be unmounted).
    db.close();
    throw error;
  }
  return prepare(db);
}

/** A database that lives only as long as the process (for a library used without a data directory). */
export function openMemoryStore(): Store {
  return prepare(new Database(':memory:'));
}

function prepare(db: Store): Store {
  db.pragma('foreign_keys = ON');
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    module TEXT NOT NULL,
    version INTEGER NOT NULL,
    description TEXT NOT NULL,
    applied_at TEXT NOT NULL,
    PRIMARY KEY (module, version)
  )`);
  return db;
}

/** Problems PRAGMA quick_check finds in `table` (empty when it is sound). */
export function quickCheck(db: Store, table: string): string[] {
  const rows = db.pragma(`quick_check(${table})`) as { quick_check: string }[];
  return rows.map((row) => row.quick_check).filter((line) => line !== 'ok');
}

/** Applies the migrations of `module` that are not recorded yet, each in its own transaction, in order. */
export function migrate(db: Store, module: string, migrations: readonly Migration[]): number {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  sorted.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`${module} migrations must be numbered 1, 2, 3, ...: found ${m.version} at position ${i + 1}`);
  });
  const applied = db.prepare('SELECT MAX(version) AS version FROM schema_migrations WHERE module = ?').get(module) as { version: number | null };
  const current = applied.version ?? 0;
  if (current > sorted.length) throw new Error(`the ${module} schema (version ${current}) is newer than this program knows (${sorted.length})`);
  const record = db.prepare('INSERT INTO schema_migrations (module, version, description, applied_at) VALUES (?, ?, ?, ?)');
  let count = 0;
  for (const m of sorted.slice(current)) {
    db.transaction(() => {
      db.exec(m.sql);
      record.run(module, m.version, m.description, new Date().toISOString());
    }).immediate();
    count++;
  }
  return count;
}

// Next bundles each route separately, so module state is not shared between routes: one connection per data
// directory per process, kept on globalThis.
/** Throws StoreFullError when the file system holding this database has less than MIN_FREE_BYTES free. */
export function assertRoomToWrite(db: Store): void {
  if (db.memory) return;
  const { bavail, bsize } = statfsSync(dirname(db.name));
  const free = bavail * bsize;
  if (free < MIN_FREE_BYTES) throw new StoreFullError(free);
}

/** The process-wide connection to the database in `dir` (default: dataDir()). */
export function sharedStore(dir: string = dataDir(), options: StoreOptions = {}): Store {
  const stores = processValue('store', () => new Map<string, Store>());
  let db = stores.get(dir);
  if (!db) {
    db = openStore(dir, options);
    stores.set(dir, db);
  }
  return db;
}
