// The route wrapper's defences, on a real auth store in a temporary directory: Cache-Control on every answer,
// keys that must not reach a schema, metrics labels from the finite route table, per-principal limits on feeds
// and exports, and live feeds that end when their credentials do.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { authService, safeNextPath, type AuthService } from '@/lib/auth';
import { MAX_OPEN, ROUTE_PATTERNS, route, routePattern, UNMATCHED_ROUTE } from '@/lib/console';
import { parseStrictJson } from '@/lib/console/json';
import { apiLatency } from '@/lib/observability';

const repoRoot = resolve(__dirname, '../..');
let dir: string;
let service: AuthService;
let adminToken: string;
let viewerToken: string;
const previousDir = process.env.CONNTRACK_DATA_DIR;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ctc-route-unit-'));
  process.env.CONNTRACK_DATA_DIR = dir;
  service = authService();
  await service.users.add({ name: 'admin', role: 'admin', password: 'long-enough-pw' });
  await service.users.add({ name: 'watcher', role: 'viewer', password: 'long-enough-pw' });
  adminToken = service.tokens.create({ name: 'script', role: 'admin', createdBy: 'test' }).secret;
  viewerToken = service.tokens.create({ name: 'viewer-script', role: 'viewer', createdBy: 'test' }).secret;
});

afterAll(() => {
  if (previousDir === undefined) delete process.env.CONNTRACK_DATA_DIR;
  else process.env.CONNTRACK_DATA_DIR = previousDir;
  rmSync(dir, { recursive: true, force: true });
});

const context = { params: Promise.resolve({}) };
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const get = (path: string, headers: Record<string, string> = bearer(adminToken)) => new Request(`http://console.test${path}`, { headers });
const post = (path: string, body: string) => new Request(`http://console.test${path}`, { method: 'POST', headers: { ...bearer(adminToken), 'content-type': 'application/json' }, body });

const echoQuery = route({ permission: 'read', source: 'query', schema: z.strictObject({ limit: z.string().optional() }), handler: async ({ input }) => input });
const echoBody = route({
  permission: 'read',
  source: 'body',
  schema: z.strictObject({ dryRun: z.boolean().default(false), filter: z.strictObject({ src: z.string() }).optional(), ids: z.array(z.number()).optional() }),
  handler: async ({ input }) => input,
});

describe('every API answer carries Cache-Control: no-store', () => {
  it('successes, errors and bodies that set other headers', async () => {
    const answers = [
      await echoQuery(get('/api/x?limit=1'), context),
      await echoQuery(get('/api/x?nope=1'), context),
      await echoQuery(get('/api/x', {}), context),
      await echoQuery(get('/api/x', bearer('ctc_unknown')), context),
      await route({ permission: 'read', source: 'query', schema: z.strictObject({}), handler: async () => new Response('text', { headers: { 'content-type': 'text/plain' } }) })(get('/api/x'), context),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 400, 401, 401, 200]);
    for (const answer of answers) expect(answer.headers.get('cache-control')).toBe('no-store');
  });
});

describe('keys that must not reach a schema', () => {
  it('?__proto__= (and constructor, prototype) is refused with 400 naming the key', async () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const answer = await echoQuery(get(`/api/x?${key}=x`), context);
      expect(answer.status).toBe(400);
      expect(((await answer.json()) as { error: { field: string } }).error.field).toBe(key);
    }
  });

  it('a key given twice in a JSON body is refused with 400 naming it, at any depth; nothing runs', async () => {
    const cases: [string, string][] = [
      ['{"dryRun":true,"dryRun":false}', 'dryRun'],
      ['{"filter":{"src":"10.0.0.1","src":"10.0.0.2"}}', 'filter.src'],
      ['{"ids":[1,2],"filter":{"src":"a"},"ids":[3]}', 'ids'],
      ['{"__proto__":{"dryRun":false}}', '__proto__'],
      ['{"filter":{"constructor":"x"}}', 'filter.constructor'],
    ];
    for (const [body, field] of cases) {
      const answer = await echoBody(post('/api/x', body), context);
      expect(answer.status, body).toBe(400);
      expect(((await answer.json()) as { error: { field: string; message: string } }).error).toMatchObject({ field });
    }
  });

  it('keeps what is legal: the same key in sibling objects, escaped quotes and braces inside strings', () => {
    expect(parseStrictJson('[{"a":1},{"a":2}]')).toEqual([{ a: 1 }, { a: 2 }]);
    expect(parseStrictJson('{"a":"x\\",\\"a\\":{","b":{"a":[1,{"a":2}]}}')).toEqual({ a: 'x","a":{', b: { a: [1, { a: 2 }] } });
    expect(() => parseStrictJson('{"a":1,"b":{"c":1},"b":2}')).toThrow('b');
  });
});

