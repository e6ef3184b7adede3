// lib/store and lib/auth on a real SQLite file in a temporary directory, with a clock the tests move.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { authConfig, createAuthService, login, pruneAudit, type AuthService } from '@/lib/auth';
import { hashPassword, verifyPassword } from '@/lib/auth/password';
import { migrate, openStore, type Store } from '@/lib/store';

let dir: string;
let db: Store;
let clock: number;
let service: AuthService;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ctc-auth-unit-'));
  db = openStore(dir);
  clock = Date.parse('2026-01-01T00:00:00Z');
  const config = { ...authConfig({}), sessionIdleMs: 60_000, sessionAbsoluteMs: 600_000, loginFreeFailures: 2, loginBackoffMs: 1000 };
  service = createAuthService({ db, dir, config, now: () => clock });
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('store migrations', () => {
  it('are applied once, in order, each recorded', () => {
    const rows = db.prepare("SELECT version, description FROM schema_migrations WHERE module = 'auth'").all();
    expect(rows).toEqual([
      { version: 1, description: expect.stringContaining('users') },
      { version: 2, description: expect.stringContaining('audit intents') },
      { version: 3, description: expect.stringContaining('actor kind policy') },
    ]);
    expect(migrate(db, 'auth', [1, 2, 3].map((version) => ({ version, description: 'x', sql: 'SELECT 1' })))).toBe(0);
    const history = [
      { version: 1, description: 'one', sql: 'CREATE TABLE history_a (x INTEGER)' },
      { version: 2, description: 'two', sql: 'ALTER TABLE history_a ADD COLUMN y TEXT' },
    ];
    expect(migrate(db, 'history', history)).toBe(2);
    expect(migrate(db, 'history', history)).toBe(0);
  });

  it('a failing migration leaves nothing behind and is not recorded', () => {
    const bad = [{ version: 1, description: 'half', sql: 'CREATE TABLE half (x INTEGER); SELECT nonsense FROM nowhere' }];
    expect(() => migrate(db, 'broken', bad)).toThrow();
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").get()).toBeUndefined();
    expect(db.prepare("SELECT * FROM schema_migrations WHERE module = 'broken'").all()).toEqual([]);
  });

  it('refuses gaps in the numbering and a schema newer than the program', () => {
    expect(() => migrate(db, 'gappy', [{ version: 2, description: 'x', sql: 'SELECT 1' }])).toThrow(/numbered/);
    migrate(db, 'newer', [
      { version: 1, description: 'a', sql: 'SELECT 1' },
      { version: 2, description: 'b', sql: 'SELECT 1' },
    ]);
    expect(() => migrate(db, 'newer', [{ version: 1, description: 'a', sql: 'SELECT 1' }])).toThrow(/newer/);
  });
});

describe('passwords', () => {
  it('are scrypt hashes with a salt, and verify only with the right password', async () => {
    const a = await hashPassword('correct horse battery');
    const b = await hashPassword('correct horse battery');
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('correct');
    expect(await verifyPassword('correct horse battery', a)).toBe(true);
    expect(await verifyPassword('correct horse batterY', a)).toBe(false);
    expect(await verifyPassword('anything', 'plain-text')).toBe(false);
  });
});

describe('users', () => {
  it('refuse bad names, roles and passwords with the field named', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ name: '', role: 'admin', password: 'long-enough-pw' }, /name must not be empty/],
      [{ name: 'x'.repeat(65), role: 'admin', password: 'long-enough-pw' }, /at most 64/],
      [{ name: 'has space', role: 'admin', password: 'long-enough-pw' }, /name may use/],
      [{ name: 'ok', role: 'root', password: 'long-enough-pw' }, /role must be one of viewer, admin/],
      [{ name: 'ok', role: 'admin', password: 'short' }, /at least 10/],
      [{ name: 'ok', role: 'admin', password: 'p'.repeat(1025) }, /at most 1024/],
    ];
    for (const [input, message] of cases) {
      await expect(service.users.add(input as { name: string; role: 'admin'; password: string })).rejects.toThrow(message);
    }
    expect(service.users.count()).toBe(0);
  });

  it('names are unique regardless of case', async () => {
    await service.users.add({ name: 'Alice', role: 'admin', password: 'long-enough-pw' });
    await expect(service.users.add({ name: 'alice', role: 'viewer', password: 'long-enough-pw' })).rejects.toThrow(/already exists/);
  });
});

