// Browser sessions: a random id in an HttpOnly cookie, only its hash on the server, with an idle and an absolute
// lifetime. Each session carries its CSRF token (sent to the browser in the readable ctc_csrf cookie).
import { unlessBusy, type Store } from '@/lib/store';
import type { AuthConfig } from './config';
import type { Role } from './roles';
import { randomSecret, sha256 } from './secrets';

export interface Session {
  /** Hash of the id: what the server knows the session by. */
  idHash: string;
  csrfToken: string;
  user: { id: number; name: string; role: Role };
  createdAt: number;
  /** When the session ends if unused, and at the latest. */
  idleExpiresAt: number;
  expiresAt: number;
}

interface SessionRow {
  id_hash: string;
  csrf_token: string;
  created_at: number;
  last_seen_at: number;
  user_id: number;
  name: string;
  role: Role;
}

/** Only write last_seen_at again after this long: a busy page polls, the database need not hear of each poll. */
const TOUCH_EVERY_MS = 10_000;

export class Sessions {
  constructor(
    private readonly db: Store,
    private readonly config: Pick<AuthConfig, 'sessionIdleMs' | 'sessionAbsoluteMs'>,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new session for the user; the returned id goes into the cookie and nowhere else. */
  create(userId: number, address: string): { id: string; csrfToken: string } {
    const id = randomSecret();
    const csrfToken = randomSecret();
    const at = this.now();
    this.db.prepare('DELETE FROM sessions WHERE last_seen_at < ? OR created_at < ?').run(at - this.config.sessionIdleMs, at - this.config.sessionAbsoluteMs);
    this.db
      .prepare('INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, address) VALUES (?, ?, ?, ?, ?, ?)')
      .run(sha256(id), userId, csrfToken, at, at, address);
    return { id, csrfToken };
  }

  /** The live session with this id, touched; undefined (and deleted, if it expired) otherwise. */
  resolve(id: string): Session | undefined {
    const idHash = sha256(id);
    const row = this.db
      .prepare(
        `SELECT s.id_hash, s.csrf_token, s.created_at, s.last_seen_at, u.id AS user_id, u.name, u.role
         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?`,
      )
      .get(idHash) as SessionRow | undefined;
    if (!row) return undefined;
    const at = this.now();
    const expiresAt = row.created_at + this.config.sessionAbsoluteMs;
    if (at >= expiresAt || at >= row.last_seen_at + this.config.sessionIdleMs) {
      // Expired either way; while another process holds the lock the row is removed by a later request.
      unlessBusy(() => this.db.prepare('DELETE FROM sessions WHERE id_hash = ?').run(idHash));
      return undefined;
    }
    // Skipped while another process holds the lock, so a locked database never stalls an authenticated request.
    const touch = at - row.last_seen_at >= Math.min(TOUCH_EVERY_MS, this.config.sessionIdleMs / 10) && unlessBusy(() => this.db.prepare('UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?').run(at, idHash));
    const lastSeen = touch ? at : row.last_seen_at;
    return {
      idHash,
      csrfToken: row.csrf_token,
      user: { id: row.user_id, name: row.name, role: row.role },
      createdAt: row.created_at,
      idleExpiresAt: Math.min(lastSeen + this.config.sessionIdleMs, expiresAt),
      expiresAt,
    };
  }

  /** The role of the session's user while the session is live (not ended, idle or past its lifetime); never touches it. */
  liveRole(idHash: string): Role | undefined {
    const row = this.db
      .prepare('SELECT s.created_at, s.last_seen_at, u.role FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?')
      .get(idHash) as Pick<SessionRow, 'created_at' | 'last_seen_at' | 'role'> | undefined;
    const at = this.now();
    if (!row || at >= row.created_at + this.config.sessionAbsoluteMs || at >= row.last_seen_at + this.config.sessionIdleMs) return undefined;
    return row.role;
  }

  end(idHash: string): void {
    this.db.prepare('DELETE FROM sessions WHERE id_hash = ?').run(idHash);
  }
}
