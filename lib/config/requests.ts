// What scripts/serve.ts refuses before the app sees a request, as pure rules (the route wrapper applies the key
// rule again). Which Host headers name this console: the Origin a state-changing request must come from is
// derived from the Host header (lib/auth/http.ts), so an unchecked Host would let any name - a DNS-rebinding
// attacker's among them - become "our" origin; any other Host gets 421. And the keys no input may use.
import { isIP } from 'node:net';

/**
 * The security headers of every answer besides its Content-Security-Policy: proxy.ts puts them on what Next
 * answers (with a page's nonce policy), scripts/serve.ts on what it answers itself (with a JSON one).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=()',
};

/** Keys that name the object machinery: a plain object swallows `__proto__` silently (so does Next's query parsing). */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** The first query-string key of a raw request target that no input may use, or undefined. */
export function forbiddenQueryKey(target: string): string | undefined {
  const query = target.indexOf('?');
  if (query < 0) return undefined;
  for (const key of new URLSearchParams(target.slice(query + 1)).keys()) if (FORBIDDEN_KEYS.has(key)) return key;
  return undefined;
}

export interface HostRules {
  /** The configured listen address and port (CONNTRACK_HOST, CONNTRACK_PORT). */
  listen: { host: string; port: number };
  /** CONNTRACK_ALLOWED_ORIGINS. */
  allowedOrigins: readonly string[];
}

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]']);

const bracketed = (host: string): string => (isIP(host) === 6 ? `[${host}]` : host);

/** The Host header normalised as a URL would (lowercase, default port dropped), or undefined when it is not a host. */
export function normalHost(host: string, scheme: 'http' | 'https'): string | undefined {
  if (!host || /[\s/?#@\\]/.test(host)) return undefined;
  try {
    const url = new URL(`${scheme}://${host}`);
    return url.host === '' ? undefined : url.host;
  } catch {
    return undefined;
  }
}

function isLoopback(hostname: string): boolean {
  const bare = hostname.replace(/^\[|\]$/g, '');
  return bare === 'localhost' || bare.endsWith('.localhost') || bare === '::1' || (isIP(bare) === 4 && bare.startsWith('127.'));
}

/**
 * Whether `host` (the request's Host header) names this console: the listen host:port (unless that is a
 * wildcard: then the local address:port the connection arrived on, which is an address, never a name an
 * attacker controls), a loopback name or address, or the host of one of the allowed origins.
 */
export function hostAllowed(host: string | undefined, rules: HostRules, connection: { scheme: 'http' | 'https'; localAddress?: string; localPort?: number }): boolean {
  const normal = host === undefined ? undefined : normalHost(host, connection.scheme);
  if (!normal) return false;
  const hostname = new URL(`${connection.scheme}://${normal}`).hostname;
  if (isLoopback(hostname)) return true;
  const ours = (address: string, port: number) => normalHost(`${bracketed(address)}:${port}`, connection.scheme);
  if (!WILDCARDS.has(rules.listen.host) && normal === ours(rules.listen.host, rules.listen.port)) return true;
  const local = connection.localAddress?.replace(/^::ffff:(?=\d+\.)/, '');
  if (local && connection.localPort && normal === ours(local, connection.localPort)) return true;
  return rules.allowedOrigins.some((origin) => {
    try {
      return new URL(origin).host === normal;
    } catch {
      return false;
    }
  });
}
