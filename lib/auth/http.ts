// Authentication of an HTTP request (a Web API Request): a bearer token, else the session cookie; the Origin and
// CSRF-token checks of state-changing browser requests; the cookies a login sets and a logout clears.
import type { Actor } from './audit';
import { CSRF_COOKIE_NAME as CSRF_COOKIE, CSRF_HEADER_NAME as CSRF_HEADER } from './client';
import { AuthenticationError, CsrfError, PermissionError } from './errors';
import { roleAllows, type Permission, type Role } from './roles';
import { sameSecret } from './secrets';
import { requireSetup, type AuthService } from './service';
import type { Session } from './sessions';
import type { ApiToken } from './tokens';

export const SESSION_COOKIE = 'ctc_session';
export { CSRF_COOKIE, CSRF_HEADER };

export type Principal = { kind: 'session'; name: string; role: Role; session: Session } | { kind: 'token'; name: string; role: Role; token: ApiToken };

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function cookie(request: Request, name: string): string | undefined {
  for (const part of (request.headers.get('cookie') ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The client's address. Our server (scripts/serve.ts) sets X-Forwarded-For to the peer address, or to the address
 * a trusted reverse proxy reports; so the first entry is the client.
 */
export function clientAddress(request: Request): string {
  return (request.headers.get('x-forwarded-for') ?? '').split(',')[0]?.trim() || 'unknown';
}

/** Whether the request reached us (or the TLS-terminating proxy in front) over HTTPS. */
export function isHttps(request: Request, service: AuthService): boolean {
  return service.config.forceSecureCookies || request.headers.get('x-forwarded-proto') === 'https' || new URL(request.url).protocol === 'https:';
}

/** Who sent the request; throws AuthenticationError without valid credentials, SetupRequiredError before setup. */
export function authenticate(request: Request, service: AuthService): Principal {
  requireSetup(service);
  const authorization = request.headers.get('authorization');
  if (authorization !== null) {
    // A script that sends a token means that token: never fall back to a cookie it may also carry.
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    const token = match ? service.tokens.resolve(match[1]) : undefined;
    if (!token) throw new AuthenticationError('the API token is unknown or revoked (send "Authorization: Bearer ctc_...")');
    return { kind: 'token', name: token.name, role: token.role, token };
  }
  const id = cookie(request, SESSION_COOKIE);
  const session = id ? service.sessions.resolve(id) : undefined;
  if (!session) throw new AuthenticationError(id ? 'the session has ended: log in again' : 'log in first (or send an API token)');
  return { kind: 'session', name: session.user.name, role: session.user.role, session };
}

/**
 * Whether credentials that were valid when a long request (a live feed) began still are: the session not ended
 * (logout, password change), idle or expired, the token not revoked, the role still granting `permission`.
 */
export function stillAllowed(principal: Principal, permission: Permission, service: AuthService): boolean {
  const role = principal.kind === 'session' ? service.sessions.liveRole(principal.session.idHash) : service.tokens.liveRole(principal.token.id);
  return role !== undefined && roleAllows(role, permission);
}

export function authorize(principal: Principal, permission: Permission): void {
  if (!roleAllows(principal.role, permission)) throw new PermissionError(principal.role, permission);
}

/** The origins a browser may send state-changing requests from: our own (Host header) and any configured. */
function allowedOrigins(request: Request, service: AuthService): Set<string> {
  const host = request.headers.get('host') ?? new URL(request.url).host;
  const proto = request.headers.get('x-forwarded-proto') === 'https' || new URL(request.url).protocol === 'https:' ? 'https' : 'http';
  return new Set([`${proto}://${host}`, ...service.config.allowedOrigins]);
}

/**
 * A state-changing request from a browser must come from one of our origins (Origin header, else Referer). When
 * `required`, a request with neither is refused too (a browser always sends Origin with POST and DELETE).
 */
export function checkOrigin(request: Request, service: AuthService, required: boolean): void {
  if (SAFE_METHODS.has(request.method)) return;
  let origin = request.headers.get('origin');
  if (origin === null) {
    const referer = request.headers.get('referer');
    if (referer) {
      try {
        origin = new URL(referer).origin;
      } catch {
        origin = 'null';
      }
    }
  }
  if (origin === null) {
    if (required) throw new CsrfError('the request has no Origin header: state-changing requests must come from the console page');
    return;
  }
  if (!allowedOrigins(request, service).has(origin)) throw new CsrfError(`requests from ${origin} are not accepted (set CONNTRACK_ALLOWED_ORIGINS if the console is served under another name)`);
}

/** Session-authenticated state-changing requests: same origin and the session's CSRF token in X-CSRF-Token. */
export function checkCsrf(request: Request, principal: Principal, service: AuthService): void {
  if (principal.kind !== 'session' || SAFE_METHODS.has(request.method)) return;
  checkOrigin(request, service, true);
  const sent = request.headers.get(CSRF_HEADER);
  if (!sent || !sameSecret(sent, principal.session.csrfToken)) {
    throw new CsrfError(`missing or wrong ${CSRF_HEADER} header: send the value of the ${CSRF_COOKIE} cookie`);
  }
}

export function actorOf(principal: Principal, request: Request): Actor {
  return { kind: principal.kind === 'session' ? 'user' : 'token', name: principal.name, role: principal.role, source: clientAddress(request) };
}

function serializeCookie(name: string, value: string, options: { httpOnly: boolean; secure: boolean; maxAgeSeconds: number }): string {
  const parts = [`${name}=${value}`, 'Path=/', 'SameSite=Strict', `Max-Age=${Math.max(0, Math.floor(options.maxAgeSeconds))}`];
  if (options.httpOnly) parts.push('HttpOnly');
  if (options.secure) parts.push('Secure');
  return parts.join('; ');
}

/** Set-Cookie values for a new session: the HttpOnly session id and the script-readable CSRF token. */
export function sessionCookies(session: { id: string; csrfToken: string }, secure: boolean, service: AuthService): string[] {
  const maxAgeSeconds = service.config.sessionAbsoluteMs / 1000;
  return [
    serializeCookie(SESSION_COOKIE, session.id, { httpOnly: true, secure, maxAgeSeconds }),
    serializeCookie(CSRF_COOKIE, session.csrfToken, { httpOnly: false, secure, maxAgeSeconds }),
  ];
}

export function clearedCookies(secure: boolean): string[] {
  return [SESSION_COOKIE, CSRF_COOKIE].map((name) => serializeCookie(name, '', { httpOnly: name === SESSION_COOKIE, secure, maxAgeSeconds: 0 }));
}
