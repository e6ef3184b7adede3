// The finite table of routes that go through the route wrapper, as patterns: the `route` label of the API
// latency histogram is one of these or `unmatched`, so no request path (a random 404, a made-up id) can add
// label sets to /metrics. A unit test checks the table against the app directory.
export const ROUTE_PATTERNS = [
  '/api/audit',
  '/api/auth/login',
  '/api/auth/logout',
  '/api/auth/me',
  '/api/auth/password',
  '/api/connections',
  '/api/connections/:id',
  '/api/connections/:id/status',
  '/api/connections/cleanup',
  '/api/connections/delete',
  '/api/connections/export',
  '/api/connections/external-addresses',
  '/api/connections/flush',
  '/api/connections/live',
  '/api/connections/refresh',
  '/api/connections/summary',
  '/api/expectations',
  '/api/expectations/:id',
  '/api/expectations/delete',
  '/api/expectations/flush',
  '/api/health',
  '/api/history',
  '/api/history/clear',
  '/api/history/delete',
  '/api/history/export',
  '/api/history/nat-lookup',
  '/api/names',
  '/api/names/reverse',
  '/api/notices',
  '/api/overview',
  '/api/router',
  '/api/router/demo',
  '/api/settings',
  '/api/stats',
  '/api/stats/series',
  '/metrics',
] as const;

export const UNMATCHED_ROUTE = 'unmatched';

const segments = (path: string): string[] => path.split('/').filter(Boolean);
const TABLE = ROUTE_PATTERNS.map((pattern) => ({ pattern, parts: segments(pattern) }));

/** The pattern a path was routed by (static segments before dynamic ones, as Next routes), else `unmatched`. */
export function routePattern(pathname: string): string {
  const parts = segments(pathname);
  let best: { pattern: string; dynamic: number } | undefined;
  for (const entry of TABLE) {
    if (entry.parts.length !== parts.length) continue;
    if (!entry.parts.every((part, i) => part.startsWith(':') || part === parts[i])) continue;
    const dynamic = entry.parts.filter((part) => part.startsWith(':')).length;
    if (!best || dynamic < best.dynamic) best = { pattern: entry.pattern, dynamic };
  }
  return best?.pattern ?? UNMATCHED_ROUTE;
}
