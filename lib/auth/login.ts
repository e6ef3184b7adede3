// Logging in and out. A failed login answers the same whether or not the user exists (and takes as long:
// Users.verify hashes against a dummy), counts against the attempted name, the client address and the pair of
// them (throttle.ts), and is audited. Its writes (each one statement or one transaction) are tried again while the
// database is locked (retryWhileBusy): the server's statements wait only 20 ms for the lock, and the history
// writer's thread takes it for a few milliseconds at a time under churn; a login must not fail for that.
import { z } from 'zod';
import { isBusy, retryWhileBusy } from '@/lib/store';
import type { Actor, AuditAction, AuditRecord } from './audit';
import { AuditWriteError, AuthenticationError, ThrottledError } from './errors';
import { actorOf, checkOrigin, clearedCookies, clientAddress, isHttps, sessionCookies, type Principal } from './http';
import { NAME_MAX, PASSWORD_MAX, PERMISSIONS, roleAllows, type Permission, type Role } from './roles';
import { requireSetup, type AuthService } from './service';
import type { Attempt } from './throttle';

/** POST /api/auth/login. Only lengths are checked: the name's format is no business of a failed login. */
export const loginBodySchema = z.strictObject({
  name: z.string({ message: 'name must be text' }).min(1, 'name must not be empty').max(NAME_MAX, `name must be at most ${NAME_MAX} characters`),
  password: z.string({ message: 'password must be text' }).min(1, 'password must not be empty').max(PASSWORD_MAX, `password must be at most ${PASSWORD_MAX} characters`),
});
export type LoginBody = z.output<typeof loginBodySchema>;

export const WRONG_CREDENTIALS = 'wrong user name or password';

export interface Me {
  name: string;
  role: Role;
  kind: 'session' | 'token';
  permissions: Permission[];
  /** Session only: when it ends if unused, and at the latest (ISO). */
  idleExpiresAt?: string;
  expiresAt?: string;
}

export function describePrincipal(principal: Principal): Me {
  const me: Me = { name: principal.name, role: principal.role, kind: principal.kind, permissions: PERMISSIONS.filter((p) => roleAllows(principal.role, p)) };
  if (principal.kind === 'session') {
    me.idleExpiresAt = new Date(principal.session.idleExpiresAt).toISOString();
    me.expiresAt = new Date(principal.session.expiresAt).toISOString();
  }
  return me;
}

/**
 * Runs `check` (a password verification) under the login throttle (throttle.ts) for `attempt`: reserved first, so
 * parallel attempts cannot outrun it; refused with ThrottledError while a lock holds (audited as `action`, one
 * entry per lock window with a count); delayed while the name is under attack. `check` answers the user when the
 * password was right, undefined when wrong; a wrong one counts against the name, the address and the pair. For
 * every password check a client can trigger: logging in, and changing one's own password.
 */
export async function throttledCheck<T>(service: AuthService, options: { attempt: Attempt; actor: Actor; action: AuditAction }, check: () => Promise<T | undefined>): Promise<{ value: T | undefined; lockedMs: number }> {
  const reservation = await retryWhileBusy(() => service.throttle.reserve(options.attempt));
  if (reservation.kind === 'locked') {
    const retryAfterSeconds = Math.ceil(reservation.waitMs / 1000);
    const window = { lock: reservation.key.slice(0, reservation.key.indexOf(':')), lockedUntil: new Date(reservation.until).toISOString() };
    service.audit.recordRepeated(
      { actor: options.actor, action: options.action, details: { reason: 'throttled', ...window }, outcome: 'denied' },
      `throttled ${reservation.key} ${reservation.until}`,
      reservation.until - service.config.loginMaxBackoffMs,
    );
    throw new ThrottledError(retryAfterSeconds);
  }
  try {
    if (reservation.delayMs > 0) await new Promise((r) => setTimeout(r, reservation.delayMs));
    const value = await check();
    if (value === undefined) reservation.failed();
    else await retryWhileBusy(() => reservation.succeeded());
    return { value, lockedMs: reservation.lockedMs };
  } catch (error) {
    // The check itself broke (not a wrong password): the attempt still counts, so errors cannot be used to guess.
    reservation.failed();
    throw error;
  }
}

/** Checks the password (unless throttled) and opens a session; returns the Set-Cookie values and who logged in. */
export async function login(service: AuthService, request: Request, body: LoginBody): Promise<{ me: Me; cookies: string[] }> {
  requireSetup(service);
  checkOrigin(request, service, false);
  const source = clientAddress(request);
  const anonymous: Actor = { kind: 'anonymous', name: body.name, source };
  const { value: user, lockedMs } = await throttledCheck(service, { attempt: { name: body.name, address: source }, actor: anonymous, action: 'login.failed' }, () =>
    service.users.verify(body.name, body.password),
  );
  if (!user) {
    await recordRetried(service, { actor: anonymous, action: 'login.failed', details: { reason: 'wrong name or password', lockedForSeconds: Math.ceil(lockedMs / 1000) }, outcome: 'failed' });
    throw new AuthenticationError(WRONG_CREDENTIALS);
  }
  const session = await retryWhileBusy(() => service.sessions.create(user.id, source));
  const principal: Principal = { kind: 'session', name: user.name, role: user.role, session: service.sessions.resolve(session.id) ?? never() };
  await recordRetried(service, { actor: actorOf(principal, request), action: 'login', target: `user ${user.name}`, outcome: 'ok' });
  return { me: describePrincipal(principal), cookies: sessionCookies(session, isHttps(request, service), service) };
}

/** An audit entry written while the database is locked only briefly; a lock held longer is StoreBusyError (503). */
function recordRetried(service: AuthService, record: AuditRecord): Promise<void> {
  return retryWhileBusy(() => {
    try {
      service.audit.record(record);
    } catch (error) {
      // The store's error, so retryWhileBusy sees a busy database.
      if (error instanceof AuditWriteError && isBusy(error.cause)) throw error.cause;
      throw error;
    }
  });
}

function never(): never {
  throw new Error('a session just created could not be read back');
}

/** Ends the session (a token has none to end) and returns the Set-Cookie values that clear the cookies. */
export function logout(service: AuthService, request: Request, principal: Principal): string[] {
  if (principal.kind === 'session') {
    service.sessions.end(principal.session.idHash);
    service.audit.record({ actor: actorOf(principal, request), action: 'logout', target: `user ${principal.name}`, affected: 1, outcome: 'ok' });
  }
  return clearedCookies(isHttps(request, service));
}
