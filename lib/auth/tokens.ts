// API tokens for scripts: "ctc_" + 256 random bits, shown once at creation, stored as a SHA-256 hash, with a
// role, a name, the last time it was used, and revocation (kept, not deleted, so the audit log can name it).
import { unlessBusy, type Store } from '@/lib/store';
import { AuthInputError, NotFoundError } from './errors';
import type { Role } from './roles';
import { randomSecret, sha256 } from './secrets';
import { validName, validRole } from './users';

export const TOKEN_PREFIX = 'ctc_';

export interface ApiToken {
  id: number;
  name: string;
  role: Role;
  createdAt: Date;
  createdBy: string;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

interface TokenRow {
  id: number;
  name: string;
  role: Role;
  created_at: number;
  created_by: string;
  last_used_at: number | null;
  revoked_at: number | null;
}

const toToken = (row: TokenRow): ApiToken => ({
  id: row.id,
  name: row.name,
  role: row.role,
  createdAt: new Date(row.created_at),
  createdBy: row.created_by,
  lastUsedAt: row.last_used_at === null ? null : new Date(row.last_used_at),
  revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at),
});

/** Only write last_used_at again after this long. */
const TOUCH_EVERY_MS = 60_000;

export class ApiTokens {
  constructor(
    private readonly db: Store,
    private readonly now: () => number = Date.now,
  ) {}

  /** Creates a token; `secret` is the only time anyone sees it. */
  create(options: { name: string; role: Role; createdBy: string }): { token: ApiToken; secret: string } {
    const name = validName(options.name);
    const role = validRole(options.role);
    if (this.db.prepare('SELECT 1 FROM api_tokens WHERE name = ?').get(name)) throw new AuthInputError('name', `a token named "${name}" already exists`);
    const secret = TOKEN_PREFIX + randomSecret();
    const at = this.now();
    const info = this.db
      .prepare('INSERT INTO api_tokens (name, role, token_hash, created_at, created_by) VALUES (?, ?, ?, ?, ?)')
      .run(name, role, sha256(secret), at, options.createdBy);
    const row: TokenRow = { id: Number(info.lastInsertRowid), name, role, created_at: at, created_by: options.createdBy, last_used_at: null, revoked_at: null };
    return { token: toToken(row), secret };
  }

  list(): ApiToken[] {
    return (this.db.prepare('SELECT * FROM api_tokens ORDER BY name').all() as TokenRow[]).map(toToken);
  }

  /** Revokes the token named `name`; false when it already was. */
  revoke(name: string): boolean {
    const row = this.db.prepare('SELECT * FROM api_tokens WHERE name = ?').get(validName(name)) as TokenRow | undefined;
    if (!row) throw new NotFoundError(`no token named "${name}"`);
    if (row.revoked_at !== null) return false;
    this.db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ?').run(this.now(), row.id);
    return true;
  }

  /** The token's role while it is not revoked; never marks it used. */
  liveRole(id: number): Role | undefined {
    const row = this.db.prepare('SELECT role, revoked_at FROM api_tokens WHERE id = ?').get(id) as Pick<TokenRow, 'role' | 'revoked_at'> | undefined;
    return row && row.revoked_at === null ? row.role : undefined;
  }

  /** The live token this secret belongs to, marked as used; undefined for unknown or revoked ones. */
  resolve(secret: string): ApiToken | undefined {
    if (!secret.startsWith(TOKEN_PREFIX) || secret.length > 200) return undefined;
    const row = this.db.prepare('SELECT * FROM api_tokens WHERE token_hash = ?').get(sha256(secret)) as TokenRow | undefined;
    if (!row || row.revoked_at !== null) return undefined;
    const at = this.now();
    // Skipped while another process holds the lock: a locked database must not stall authenticated requests.
    if ((row.last_used_at === null || at - row.last_used_at >= TOUCH_EVERY_MS) && unlessBusy(() => this.db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?').run(at, row.id))) {
      row.last_used_at = at;
    }
    return toToken(row);
  }
}