describe('metrics labels', () => {
  function routeFiles(d: string): string[] {
    return readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? routeFiles(join(d, e.name)) : e.name === 'route.ts' ? [join(d, e.name)] : []));
  }

  it('the route table names exactly the app directory\'s routes', () => {
    const app = join(repoRoot, 'app');
    const found = routeFiles(app).map((f) => '/' + relative(app, f).replace(/\/?route\.ts$/, '').replace(/\[([^\]]+)\]/g, ':$1'));
    expect([...ROUTE_PATTERNS].sort()).toEqual(found.sort());
  });

  it('500 random paths add no label sets beyond the table and "unmatched"', async () => {
    const handler = route({ permission: 'read', source: 'query', schema: z.strictObject({}), handler: async () => ({}) });
    for (let i = 0; i < 500; i++) {
      const path = i % 3 === 0 ? `/api/connections/${Math.random().toString(36).slice(2)}` : i % 3 === 1 ? `/api/connections/${i}x/status` : `/api/${Math.random().toString(36).slice(2)}/deep/path`;
      await handler(get(path, {}), context);
    }
    const routes = new Set((await apiLatency().get()).values.map((v) => String(v.labels.route)));
    expect(routes.size).toBeLessThanOrEqual(3);
    for (const label of routes) expect([...ROUTE_PATTERNS, UNMATCHED_ROUTE]).toContain(label);
    expect(routePattern('/api/connections/summary')).toBe('/api/connections/summary');
    expect(routePattern('/api/connections/123')).toBe('/api/connections/:id');
    expect(routePattern('/api/nothing')).toBe(UNMATCHED_ROUTE);
  });
});

/** A stream that never ends by itself (a live feed), and whether it was cancelled. */
function endless(): { response: Response; cancelled: () => boolean } {
  let cancelled = false;
  let timer: NodeJS.Timeout | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      timer = setInterval(() => controller.enqueue(new TextEncoder().encode(': tick\n\n')), 200);
    },
    cancel() {
      cancelled = true;
      clearInterval(timer);
    },
  });
  return { response: new Response(body, { headers: { 'content-type': 'text/event-stream' } }), cancelled: () => cancelled };
}

async function readUntilEnd(response: Response, ms: number): Promise<{ ended: boolean; text: string }> {
  const reader = response.body?.getReader();
  if (!reader) throw new Error('no body');
  const deadline = Date.now() + ms;
  let text = '';
  while (Date.now() < deadline) {
    const chunk = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), deadline - Date.now()))]);
    if (chunk === null) break;
    if (chunk.done) return { ended: true, text };
    text += new TextDecoder().decode(chunk.value);
  }
  await reader.cancel();
  return { ended: false, text };
}

