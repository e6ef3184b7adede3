// Users: a name, a role and a scrypt password hash. Changing a password or removing a user ends its sessions.
import type { Store } from '@/lib/store';
import { AuthInputError, NotFoundError } from './errors';
import { dummyHash, hashPassword, verifyPassword } from './password';
import { nameSchema, passwordSchema, roleSchema, type Role } from './roles';

export interface User {
  id: number;
  name: string;
  role: Role;
  createdAt: Date;
  passwordChangedAt: Date;
}

interface UserRow {
  id: number;
  name: string;
  role: Role;
  password_hash: string;
  created_at: number;
  password_changed_at: number;
}

const toUser = (row: UserRow): User => ({
  id: row.id,
  name: row.name,
  role: row.role,
  createdAt: new Date(row.created_at),
  passwordChangedAt: new Date(row.password_changed_at),
});

function check<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { message: string }[] } } }, field: string, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new AuthInputError(field, result.error.issues[0]?.message ?? 'invalid');
  return result.data;
}

export const validName = (name: unknown): string => check(nameSchema, 'name', name);
export const validRole = (role: unknown): Role => check(roleSchema, 'role', role);
export const validPassword = (password: unknown): string => check(passwordSchema, 'password', password);

export class Users {
  constructor(
    private readonly db: Store,
    private readonly now: () => number = Date.now,
  ) {}

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM users').get() as { n: number }).n;
  }

  list(): User[] {
    return (this.db.prepare('SELECT * FROM users ORDER BY name').all() as UserRow[]).map(toUser);
  }

  find(name: string): User | undefined {
    const row = this.db.prepare('SELECT * FROM users WHERE name = ?').get(name) as UserRow | undefined;
    return row && toUser(row);
  }

  byId(id: number): User | undefined {
    const row = this.db.prepare('SELECT * FROM users WHERE id = ?').get(id) as UserRow | undefined;
    return row && toUser(row);
  }

  async add(options: { name: string; role: Role; password: string }): Promise<User> {
    const name = validName(options.name);
    const role = validRole(options.role);
    const hash = await hashPassword(validPassword(options.password));
    if (this.find(name)) throw new AuthInputError('name', `a user named "${name}" already exists`);
    const at = this.now();
    const info = this.db
      .prepare('INSERT INTO users (name, role, password_hash, created_at, password_changed_at) VALUES (?, ?, ?, ?, ?)')
      .run(name, role, hash, at, at);
    return toUser({ id: Number(info.lastInsertRowid), name, role, password_hash: hash, created_at: at, password_changed_at: at });
  }

  /**
   * Sets a new password and ends every session of the user but `keepSession` (the one that changed it, when the
   * user changes their own). Returns how many sessions ended.
   */
  async setPassword(name: string, password: string, options: { keepSession?: string } = {}): Promise<number> {
    const user = this.require(name);
    const hash = await hashPassword(validPassword(password));
    return this.db.transaction(() => {
      this.db.prepare('UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?').run(hash, this.now(), user.id);
      return this.db.prepare('DELETE FROM sessions WHERE user_id = ? AND id_hash IS NOT ?').run(user.id, options.keepSession ?? null).changes;
    })();
  }

  setRole(name: string, role: Role): void {
    const user = this.require(name);
    this.db.prepare('UPDATE users SET role = ? WHERE id = ?').run(validRole(role), user.id);
  }

  /** Removes the user (its sessions go with it). */
  remove(name: string): void {
    const user = this.require(name);
    this.db.prepare('DELETE FROM users WHERE id = ?').run(user.id);
  }

  /** The user when the password is right; undefined otherwise. Takes as long for an unknown name. */
  async verify(name: string, password: string): Promise<User | undefined> {
    const row = this.db.prepare('SELECT * FROM users WHERE name = ?').get(name) as UserRow | undefined;
    const ok = await verifyPassword(password, row?.password_hash ?? (await dummyHash()));
    return row && ok ? toUser(row) : undefined;
  }

  private require(name: string): User {
    const user = this.find(validName(name));
    if (!user) throw new NotFoundError(`no user named "${name}"`);
    return user;
  }
}
