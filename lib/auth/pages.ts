// Whether a page request may see a page: the same session check as the API, answered as where to send the
// browser instead of an error (proxy.ts redirects; pages check again on render).
import { AuthenticationError, SetupRequiredError } from './errors';
import { authenticate, type Principal } from './http';
import { roleAllows, type Permission } from './roles';
import type { AuthService } from './service';

export type PageAccess = { kind: 'allowed'; principal: Principal } | { kind: 'login' } | { kind: 'setup' } | { kind: 'forbidden'; principal: Principal };

/** Pages go by the session cookie only: a browser never sends a bearer token to a page. */
export function pageAccess(request: Request, service: AuthService, permission: Permission): PageAccess {
  const headers = new Headers(request.headers);
  headers.delete('authorization');
  try {
    const principal = authenticate(new Request(request.url, { headers }), service);
    return roleAllows(principal.role, permission) ? { kind: 'allowed', principal } : { kind: 'forbidden', principal };
  } catch (error) {
    if (error instanceof SetupRequiredError) return { kind: 'setup' };
    if (error instanceof AuthenticationError) return { kind: 'login' };
    throw error;
  }
}

/** The same check for a server component, from the request's headers (next/headers). */
export function pageAccessFromHeaders(headers: Headers, service: AuthService, permission: Permission): PageAccess {
  return pageAccess(new Request('http://console.invalid/', { headers: { cookie: headers.get('cookie') ?? '' } }), service, permission);
}

const SAME_ORIGIN_BASE = 'http://console.invalid';

/**
 * Where a login may send the browser: a path on this console, as the URL parser reads it (so `/%09/evil.example`,
 * `//evil.example`, `/\\evil.example` and `javascript:` all leave the origin and become `/`), re-serialised so
 * CR, LF and non-Latin-1 characters arrive percent-encoded, never in a Location header as they are.
 */
export function safeNextPath(value: string | string[] | undefined | null): string {
  const next = Array.isArray(value) ? value[0] : value;
  if (!next || !next.startsWith('/')) return '/';
  let url: URL;
  try {
    url = new URL(next, SAME_ORIGIN_BASE);
  } catch {
    return '/';
  }
  if (url.origin !== SAME_ORIGIN_BASE || url.username || url.password) return '/';
  const path = `${url.pathname}${url.search}${url.hash}`;
  // Parsed and re-serialised, the path is ASCII; a second parse must land on the same origin too.
  return path.startsWith('/') && !path.startsWith('//') && !path.startsWith('/\\') && new URL(path, SAME_ORIGIN_BASE).origin === SAME_ORIGIN_BASE ? path : '/';
}