describe('per-principal limits', () => {
  const feeds: { cancelled: () => boolean }[] = [];
  const feed = route({
    permission: 'read',
    source: 'query',
    limit: 'feed',
    schema: z.strictObject({}),
    handler: async () => {
      const stream = endless();
      feeds.push(stream);
      return stream.response;
    },
  });

  it(`at most ${MAX_OPEN.feed} live feeds per principal; one more is 429 with Retry-After; a closed one frees its slot`, async () => {
    const open = await Promise.all(Array.from({ length: MAX_OPEN.feed }, () => feed(get('/api/connections/live', bearer(viewerToken)), context)));
    expect(open.map((r) => r.status)).toEqual(Array(MAX_OPEN.feed).fill(200));
    const refused = await feed(get('/api/connections/live', bearer(viewerToken)), context);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('too_many_open');
    // Another principal has its own slots.
    const other = await feed(get('/api/connections/live', bearer(adminToken)), context);
    expect(other.status).toBe(200);
    await other.body?.cancel();
    // The client goes away: the inner stream is cancelled and the slot is free again.
    await open[0].body?.cancel();
    expect(feeds[0].cancelled()).toBe(true);
    const again = await feed(get('/api/connections/live', bearer(viewerToken)), context);
    expect(again.status).toBe(200);
    for (const r of [again, ...open.slice(1)]) await r.body?.cancel();
  });

  it(`at most ${MAX_OPEN.export} exports per principal; a finished one frees its slot`, async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const exporter = route({
      permission: 'read',
      source: 'query',
      limit: 'export',
      schema: z.strictObject({}),
      handler: async () =>
        new Response(
          new ReadableStream<Uint8Array>({
            async pull(controller) {
              await gate;
              controller.enqueue(new TextEncoder().encode('a,b\r\n'));
              controller.close();
            },
          }),
        ),
    });
    const running = await Promise.all([exporter(get('/api/connections/export'), context), exporter(get('/api/connections/export'), context)]);
    expect((await exporter(get('/api/connections/export'), context)).status).toBe(429);
    release();
    expect(await Promise.all(running.map((r) => r.text()))).toEqual(['a,b\r\n', 'a,b\r\n']);
    expect((await exporter(get('/api/connections/export'), context)).status).toBe(200);
  });
});

describe('a live feed ends when its credentials do', () => {
  const feed = route({ permission: 'read', source: 'query', limit: 'feed', schema: z.strictObject({}), handler: async () => endless().response });

  async function session(name = 'watcher'): Promise<{ cookie: string; idHash: string }> {
    const user = service.users.find(name);
    if (!user) throw new Error('no user');
    const { id } = service.sessions.create(user.id, '127.0.0.1');
    const resolved = service.sessions.resolve(id);
    if (!resolved) throw new Error('no session');
    return { cookie: `ctc_session=${id}`, idHash: resolved.idHash };
  }

  it('logout, password change, token revocation, session expiry: each feed ends within 5 s with an "ended" event; a valid one goes on', async () => {
    const [loggedOut, changed, expiring] = [await session(), await session(), await session('admin')];
    const revocable = service.tokens.create({ name: 'revocable', role: 'viewer', createdBy: 'test' });
    const streams = {
      logout: await feed(get('/api/connections/live', { cookie: loggedOut.cookie }), context),
      password: await feed(get('/api/connections/live', { cookie: changed.cookie }), context),
      token: await feed(get('/api/connections/live', bearer(revocable.secret)), context),
      expiry: await feed(get('/api/connections/live', { cookie: expiring.cookie }), context),
    };
    const valid = await feed(get('/api/connections/live', bearer(adminToken)), context);
    for (const r of [...Object.values(streams), valid]) expect(r.status).toBe(200);
    service.sessions.end(loggedOut.idHash);
    service.tokens.revoke('revocable');
    await service.users.setPassword('watcher', 'another-long-password');
    // Unused for longer than the idle lifetime (what the clock would do in 30 minutes).
    service.db.prepare('UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?').run(Date.now() - service.config.sessionIdleMs - 1, expiring.idHash);
    const results = await Promise.all([...Object.values(streams).map((r) => readUntilEnd(r, 7000)), readUntilEnd(valid, 6000)]);
    for (const result of results.slice(0, 4)) {
      expect(result.ended).toBe(true);
      expect(result.text).toContain('event: ended');
    }
    expect(results[4].ended).toBe(false);
  }, 30_000);
});

describe('where a login may send the browser', () => {
  it.each([
    ['/\t/example.org/', '/'],
    ['//example.org/', '/'],
    ['/\\example.org', '/'],
    ['/..//example.org', '/'],
    ['https://example.org/', '/'],
    ['javascript:alert(1)', '/'],
    ['/a\r\nSet-Cookie: x=1', '/aSet-Cookie:%20x=1'],
    ['/\u00fc\u20ac', '/%C3%BC%E2%82%AC'],
    ['/audit?action=login', '/audit?action=login'],
    ['/history#top', '/history#top'],
  ])('%j -> %j', (next, expected) => {
    expect(safeNextPath(next)).toBe(expected);
  });
});
