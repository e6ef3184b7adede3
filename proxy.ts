// Runs before every page and API request: security headers with a per-request CSP nonce on everything, and for
// pages a server-side session check - no session sends the browser to /login, a viewer gets no audit page.
// The API routes check credentials themselves (lib/console/route.ts); this only keeps pages from rendering.
import { randomBytes } from 'node:crypto';
import { NextResponse, type NextRequest } from 'next/server';
import { CONSOLE_PAGES } from '@/app/components/shell/pages';
import { authService, pageAccess, type Permission } from '@/lib/auth';
import { SECURITY_HEADERS } from '@/lib/config';

/** Pages and what they need (the shell's one list of pages); any other page path is left to Next (404). */
const PAGES: Record<string, Permission> = Object.fromEntries(CONSOLE_PAGES.map((page) => [page.href, page.permission]));

function contentSecurityPolicy(nonce: string): string {
  const dev = process.env.NODE_ENV === 'development';
  return [
    "default-src 'self'",
    // React's development build needs eval; production does not.
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ''}`,
    `style-src 'self' 'nonce-${nonce}'`,
    // Column widths and bar lengths are inline style attributes (no script can run from one).
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self'${dev ? ' ws:' : ''}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function withHeaders(response: NextResponse, csp: string): NextResponse {
  response.headers.set('Content-Security-Policy', csp);
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.headers.set(name, value);
  return response;
}

export function proxy(request: NextRequest): NextResponse {
  const nonce = randomBytes(16).toString('base64');
  const csp = contentSecurityPolicy(nonce);
  const path = request.nextUrl.pathname;
  const permission = PAGES[path];
  if (permission) {
    const access = pageAccess(request, authService(), permission);
    if (access.kind === 'login' || access.kind === 'setup') {
      const login = new URL('/login', request.url);
      if (path !== '/' || request.nextUrl.search) login.searchParams.set('next', path + request.nextUrl.search);
      return withHeaders(NextResponse.redirect(login, 303), csp);
    }
    if (access.kind === 'forbidden') {
      return withHeaders(new NextResponse(`Forbidden: this page needs the ${permission} permission, which the ${access.principal.role} role does not have.`, { status: 403 }), csp);
    }
  }
  // Next reads the nonce from the request's CSP header and puts it on its own scripts.
  const headers = new Headers(request.headers);
  headers.set('Content-Security-Policy', csp);
  return withHeaders(NextResponse.next({ request: { headers } }), csp);
}

// Every request, prefetches included: a prefetched response is a response too, and must carry the headers.
export const config = {
  matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'],
};
