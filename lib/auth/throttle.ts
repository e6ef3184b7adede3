// Login throttling. Every password check is reserved before the (slow) scrypt verification runs, in one
// synchronous SQLite transaction: the attempt counts as a failure from the moment it is reserved, so parallel
// attempts cannot all pass a check made before any of them failed. A success takes its own reservation back.
//
// Three counters per attempt (failures older than loginFailureMemoryMs are forgotten):
// - name+address: after loginFreeFailures, that name from that address is locked for a wait that doubles, up to
//   loginMaxBackoffMs. A success for the pair clears it.
// - address: after loginAddressFreeFailures failures for any names, the address is locked the same way. A
//   success for one name never clears it (an account holder cannot spray other names forever).
// - name: never locks (anyone could keep the owner out); after loginFreeFailures each attempt for the name waits
//   before it is checked, doubling up to loginNameMaxDelayMs. The owner gets in, guessing gets slow.
// While locked, every attempt - even with the right password - is refused without being checked or counted.
import type { Store } from '@/lib/store';
import type { AuthConfig } from './config';

interface FailureRow {
  key: string;
  failures: number;
  last_failure_at: number;
  locked_until: number;
}

export type ThrottleConfig = Pick<
  AuthConfig,
  'loginFreeFailures' | 'loginAddressFreeFailures' | 'loginBackoffMs' | 'loginMaxBackoffMs' | 'loginNameMaxDelayMs' | 'loginFailureMemoryMs'
>;

/** Who tries: the attempted name (whether or not such a user exists) and the client address. */
export interface Attempt {
  name: string;
  address: string;
}

export const pairKey = (attempt: Attempt): string => `pair:${attempt.name.toLowerCase()}@${attempt.address}`;
export const addressKey = (address: string): string => `address:${address}`;
export const nameKey = (name: string): string => `name:${name.toLowerCase()}`;

/** Refused: the lock that refused it (key and end, which identify its window) and how long until it ends. */
export interface Locked {
  kind: 'locked';
  key: string;
  until: number;
  waitMs: number;
}

/** Allowed: wait `delayMs`, check the password, then report `succeeded()` or `failed()` (exactly one). */
export interface Reservation {
  kind: 'reserved';
  delayMs: number;
  /** The longest lock this attempt set (ms, 0 for none): what a failure costs. */
  lockedMs: number;
  succeeded(): void;
  failed(): void;
}

export class LoginThrottle {
  constructor(
    private readonly db: Store,
    private readonly config: ThrottleConfig,
    private readonly now: () => number = Date.now,
  ) {}

  private row(key: string): FailureRow | undefined {
    return this.db.prepare('SELECT * FROM login_failures WHERE key = ?').get(key) as FailureRow | undefined;
  }

  private wait(over: number, cap: number): number {
    return over < 0 ? 0 : Math.min(this.config.loginBackoffMs * 2 ** Math.min(over, 30), cap);
  }

  /** Reserves one password check for `attempt`, or says which lock refuses it. Atomic (one transaction). */
  reserve(attempt: Attempt): Locked | Reservation {
    const at = this.now();
    const locks: [string, number][] = [
      [pairKey(attempt), this.config.loginFreeFailures],
      [addressKey(attempt.address), this.config.loginAddressFreeFailures],
    ];
    const name = nameKey(attempt.name);
    return this.db.transaction((): Locked | Reservation => {
      let refusing: Locked | undefined;
      for (const [key] of locks) {
        const row = this.row(key);
        if (row && row.locked_until > at && (!refusing || row.locked_until > refusing.until)) refusing = { kind: 'locked', key, until: row.locked_until, waitMs: row.locked_until - at };
      }
      if (refusing) return refusing;
      const before = new Map<string, FailureRow | undefined>(
        [...locks.map(([key]) => key), name].map((key) => [key, this.row(key)] as const),
      );
      const failuresOf = (key: string): number => {
        const row = before.get(key);
        return row && at - row.last_failure_at < this.config.loginFailureMemoryMs ? row.failures + 1 : 1;
      };
      const write = (key: string, failures: number, lockedUntil: number) =>
        this.db.prepare('INSERT OR REPLACE INTO login_failures (key, failures, last_failure_at, locked_until) VALUES (?, ?, ?, ?)').run(key, failures, at, lockedUntil);
      // The name's own failures before this one decide its delay: the first free ones pass at once.
      const nameFailures = failuresOf(name);
      const delayMs = this.wait(nameFailures - this.config.loginFreeFailures - 1, this.config.loginNameMaxDelayMs);
      write(name, nameFailures, 0);
      // A lock counts from when the check is made (after the delay), so Retry-After is what the client waits.
      let lockedMs = 0;
      for (const [key, lockAfter] of locks) {
        const failures = failuresOf(key);
        const lockMs = this.wait(failures - lockAfter, this.config.loginMaxBackoffMs);
        lockedMs = Math.max(lockedMs, lockMs);
        write(key, failures, lockMs > 0 ? at + delayMs + lockMs : 0);
      }
      this.db.prepare('DELETE FROM login_failures WHERE last_failure_at < ? AND locked_until < ?').run(at - this.config.loginFailureMemoryMs, at);
      let settled = false;
      // Settled once its action succeeded: one that failed (a locked database) may be tried again.
      const settle = (action: () => void) => {
        if (settled) return;
        action();
        settled = true;
      };
      return {
        kind: 'reserved',
        delayMs,
        lockedMs,
        failed: () => settle(() => {}),
        succeeded: () => settle(() => this.release(attempt, at, before)),
      };
    })();
  }

  /** A success: the pair and the name start afresh; the address loses only this attempt's count (and lock). */
  private release(attempt: Attempt, reservedAt: number, before: ReadonlyMap<string, FailureRow | undefined>): void {
    const address = addressKey(attempt.address);
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM login_failures WHERE key IN (?, ?)').run(pairKey(attempt), nameKey(attempt.name));
      const row = this.row(address);
      if (!row) return;
      const previous = before.get(address);
      const failures = row.failures - 1;
      if (failures <= 0) {
        this.db.prepare('DELETE FROM login_failures WHERE key = ?').run(address);
        return;
      }
      // Lift the lock only when this attempt set it (a later failure's lock stays).
      const lockedUntil = row.last_failure_at === reservedAt ? (previous?.locked_until ?? 0) : row.locked_until;
      this.db.prepare('UPDATE login_failures SET failures = ?, locked_until = ? WHERE key = ?').run(failures, lockedUntil, address);
    })();
  }
}
