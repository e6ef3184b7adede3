// Logging in and out. A failed login answers the same whether or not the user exists (and takes as long:
// Users.verify hashes against a dummy), counts against the client address and the attempted name, and is audited.
import { z } from 'zod';
import type { Actor } from './audit';
import { AuthenticationError, ThrottledError } from './errors';
import { actorOf, checkOrigin, clearedCookies, clientAddress, isHttps, sessionCookies, type Principal } from './http';
import { NAME_MAX, PASSWORD_MAX, PERMISSIONS, roleAllows, type Permission, type Role } from './roles';
import { requireSetup, type AuthService } from './service';
import { addressKey, nameKey } from './throttle';

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

/** Checks the password (unless throttled) and opens a session; returns the Set-Cookie values and who logged in. */
export async function login(service: AuthService, request: Request, body: LoginBody): Promise<{ me: Me; cookies: string[] }> {
  requireSetup(service);
  checkOrigin(request, service, false);
  const source = clientAddress(request);
  const keys = [addressKey(source), nameKey(body.name)];
  const anonymous: Actor = { kind: 'anonymous', name: body.name, source };
  const wait = service.throttle.waitFor(keys);
  if (wait > 0) {
    const retryAfterSeconds = Math.ceil(wait / 1000);
    service.audit.record({ actor: anonymous, action: 'login.failed', details: { reason: 'throttled', retryAfterSeconds }, outcome: 'denied' });
    throw new ThrottledError(retryAfterSeconds);
  }
  const user = await service.users.verify(body.name, body.password);
  if (!user) {
    const lockedMs = service.throttle.fail(keys);
    service.audit.record({ actor: anonymous, action: 'login.failed', details: { reason: 'wrong name or password', lockedForSeconds: Math.ceil(lockedMs / 1000) }, outcome: 'failed' });
    throw new AuthenticationError(WRONG_CREDENTIALS);
  }
  service.throttle.succeed(keys);
  const session = service.sessions.create(user.id, source);
  const principal: Principal = { kind: 'session', name: user.name, role: user.role, session: service.sessions.resolve(session.id) ?? never() };
  service.audit.record({ actor: actorOf(principal, request), action: 'login', target: `user ${user.name}`, outcome: 'ok' });
  return { me: describePrincipal(principal), cookies: sessionCookies(session, isHttps(request, service), service) };
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
