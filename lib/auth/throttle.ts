// Login throttling: failures are counted per client address and per attempted name (whether or not such a user
// exists, so the answer reveals nothing). After `loginFreeFailures`, each failure locks that key for a wait that
// doubles, up to loginMaxBackoffMs; while locked, every attempt - even with the right password - is refused.
import type { Store } from '@/lib/store';
import type { AuthConfig } from './config';

interface FailureRow {
  failures: number;
  last_failure_at: number;
  locked_until: number;
}

export const addressKey = (address: string): string => `address:${address}`;
export const nameKey = (name: string): string => `name:${name.toLowerCase()}`;

export class LoginThrottle {
  constructor(
    private readonly db: Store,
    private readonly config: Pick<AuthConfig, 'loginFreeFailures' | 'loginBackoffMs' | 'loginMaxBackoffMs' | 'loginFailureMemoryMs'>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until any of the keys may try again (0: now). */
  waitFor(keys: readonly string[]): number {
    const at = this.now();
    let wait = 0;
    for (const key of keys) {
      const row = this.db.prepare('SELECT * FROM login_failures WHERE key = ?').get(key) as FailureRow | undefined;
      if (row) wait = Math.max(wait, row.locked_until - at);
    }
    return wait;
  }

  /** Counts a failure against each key; returns the longest lock it caused (ms, 0 for none). */
  fail(keys: readonly string[]): number {
    const at = this.now();
    let longest = 0;
    this.db.transaction(() => {
      for (const key of keys) {
        const row = this.db.prepare('SELECT * FROM login_failures WHERE key = ?').get(key) as FailureRow | undefined;
        const failures = row && at - row.last_failure_at < this.config.loginFailureMemoryMs ? row.failures + 1 : 1;
        const over = failures - this.config.loginFreeFailures;
        const lock = over > 0 ? Math.min(this.config.loginBackoffMs * 2 ** Math.min(over - 1, 30), this.config.loginMaxBackoffMs) : 0;
        longest = Math.max(longest, lock);
        this.db
          .prepare('INSERT OR REPLACE INTO login_failures (key, failures, last_failure_at, locked_until) VALUES (?, ?, ?, ?)')
          .run(key, failures, at, at + lock);
      }
      this.db.prepare('DELETE FROM login_failures WHERE last_failure_at < ? AND locked_until < ?').run(at - this.config.loginFailureMemoryMs, at);
    })();
    return longest;
  }

  /** A successful login forgets the failures of these keys. */
  succeed(keys: readonly string[]): void {
    for (const key of keys) this.db.prepare('DELETE FROM login_failures WHERE key = ?').run(key);
  }
}
