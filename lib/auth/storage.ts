// Can the auth tables do what a destructive action needs? probeAuthStorage is the health check's test (a read of
// each table and a committed write to the audit log that leaves no row); checkAuthStorage is the start-up check
// (PRAGMA quick_check of each table, then the same probe).
import { quickCheck, type Store } from '@/lib/store';

/** The tables every authenticated and every destructive request uses. */
export const AUTH_TABLES = ['users', 'sessions', 'api_tokens', 'login_failures', 'audit_log'] as const;

/**
 * Reads the newest row of each auth table and writes (then removes, in the same committed transaction) an
 * audit row: the pages an audit intent would write. Throws the store's error (SQLITE_BUSY, _FULL, _READONLY, ...).
 */
export function probeAuthStorage(db: Store, now: number = Date.now()): void {
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
    const problems = quickCheck(db, table);
    if (problems.length) return `table ${table} is corrupt: ${problems[0]}`;
  }
  probeAuthStorage(db);
  return undefined;
}
