// Changing one's own password (lib/auth/account.ts) on a real SQLite store: the current password is checked
// under the login throttle, the new one replaces it, the user's other sessions end and the asking one stays.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuthInputError, authConfig, changeOwnPassword, createAuthService, passwordChangeSchema, PermissionError, ThrottledError, type AuthService, type Principal } from '@/lib/auth';
import { openStore, type Store } from '@/lib/store';

let dir: string;
let db: Store;
let clock: number;
let service: AuthService;
const request = () => new Request('http://console.test/api/auth/password', { method: 'POST' });

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ctc-account-unit-'));
  db = openStore(dir);
  clock = Date.parse('2026-01-01T00:00:00Z');
  service = createAuthService({ db, dir, config: { ...authConfig({}), loginFreeFailures: 2, loginBackoffMs: 1000 }, now: () => clock });
  await service.users.add({ name: 'alice', role: 'viewer', password: 'alice-password-1' });
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function sessionOf(name: string): Principal {
  const user = service.users.find(name)!;
  const { id } = service.sessions.create(user.id, '127.0.0.1');
  const session = service.sessions.resolve(id)!;
  return { kind: 'session', name, role: user.role, session };
}

const change = (principal: Principal, currentPassword: string, newPassword = 'alice-password-2') =>
  changeOwnPassword(service, request(), principal, { currentPassword, newPassword, confirmPassword: newPassword });

describe('changeOwnPassword', () => {
  it('replaces the password and ends the other sessions only', async () => {
    const mine = sessionOf('alice');
    const others = [sessionOf('alice'), sessionOf('alice')];
    expect(await change(mine, 'alice-password-1')).toEqual({ endedSessions: 2 });
    expect(await service.users.verify('alice', 'alice-password-1')).toBeUndefined();
    expect((await service.users.verify('alice', 'alice-password-2'))?.name).toBe('alice');
    const count = (idHash: string) => (db.prepare('SELECT COUNT(*) AS n FROM sessions WHERE id_hash = ?').get(idHash) as { n: number }).n;
    expect(count(mine.kind === 'session' ? mine.session.idHash : '')).toBe(1);
    for (const other of others) expect(count(other.kind === 'session' ? other.session.idHash : '')).toBe(0);
  });

  it('a wrong current password is refused, counted by the login throttle, and then even the right one waits', async () => {
    const mine = sessionOf('alice');
    let refused = 0;
    let throttled = false;
    for (let i = 0; i < 10 && !throttled; i++) {
      try {
        await change(mine, 'wrong-password');
      } catch (error) {
        if (error instanceof ThrottledError) throttled = true;
        else if (error instanceof AuthInputError) refused++;
        else throw error;
      }
    }
    // Two failures are free; the wrong ones after them lock, as failed logins do.
    expect(refused).toBeGreaterThanOrEqual(2);
    expect(throttled).toBe(true);
    await expect(change(mine, 'alice-password-1')).rejects.toThrow(ThrottledError);
    clock += 60 * 60_000;
    expect(await change(mine, 'alice-password-1')).toEqual({ endedSessions: 0 });
  });

  it('an API token has no password to change', async () => {
    const token: Principal = { kind: 'token', name: 'script', role: 'admin', tokenId: 1 } as unknown as Principal;
    await expect(change(token, 'anything')).rejects.toThrow(PermissionError);
  });
});

describe('passwordChangeSchema', () => {
  it('names the field that is wrong', () => {
    const issue = (body: object) => passwordChangeSchema.safeParse(body).error?.issues[0];
    expect(issue({ currentPassword: 'x', newPassword: 'long-enough-1', confirmPassword: 'long-enough-2' })).toMatchObject({ path: ['confirmPassword'], message: 'the two new passwords differ' });
    expect(issue({ currentPassword: 'x', newPassword: 'short', confirmPassword: 'short' })).toMatchObject({ path: ['newPassword'] });
    expect(issue({ currentPassword: 'same-password-1', newPassword: 'same-password-1', confirmPassword: 'same-password-1' })).toMatchObject({ path: ['newPassword'] });
    expect(issue({ currentPassword: '', newPassword: 'long-enough-1', confirmPassword: 'long-enough-1' })).toMatchObject({ path: ['currentPassword'] });
    expect(passwordChangeSchema.safeParse({ currentPassword: 'x', newPassword: 'long-enough-1', confirmPassword: 'long-enough-1', extra: 1 }).success).toBe(false);
  });
});
