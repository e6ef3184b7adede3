// Can the auth tables do what a destructive action needs? probeAuthStorage is the health check's test (a read of
// each table and a committed write to the audit log that leaves no row); checkAuthStorage is the start-up check
// (PRAGMA quick_check of each table, then the same probe); checkStartupStorage runs it before the server listens.
import { join } from 'node:path';
import { assertRoomToWrite, CLI_BUSY_TIMEOUT_MS, DATABASE_FILE, describeStoreError, isBusy, migrate, openStore, quickCheck, sqliteCode, type Store } from '@/lib/store';
import { AUTH_MIGRATIONS } from './schema';

/** The tables every authenticated and every destructive request uses. */
export const AUTH_TABLES = ['users', 'sessions', 'api_tokens', 'login_failures', 'audit_log'] as const;

/**
 * Reads the newest row of each auth table and writes (then removes, in the same committed transaction) an
 * audit row: the pages an audit intent would write. Throws the store's error (SQLITE_BUSY, _FULL, _READONLY, ...).
 */
export function probeAuthStorage(db: Store, now: number = Date.now()): void {
  assertRoomToWrite(db);
  db.transaction(() => {
    for (const table of AUTH_TABLES) db.prepare(`SELECT rowid FROM ${table} ORDER BY rowid DESC LIMIT 1`).get();
    const probe = db
      .prepare("INSERT INTO audit_log (at, actor, actor_kind, source, action, outcome, finished_at) VALUES (?, 'health', 'system', 'health', 'health.probe', 'ok', ?)")
      .run(now, now);
    db.prepare('DELETE FROM audit_log WHERE id = ?').run(probe.lastInsertRowid);
  }).immediate();
}

/** The start-up check of the auth tables: the first problem found, in words, or undefined when they are sound. */
export function checkAuthStorage(db: Store): string | undefined {
  for (const table of AUTH_TABLES) {
    let problems: string[];
    try {
      problems = quickCheck(db, table);
    } catch (error) {
      // A page so damaged that the check itself cannot read it.
      if (!sqliteCode(error)) throw error;
      return `table ${table} is corrupt (${sqliteCode(error)})`;
    }
    if (problems.length) return `table ${table} is corrupt: ${problems[0]}`;
  }
  probeAuthStorage(db);
  return undefined;
}

/**
 * The start-up check of the data directory, on a connection of its own (closed after): opens the database, applies
 * the auth migrations, checks the auth tables (quick_check) and makes a test write. Returns one line naming the
 * file and the problem - `lasting` unless the database was only locked by another process for 5 s - or undefined
 * when the console may start.
 */
export function checkStartupStorage(dir: string): { line: string; lasting: boolean } | undefined {
  const file = join(dir, DATABASE_FILE);
  let db: Store | undefined;
  try {
    // A backup or the CLI may hold the lock for a moment: wait for it as the CLI does.
    db = openStore(dir, { busyTimeoutMs: CLI_BUSY_TIMEOUT_MS });
    migrate(db, 'auth', AUTH_MIGRATIONS);
    const problem = checkAuthStorage(db);
    return problem === undefined ? undefined : { line: `storage: ${file}: ${problem}: restore it from a backup`, lasting: true };
  } catch (error) {
    return { line: `storage: ${file}: ${describeStoreError(error)}`, lasting: !isBusy(error) };
  } finally {
    db?.close();
  }
}