describe('sessions', () => {
  it('end after the idle time, are kept alive by use, and end at the absolute lifetime regardless', async () => {
    const user = await service.users.add({ name: 'alice', role: 'admin', password: 'long-enough-pw' });
    const idle = service.sessions.create(user.id, '127.0.0.1');
    clock += 60_000;
    expect(service.sessions.resolve(idle.id)).toBeUndefined();
    // Gone for good, not only hidden.
    clock -= 60_000;
    expect(service.sessions.resolve(idle.id)).toBeUndefined();

    const busy = service.sessions.create(user.id, '127.0.0.1');
    for (let t = 0; t < 550_000; t += 50_000) {
      clock += 50_000;
      expect(service.sessions.resolve(busy.id)?.user.name).toBe('alice');
    }
    clock += 50_000;
    expect(service.sessions.resolve(busy.id)).toBeUndefined();
  });

  it('store only a hash of the id', async () => {
    const user = await service.users.add({ name: 'alice', role: 'admin', password: 'long-enough-pw' });
    const { id } = service.sessions.create(user.id, '127.0.0.1');
    const stored = JSON.stringify(db.prepare('SELECT * FROM sessions').all());
    expect(stored).not.toContain(id);
  });

  it('end when the password changes or the user is removed', async () => {
    const user = await service.users.add({ name: 'alice', role: 'admin', password: 'long-enough-pw' });
    const a = service.sessions.create(user.id, '127.0.0.1');
    const b = service.sessions.create(user.id, '127.0.0.1');
    expect(await service.users.setPassword('alice', 'another-long-pw')).toBe(2);
    expect(service.sessions.resolve(a.id)).toBeUndefined();
    const c = service.sessions.create(user.id, '127.0.0.1');
    service.users.remove('alice');
    expect(service.sessions.resolve(b.id)).toBeUndefined();
    expect(service.sessions.resolve(c.id)).toBeUndefined();
  });
});

