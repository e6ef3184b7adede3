// The security probe's findings (issue 11), against the real server (scripts/serve.ts on the production build)
// managing a fresh namespace, with conntrack(8) as the oracle where a refused request must have deleted nothing.
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '@/lib/auth';
import type { ApiErrorBody } from '@/lib/console';
import { createUser, type Credentials } from '../support/auth';
import { countWithConntrack, createTestNamespace, loadWithConntrack, type InsertSpec, type TestNamespace } from '../support/oracle';
import { startServer, type TestServer } from '../support/server';

let ns: TestNamespace | undefined;
let server: TestServer | undefined;
let viewer: Credentials;

const srv = (): TestServer => server ?? (() => { throw new Error('no server'); })();
const netns = (): string => ns?.name ?? (() => { throw new Error('no namespace'); })();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function entries(n: number): InsertSpec[] {
  return Array.from({ length: n }, (_, i) => ({ protocol: 'tcp', src: `10.9.0.${i + 1}`, dst: '192.0.2.1', sport: 30000 + i, dport: 443, state: 'ESTABLISHED', timeout: 3000 }));
}

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request exactly as written (Host, path bytes and all), which fetch would normalise. */
function raw(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Raw> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers: { host: url.host, ...headers, ...(body ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const json = <T>(reply: Raw): T => JSON.parse(reply.body) as T;
const admin = (extra: Record<string, string> = {}) => ({ ...srv().authHeaders(), ...extra });

async function login(base: string, credentials: Pick<Credentials, 'name' | 'password'>, headers: Record<string, string> = {}): Promise<Raw> {
  return raw(base, 'POST', '/api/auth/login', headers, JSON.stringify({ name: credentials.name, password: credentials.password }));
}

const cookiesOf = (reply: Raw): string[] => [reply.headers['set-cookie'] ?? []].flat();
const sessionCookie = (reply: Raw): string =>
  cookiesOf(reply)
    .map((c) => c.split(';')[0])
    .join('; ');

async function audit(base: string, query: string, headers: Record<string, string>): Promise<AuditEntry[]> {
  const reply = await raw(base, 'GET', `/api/audit?${query}`, headers);
  expect(reply.status, reply.body).toBe(200);
  return json<{ items: AuditEntry[] }>(reply).items;
}

beforeAll(async () => {
  ns = await createTestNamespace('ctc-sec');
  await loadWithConntrack(ns.name, entries(20));
  server = await startServer({ netns: ns.name, env: { CONNTRACK_LOGIN_FREE_FAILURES: '4', CONNTRACK_LOGIN_BACKOFF_SECONDS: '30', CONNTRACK_LOGIN_ADDRESS_FREE_FAILURES: '10000' } });
  viewer = await createUser(server.dataDir, { name: 'viewer', role: 'viewer' });
});

afterAll(async () => {
  try {
    await server?.stop();
  } finally {
    await ns?.dispose();
  }
});

describe('1, 6: the login throttle against parallel guessing', () => {
  it('60 parallel wrong passwords for one user: at most CONNTRACK_LOGIN_FREE_FAILURES checked, the rest one audit entry', async () => {
    await createUser(srv().dataDir, { name: 'target', role: 'viewer' });
    const replies = await Promise.all(Array.from({ length: 60 }, (_, i) => login(srv().url, { name: 'target', password: `wrong-${i}` })));
    const statuses = replies.map((r) => r.status);
    const checked = statuses.filter((s) => s === 401).length;
    expect(checked).toBeGreaterThan(0);
    expect(checked).toBeLessThanOrEqual(4);
    expect(statuses.filter((s) => s === 429).length).toBe(60 - checked);
    const failed = await audit(srv().url, 'action=login.failed&actor=target&limit=1000', admin());
    expect(failed.filter((e) => e.outcome === 'failed').length).toBe(checked);
    const denied = failed.filter((e) => e.outcome === 'denied');
    expect(denied.length).toBe(1);
    expect(denied[0].details).toMatchObject({ reason: 'throttled', attempts: 60 - checked });
  });
});

describe('2: forwarded headers from a client that is not a trusted proxy', () => {
  it('rotating X-Forwarded-For neither escapes the address lock nor reaches the audit log; X-Forwarded-Proto does not make cookies Secure', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await login(srv().url, { name: 'rotator', password: 'wrong' }, { 'x-forwarded-for': `<b>198.51.100.${i}</b>` })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
    const entries = await audit(srv().url, 'action=login.failed&actor=rotator', admin());
    expect(new Set(entries.map((e) => e.source))).toEqual(new Set(['127.0.0.1']));
    const ok = await login(srv().url, viewer, { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9' });
    expect(ok.status).toBe(200);
    for (const cookie of cookiesOf(ok)) expect(cookie).not.toMatch(/;\s*Secure/i);
    const [logged] = await audit(srv().url, 'action=login&actor=viewer&limit=1', admin());
    expect(logged.source).toBe('127.0.0.1');
  });

  it('a trusted proxy\'s hop must be an address: text in X-Forwarded-For is not an audit source', async () => {
    const proxied = await startServer({ netns: netns(), env: { CONNTRACK_TRUSTED_PROXIES: '127.0.0.1' } });
    try {
      await login(proxied.url, { name: 'html-injector', password: 'wrong' }, { 'x-forwarded-for': '<img src=x onerror=alert(1)>' });
      await login(proxied.url, { name: 'proxied-client', password: 'wrong' }, { 'x-forwarded-for': 'forged, 192.0.2.44' });
      const headers = proxied.authHeaders();
      expect((await audit(proxied.url, 'action=login.failed&actor=html-injector', headers))[0].source).toBe('127.0.0.1');
      expect((await audit(proxied.url, 'action=login.failed&actor=proxied-client', headers))[0].source).toBe('192.0.2.44');
    } finally {
      await proxied.stop();
    }
  });
});

describe('3: a live feed ends with its session', () => {
  it('after logout the stream ends within 5 s (and says why)', async () => {
    const reply = await login(srv().url, viewer);
    const cookie = sessionCookie(reply);
    const csrf = /ctc_csrf=([^;]+)/.exec(cookie)?.[1] ?? '';
    const controller = new AbortController();
    const feed = await fetch(`${srv().url}/api/connections/live?ids=1,2,3`, { headers: { cookie }, signal: controller.signal });
    expect(feed.status).toBe(200);
    const reader = feed.body?.getReader();
    if (!reader) throw new Error('no body');
    let text = '';
    const decoder = new TextDecoder();
    while (!text.includes('event: status')) text += decoder.decode((await reader.read()).value);
    const out = await raw(srv().url, 'POST', '/api/auth/logout', { cookie, origin: srv().url, 'x-csrf-token': csrf }, '{}');
    expect(out.status).toBe(200);
    const loggedOutAt = Date.now();
    for (;;) {
      const chunk = await Promise.race([reader.read(), sleep(8000).then(() => null)]);
      if (chunk === null) {
        controller.abort();
        throw new Error(`the feed still streams 8 s after logout: ${text}`);
      }
      if (chunk.done) break;
      text += decoder.decode(chunk.value);
    }
    expect(Date.now() - loggedOutAt).toBeLessThan(7000);
    expect(text).toContain('event: ended');
  });
});

describe('4: /metrics does not grow with random paths', () => {
  it('500 made-up paths add no route label sets', async () => {
    const routes = async () => {
      const reply = await raw(srv().url, 'GET', '/metrics', admin());
      expect(reply.status).toBe(200);
      return new Set([...reply.body.matchAll(/route="([^"]*)"/g)].map((m) => m[1]));
    };
    for (let i = 0; i < 500; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) => {
          const n = i + j;
          const path = n % 2 ? `/api/connections/x${n}y` : `/api/connections/${n}q/status`;
          return raw(srv().url, 'GET', path, n % 4 < 2 ? {} : admin());
        }),
      );
      await Promise.all(Array.from({ length: 50 }, (_, j) => raw(srv().url, 'GET', `/nothing/here/${i + j}`)));
    }
    const labels = await routes();
    for (const label of labels) expect(label).toMatch(/^(\/api\/[a-z/:-]*|\/metrics|unmatched)$/);
    expect([...labels].filter((l) => /x\d+y|\d+q/.test(l))).toEqual([]);
  });
});

describe('5: login redirects stay on the console', () => {
  it.each([
    ['/%09/example.org/', '/'],
    ['//example.org/', '/'],
    ['/%5Cexample.org', '/'],
    ['https://example.org/', '/'],
    ['/history%0D%0ASet-Cookie:%20x=1', '/historySet-Cookie:%20x=1'],
    ['/%C3%BC%E2%82%AC', '/%C3%BC%E2%82%AC'],
    ['/audit?action=login', '/audit?action=login'],
  ])('next=%s -> %s, never a 500', async (next, expected) => {
    const session = sessionCookie(await login(srv().url, srv().admin));
    const reply = await raw(srv().url, 'GET', `/login?next=${encodeURIComponent(decodeURIComponent(next))}`, { cookie: session });
    expect(reply.status).toBeGreaterThanOrEqual(300);
    expect(reply.status).toBeLessThan(400);
    expect(reply.headers.location).toBe(expected);
    // The login form is told where to go after logging in: the same path (the page echoes its own URL elsewhere).
    const page = await raw(srv().url, 'GET', `/login?next=${encodeURIComponent(decodeURIComponent(next))}`);
    expect(page.status).toBe(200);
    expect(/\\"next\\":\\"([^\\]*)\\"/.exec(page.body)?.[1]).toBe(expected);
  });
});

describe('8: prefetch requests get the security headers too', () => {
  it.each([
    ['/', { purpose: 'prefetch' }],
    ['/login', { 'next-router-prefetch': '1' }],
    ['/api/stats', { purpose: 'prefetch' }],
    ['/no-such-page', { 'next-router-prefetch': '1', purpose: 'prefetch' }],
  ])('%s %j', async (path, headers) => {
    const reply = await raw(srv().url, 'GET', path, headers);
    expect(reply.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(reply.headers['x-content-type-options']).toBe('nosniff');
    expect(reply.headers['x-frame-options']).toBe('DENY');
    expect(reply.headers['referrer-policy']).toBe('no-referrer');
  });
});

describe('9: per-principal limits', () => {
  it('a fifth live feed of one user is 429 with Retry-After; another user is not affected', async () => {
    const cookie = sessionCookie(await login(srv().url, viewer));
    const controllers: AbortController[] = [];
    const open = async (headers: Record<string, string>) => {
      const controller = new AbortController();
      controllers.push(controller);
      return fetch(`${srv().url}/api/connections/live?ids=1`, { headers, signal: controller.signal });
    };
    try {
      const feeds = await Promise.all(Array.from({ length: 4 }, () => open({ cookie })));
      expect(feeds.map((f) => f.status)).toEqual([200, 200, 200, 200]);
      const refused = await open({ cookie });
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(((await refused.json()) as ApiErrorBody).error.code).toBe('too_many_open');
      expect((await open(admin())).status).toBe(200);
    } finally {
      for (const c of controllers) c.abort();
    }
  });

  it('50 concurrent refreshes share the dumps in flight', async () => {
    const replies = await Promise.all(Array.from({ length: 50 }, () => raw(srv().url, 'POST', '/api/connections/refresh', admin(), '{}')));
    expect(replies.every((r) => r.status === 200)).toBe(true);
    const ids = new Set(replies.map((r) => json<{ snapshot: { id: string } }>(r).snapshot.id));
    expect(ids.size).toBeLessThan(50);
  });
});

describe('10, 11, 12: paths, Host and caching', () => {
  it('an undecodable path is 400, not 500', async () => {
    for (const path of ['/api/connections/%ff', '/api/connections/%ff/status', '/%ff']) {
      const reply = await raw(srv().url, 'GET', path, admin());
      expect(reply.status, path).toBe(400);
      expect(json<ApiErrorBody>(reply).error.code).toBe('invalid_request');
    }
  });

  it('a Host that does not name the console is 421; loopback names work', async () => {
    const port = new URL(srv().url).port;
    for (const host of ['evil.example', `evil.example:${port}`, `10.1.2.3:${port}`]) {
      const reply = await raw(srv().url, 'GET', '/api/stats', admin({ host }));
      expect(reply.status, host).toBe(421);
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) expect((await raw(srv().url, 'GET', '/api/stats', admin({ host }))).status, host).toBe(200);
    // A cross-site page cannot make its own name our origin: the login is refused before any Origin check.
    const rebinding = await raw(srv().url, 'POST', '/api/auth/login', { host: 'rebind.example', origin: 'http://rebind.example' }, JSON.stringify({ name: 'admin', password: srv().admin.password }));
    expect(rebinding.status).toBe(421);
  });

  it('every API answer says Cache-Control: no-store', async () => {
    for (const [path, headers] of [['/api/stats', admin()], ['/api/stats', {}], ['/api/connections?limit=1', admin()], ['/api/connections?limit=x', admin()], ['/api/auth/me', admin()]] as const) {
      const reply = await raw(srv().url, 'GET', path, headers);
      expect(reply.headers['cache-control'], path).toBe('no-store');
    }
  });
});

describe('13: keys that must not reach a schema', () => {
  it('a duplicate dryRun is 400 naming it, and deletes nothing (conntrack)', async () => {
    const before = await countWithConntrack(netns());
    const reply = await raw(srv().url, 'POST', '/api/connections/delete', admin(), '{"filter":{"dport":"443"},"dryRun":true,"dryRun":false}');
    expect(reply.status).toBe(400);
    expect(json<ApiErrorBody>(reply).error).toMatchObject({ code: 'invalid_request', field: 'dryRun' });
    expect(await countWithConntrack(netns())).toBe(before);
  });

  it('?__proto__= is 400 naming the key, on every query route', async () => {
    for (const path of ['/api/connections', '/api/connections/summary', '/api/stats', '/api/history', '/api/audit']) {
      const reply = await raw(srv().url, 'GET', `${path}?__proto__=x`, admin());
      expect(reply.status, path).toBe(400);
      expect(json<ApiErrorBody>(reply).error.field).toBe('__proto__');
    }
  });
});