describe('API tokens', () => {
  it('are shown once, stored hashed, and stop working when revoked', () => {
    const { token, secret } = service.tokens.create({ name: 'hotplug', role: 'admin', createdBy: 'cli:root' });
    expect(secret).toMatch(/^ctc_[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(db.prepare('SELECT * FROM api_tokens').all())).not.toContain(secret.slice(4));
    expect(service.tokens.resolve(secret)?.name).toBe('hotplug');
    expect(service.tokens.list()[0].lastUsedAt?.getTime()).toBe(clock);
    expect(service.tokens.resolve(secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A'))).toBeUndefined();
    expect(service.tokens.revoke('hotplug')).toBe(true);
    expect(service.tokens.revoke('hotplug')).toBe(false);
    expect(service.tokens.resolve(secret)).toBeUndefined();
    expect(token.role).toBe('admin');
  });
});

describe('login throttle', () => {
  const from = (address: string, name = 'alice') => ({ name, address });
  const loginRequest = (address: string) => new Request('http://console.test/api/auth/login', { method: 'POST', headers: { 'x-forwarded-for': address } });

  it('60 parallel wrong passwords for one user lead to at most the free failures of password checks', async () => {
    await service.users.add({ name: 'alice', role: 'viewer', password: 'the-right-password' });
    const verify = vi.spyOn(service.users, 'verify');
    const results = await Promise.allSettled(Array.from({ length: 60 }, (_, i) => login(service, loginRequest('10.0.0.1'), { name: 'alice', password: `wrong-${i}` })));
    expect(verify.mock.calls.length).toBeLessThanOrEqual(service.config.loginFreeFailures);
    const refused = results.map((r) => (r.status === 'rejected' ? (r.reason as Error).name : 'ok'));
    expect(refused.filter((n) => n === 'AuthenticationError').length).toBe(verify.mock.calls.length);
    expect(refused.filter((n) => n === 'ThrottledError').length).toBe(60 - verify.mock.calls.length);
  }, 60_000);

  it('locks a name from one address with a doubling wait; the owner elsewhere is only delayed, and gets in', () => {
    for (let i = 0; i < 2; i++) {
      const r = service.throttle.reserve(from('10.0.0.1'));
      expect(r.kind).toBe('reserved');
      if (r.kind === 'reserved') r.failed();
    }
    const locked = service.throttle.reserve(from('10.0.0.1'));
    expect(locked).toMatchObject({ kind: 'locked', key: 'pair:alice@10.0.0.1', waitMs: 1000 });
    clock += 1000;
    const third = service.throttle.reserve(from('10.0.0.1'));
    expect(third).toMatchObject({ kind: 'reserved', lockedMs: 2000 });
    if (third.kind === 'reserved') third.failed();
    // That check waited 1 s first (the name had 2 failures): the 2 s lock counts from after it.
    expect(service.throttle.reserve(from('10.0.0.1'))).toMatchObject({ kind: 'locked', waitMs: 3000 });
    // The name had 3 failures: from another address it is not locked, only slowed (the 3rd over 2 free: 2 s).
    const owner = service.throttle.reserve(from('10.0.0.2'));
    expect(owner).toMatchObject({ kind: 'reserved', delayMs: 2000 });
    if (owner.kind === 'reserved') owner.succeeded();
    // A success starts the name afresh.
    expect(service.throttle.reserve(from('10.0.0.3'))).toMatchObject({ kind: 'reserved', delayMs: 0 });
  });

  it('never locks a name however many addresses fail it; the delay is capped', () => {
    let last = 0;
    for (let i = 0; i < 40; i++) {
      const r = service.throttle.reserve(from(`10.1.0.${i}`));
      expect(r.kind).toBe('reserved');
      if (r.kind === 'reserved') {
        last = r.delayMs;
        r.failed();
      }
    }
    expect(last).toBe(service.config.loginNameMaxDelayMs);
  });

  it('caps the lock', () => {
    let last = 0;
    for (let i = 0; i < 40; i++) {
      const r = service.throttle.reserve(from('10.0.0.9', 'x'));
      if (r.kind === 'reserved') {
        last = r.lockedMs;
        r.failed();
      } else clock += r.waitMs;
    }
    expect(last).toBe(15 * 60_000);
  });

  it('an account holder\'s own logins do not reset the address: spraying other names locks the address', () => {
    const address = '10.0.0.5';
    let sprayed = 0;
    for (let i = 0; ; i++) {
      const own = service.throttle.reserve(from(address, 'holder'));
      if (own.kind === 'locked') break;
      own.succeeded();
      const guess = service.throttle.reserve(from(address, `victim-${i}`));
      if (guess.kind === 'locked') break;
      guess.failed();
      sprayed++;
      expect(sprayed).toBeLessThanOrEqual(service.config.loginAddressFreeFailures);
    }
    expect(sprayed).toBe(service.config.loginAddressFreeFailures);
    expect(service.throttle.reserve(from(address, 'holder'))).toMatchObject({ kind: 'locked', key: `address:${address}` });
    expect(service.throttle.reserve(from('10.0.0.6', 'holder')).kind).toBe('reserved');
  });

  it('a refused flood is one audit entry per lock window, with the count', async () => {
    await service.users.add({ name: 'alice', role: 'viewer', password: 'the-right-password' });
    for (let i = 0; i < 2; i++) await expect(login(service, loginRequest('10.0.0.1'), { name: 'alice', password: 'wrong' })).rejects.toThrow('wrong user name or password');
    for (let i = 0; i < 1000; i++) await expect(login(service, loginRequest('10.0.0.1'), { name: 'alice', password: 'wrong' })).rejects.toThrow('too many failed logins');
    const denied = service.audit.query({ action: 'login.failed', outcome: 'denied', limit: 100, offset: 0 });
    expect(denied.matched).toBe(1);
    expect(denied.items[0].details).toMatchObject({ reason: 'throttled', lock: 'pair', attempts: 1000 });
    // The next window is a new entry.
    clock += 1000;
    await expect(login(service, loginRequest('10.0.0.1'), { name: 'alice', password: 'wrong' })).rejects.toThrow('wrong user name or password');
    await expect(login(service, loginRequest('10.0.0.1'), { name: 'alice', password: 'wrong' })).rejects.toThrow('too many failed logins');
    expect(service.audit.query({ action: 'login.failed', outcome: 'denied', limit: 100, offset: 0 }).items.map((e) => e.details?.attempts)).toEqual([1, 1000]);
  }, 60_000);
});

describe('audit retention', () => {
  it('prunes entries older than CONNTRACK_AUDIT_RETENTION_DAYS, and records the pruning', () => {
    expect(authConfig({}).auditRetentionMs).toBe(365 * 86_400_000);
    expect(authConfig({ CONNTRACK_AUDIT_RETENTION_DAYS: '30' }).auditRetentionMs).toBe(30 * 86_400_000);
    const actor = { kind: 'cli' as const, name: 'root', source: 'cli' };
    service.audit.record({ actor, action: 'user.add', target: 'user old', outcome: 'ok' });
    clock += 366 * 86_400_000;
    service.audit.record({ actor, action: 'user.add', target: 'user new', outcome: 'ok' });
    expect(pruneAudit(service, clock)).toBe(1);
    const items = service.audit.query({ limit: 10, offset: 0 }).items;
    expect(items.map((e) => [e.action, e.target, e.affected])).toEqual([
      ['audit.prune', expect.stringContaining('entries before'), 1],
      ['user.add', 'user new', null],
    ]);
    expect(pruneAudit(service, clock)).toBe(0);
    expect(service.audit.query({ limit: 10, offset: 0 }).matched).toBe(2);
  });
});
