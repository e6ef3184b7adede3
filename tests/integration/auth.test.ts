// Authentication, authorisation, CSRF, throttling, sessions, tokens and the audit log against the real server
// (scripts/serve.ts on the production build) and the real kernel: a fresh namespace filled with `conntrack -I`,
// with conntrack(8) as the oracle for what a refused request did not delete and what an audited one did.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiAuditEntry, ApiErrorBody } from '@/lib/console';
import type { AuditEntry, Me } from '@/lib/auth';
import { createToken, createUser, type Credentials } from '../support/auth';
import { countWithConntrack, createTestNamespace, flushWithConntrack, listWithConntrack, loadWithConntrack, type InsertSpec, type TestNamespace } from '../support/oracle';
import { startServer, type TestServer } from '../support/server';

const repoRoot = resolve(__dirname, '../..');
const IDLE_SECONDS = 3;
const MAX_SECONDS = 8;

let ns: TestNamespace | undefined;
let server: TestServer | undefined;
let viewer: Credentials;
let viewerToken: string;

const srv = (): TestServer => server ?? (() => { throw new Error('no server'); })();
const netns = (): string => ns?.name ?? (() => { throw new Error('no namespace'); })();
const count = () => countWithConntrack(netns());
/** conntrack -L ARGS (IPv4: the tests' entries are all IPv4). */
const list = (args: string[]) => listWithConntrack({ netns: netns(), args, icmpDetails: false });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function entries(n: number, prefix = '10.7'): InsertSpec[] {
  return Array.from({ length: n }, (_, i) => ({ protocol: 'tcp', src: `${prefix}.0.${i + 1}`, dst: '192.0.2.1', sport: 20000 + i, dport: 443, state: 'ESTABLISHED', timeout: 3000 }));
}

interface Reply<T> {
  status: number;
  body: T;
  headers: Headers;
}

async function request<T>(base: string, method: string, path: string, options: { headers?: Record<string, string>; body?: unknown; raw?: string } = {}): Promise<Reply<T>> {
  const hasBody = options.body !== undefined || options.raw !== undefined;
  const response = await fetch(`${base}${path}`, {
    method,
    redirect: 'manual',
    headers: { ...(hasBody ? { 'content-type': 'application/json' } : {}), ...options.headers },
    body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
  });
  const text = await response.text();
  const body = (response.headers.get('content-type') ?? '').includes('json') ? (JSON.parse(text) as T) : (text as T);
  return { status: response.status, body, headers: response.headers };
}

/** A browser-like client: keeps the cookies a login sets and sends the same-origin Origin and CSRF header. */
class Browser {
  cookies = new Map<string, string>();
  constructor(readonly base: string) {}

  get csrf(): string {
    return this.cookies.get('ctc_csrf') ?? '';
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    return { origin: this.base, 'x-csrf-token': this.csrf, ...(cookie ? { cookie } : {}), ...extra };
  }

  async send<T>(method: string, path: string, body?: unknown, extra?: Record<string, string>): Promise<Reply<T>> {
    const reply = await request<T>(this.base, method, path, { headers: this.headers(extra), body });
    for (const line of reply.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const [name, value] = pair.split('=');
      if (attributes.some((a) => a.trim() === 'Max-Age=0')) this.cookies.delete(name.trim());
      else this.cookies.set(name.trim(), value.trim());
    }
    return reply;
  }

  async login(credentials: Pick<Credentials, 'name' | 'password'>): Promise<Reply<{ me: Me }>> {
    return this.send<{ me: Me }>('POST', '/api/auth/login', { name: credentials.name, password: credentials.password });
  }
}

async function loggedIn(credentials: Credentials, base = srv().url): Promise<Browser> {
  const browser = new Browser(base);
  const reply = await browser.login(credentials);
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return browser;
}

/**
 * Runs the CLI without blocking the event loop (spawnSync would: the server then closes the test's idle
 * keep-alive connections while fetch still counts on them, and the next request fails with "other side closed").
 */
function ctconsole(args: string[], input?: string, dataDir = srv().dataDir): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin/ctconsole.mjs'), '--data-dir', dataDir, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolveRun({ status, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

async function audit(query: string): Promise<ApiAuditEntry[]> {
  const reply = await request<{ items: ApiAuditEntry[] }>(srv().url, 'GET', `/api/audit?${query}`, { headers: srv().authHeaders() });
  expect(reply.status).toBe(200);
  return reply.body.items;
}

// ---- every API route, found in the app directory ----

interface Endpoint {
  method: string;
  path: string;
  permission: string;
}

function routeFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? routeFiles(join(dir, e.name)) : e.name === 'route.ts' ? [join(dir, e.name)] : []));
}

/** Each exported method of each app/api/**\/route.ts with the permission its route() call names. */
function endpoints(): Endpoint[] {
  const found: Endpoint[] = [];
  for (const file of routeFiles(join(repoRoot, 'app/api'))) {
    const path = '/' + relative(join(repoRoot, 'app'), file).replace(/\/route\.ts$/, '').replace(/\[[^\]]+\]/g, '1');
    const source = readFileSync(file, 'utf8');
    const blocks = source.split(/export const /).slice(1);
    for (const block of blocks) {
      const method = /^(GET|POST|PUT|PATCH|DELETE)\b/.exec(block)?.[1];
      const permission = /permission: '([^']+)'/.exec(block)?.[1];
      if (!method || !permission) throw new Error(`${file}: an export without a method or a permission: ${block.slice(0, 80)}`);
      found.push({ method, path, permission });
    }
  }
  return found;
}

const ENDPOINTS = endpoints();

beforeAll(async () => {
  ns = await createTestNamespace('ctc-auth');
  await loadWithConntrack(ns.name, entries(30));
  server = await startServer({
    netns: ns.name,
    env: { CONNTRACK_SESSION_IDLE_SECONDS: String(IDLE_SECONDS), CONNTRACK_SESSION_MAX_SECONDS: String(MAX_SECONDS) },
  });
  viewer = await createUser(server.dataDir, { name: 'viewer', role: 'viewer' });
  viewerToken = await createToken(server.dataDir, { name: 'viewer-script', role: 'viewer' });
});

afterAll(async () => {
  try {
    await server?.stop();
  } finally {
    await ns?.dispose();
  }
});

describe('every API route', () => {
  it('is found in the app directory, with its permission', () => {
    expect(ENDPOINTS.length).toBeGreaterThanOrEqual(13);
    expect(ENDPOINTS).toContainEqual({ method: 'POST', path: '/api/connections/flush', permission: 'flush' });
    expect(ENDPOINTS).toContainEqual({ method: 'DELETE', path: '/api/connections/1', permission: 'delete' });
  });

  it.each(ENDPOINTS.filter((e) => e.permission !== 'anyone'))('$method $path answers 401 without credentials, and deletes nothing', async ({ method, path }) => {
    const before = await count();
    const variants: Record<string, string>[] = [{}, { authorization: 'Bearer ctc_not-a-token' }, { cookie: 'ctc_session=forged' }, { authorization: 'Basic YWRtaW46YWRtaW4=' }];
    for (const headers of variants) {
      const reply = await request<ApiErrorBody>(srv().url, method, path, { headers, body: method === 'POST' ? {} : undefined });
      expect(reply.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(401);
      expect(reply.body.error.code).toBe('unauthenticated');
    }
    expect(await count()).toBe(before);
  });

  it.each(ENDPOINTS.filter((e) => e.permission !== 'anyone'))('$method $path ($permission): a viewer may read, nothing else', async ({ method, path, permission }) => {
    const before = await count();
    const session = await loggedIn(viewer);
    const byToken = await request<ApiErrorBody>(srv().url, method, path, { headers: { authorization: `Bearer ${viewerToken}` }, body: method === 'POST' ? {} : undefined });
    const bySession = await session.send<ApiErrorBody>(method, path, method === 'POST' ? {} : undefined);
    for (const reply of [byToken, bySession]) {
      if (permission === 'read') expect([401, 403]).not.toContain(reply.status);
      else {
        expect(reply.status).toBe(403);
        expect(reply.body.error.code).toBe('forbidden');
        expect(reply.body.error.message).toContain('viewer');
      }
    }
    expect(await count()).toBe(before);
  });

  it('a viewer lists the table (token and session)', async () => {
    const total = await count();
    const byToken = await request<{ snapshot: { total: number } }>(srv().url, 'GET', '/api/connections?limit=5', { headers: { authorization: `Bearer ${viewerToken}` } });
    expect(byToken.status).toBe(200);
    expect(byToken.body.snapshot.total).toBe(total);
    const session = await loggedIn(viewer);
    const me = await session.send<{ me: Me }>('GET', '/api/auth/me');
    expect(me.body.me).toMatchObject({ name: 'viewer', role: 'viewer', kind: 'session', permissions: ['read'] });
    expect((await session.send('GET', '/api/connections?limit=5')).status).toBe(200);
  });
});

describe('sessions and cookies', () => {
  it('login sets an HttpOnly SameSite=Strict session cookie and a readable CSRF cookie; nothing secret in the body', async () => {
    const reply = await request<{ me: Me }>(srv().url, 'POST', '/api/auth/login', { body: { name: srv().admin.name, password: srv().admin.password } });
    expect(reply.status).toBe(200);
    const cookies = reply.headers.getSetCookie();
    const session = cookies.find((c) => c.startsWith('ctc_session='));
    const csrf = cookies.find((c) => c.startsWith('ctc_csrf='));
    expect(session).toMatch(/; HttpOnly/);
    expect(session).toMatch(/SameSite=Strict/);
    expect(session).not.toMatch(/Secure/); // plain HTTP here; see the TLS test for Secure
    expect(csrf).not.toMatch(/HttpOnly/);
    expect(JSON.stringify(reply.body)).not.toContain(session?.split(/[=;]/)[1]);
    expect(reply.body.me).toMatchObject({ name: 'admin', role: 'admin', kind: 'session' });
  });

  it('logout ends the session: the old cookie no longer works', async () => {
    const browser = await loggedIn(srv().admin);
    const saved = new Map(browser.cookies);
    expect((await browser.send('GET', '/api/auth/me')).status).toBe(200);
    const out = await browser.send('POST', '/api/auth/logout');
    expect(out.status).toBe(200);
    expect(browser.cookies.size).toBe(0);
    browser.cookies = saved;
    expect((await browser.send('GET', '/api/auth/me')).status).toBe(401);
  });

  it('a session unused for the idle time ends', async () => {
    const browser = await loggedIn(viewer);
    await sleep((IDLE_SECONDS + 0.5) * 1000);
    const reply = await browser.send<ApiErrorBody>('GET', '/api/auth/me');
    expect(reply.status).toBe(401);
    expect(reply.body.error.message).toContain('log in');
  });

  it('a busy session still ends at the absolute lifetime', async () => {
    const browser = await loggedIn(viewer);
    const started = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - started < (MAX_SECONDS + 3) * 1000) {
      status = (await browser.send('GET', '/api/auth/me')).status;
      if (status === 200) await sleep(500);
    }
    const lived = (Date.now() - started) / 1000;
    expect(status).toBe(401);
    expect(lived).toBeGreaterThan(MAX_SECONDS - 1);
    expect(lived).toBeLessThan(MAX_SECONDS + 2);
  });

  it('a password change (ctconsole user passwd) ends the user\'s sessions', async () => {
    const user = await createUser(srv().dataDir, { name: 'changer', role: 'viewer' });
    const browser = await loggedIn(user);
    const changed = await ctconsole(['user', 'passwd', 'changer'], 'a-brand-new-password\n');
    expect(changed.status, changed.stderr).toBe(0);
    expect(changed.stdout).toContain('1 session(s) ended');
    expect((await browser.send('GET', '/api/auth/me')).status).toBe(401);
    expect((await new Browser(srv().url).login(user)).status).toBe(401);
    await loggedIn({ ...user, password: 'a-brand-new-password' });
  });
});

describe('API tokens', () => {
  it('work until revoked (ctconsole token revoke), and their last use is recorded', async () => {
    const secret = await createToken(srv().dataDir, { name: 'hotplug', role: 'admin' });
    const headers = { authorization: `Bearer ${secret}` };
    expect((await request(srv().url, 'GET', '/api/stats', { headers })).status).toBe(200);
    const listed = await ctconsole(['token', 'list']);
    expect(listed.stdout).toMatch(/hotplug\s+admin\s+\S+\s+test\s+\d{4}-\d\d-\d\dT/);
    expect(listed.stdout).not.toContain(secret);
    const revoked = await ctconsole(['token', 'revoke', 'hotplug']);
    expect(revoked.status, revoked.stderr).toBe(0);
    const after = await request<ApiErrorBody>(srv().url, 'GET', '/api/stats', { headers });
    expect(after.status).toBe(401);
    expect(after.body.error.message).toContain('revoked');
    expect((await ctconsole(['token', 'list'])).stdout).toMatch(/hotplug.*revoked/);
  });

  it('a token request needs no CSRF token (scripts have no cookies to steal)', async () => {
    const reply = await request(srv().url, 'POST', '/api/connections/refresh', { headers: srv().authHeaders(), body: {} });
    expect(reply.status).toBe(200);
  });
});

describe('CSRF', () => {
  it('a cross-origin POST with a valid session cookie and CSRF token is refused and deletes nothing', async () => {
    const admin = await loggedIn(srv().admin);
    const before = await count();
    expect(before).toBeGreaterThan(0);
    for (const origin of ['http://evil.example', 'null', `${srv().url}.evil.example`]) {
      const reply = await admin.send<ApiErrorBody>('POST', '/api/connections/flush', {}, { origin });
      expect(reply.status, origin).toBe(403);
      expect(reply.body.error.code).toBe('csrf_rejected');
    }
    const deleteOne = await admin.send<ApiErrorBody>('POST', '/api/connections/delete', { filter: { protocol: 'tcp' } }, { origin: 'http://evil.example' });
    expect(deleteOne.status).toBe(403);
    expect(await count()).toBe(before);
  });

  it('a same-origin POST without the CSRF header (or with a wrong one, or no Origin) is refused', async () => {
    const admin = await loggedIn(srv().admin);
    const before = await count();
    for (const extra of [{ 'x-csrf-token': '' }, { 'x-csrf-token': 'x'.repeat(43) }]) {
      const reply = await admin.send<ApiErrorBody>('POST', '/api/connections/flush', {}, extra);
      expect(reply.status).toBe(403);
      expect(reply.body.error.message).toContain('x-csrf-token');
    }
    const noOrigin = await request<ApiErrorBody>(srv().url, 'POST', '/api/connections/flush', { headers: { cookie: admin.headers().cookie, 'x-csrf-token': admin.csrf }, body: {} });
    expect(noOrigin.status).toBe(403);
    expect(await count()).toBe(before);
  });

  it('the same request from the console page (Origin + CSRF header) is carried out', async () => {
    const admin = await loggedIn(srv().admin);
    await admin.send('POST', '/api/connections/refresh', {});
    const [target] = await list(['-p', 'tcp', '-s', '10.7.0.1']);
    const before = await count();
    const reply = await admin.send('DELETE', `/api/connections/${target.id}`);
    expect(reply.status).toBe(200);
    expect(await count()).toBe(before - 1);
  });
});

describe('the audit log', () => {
  it('records deletes, delete-matching and flush with who, where, what and how many (checked with conntrack)', async () => {
    const admin = await loggedIn(srv().admin);
    await flushWithConntrack(netns());
    await loadWithConntrack(netns(), [...entries(12, '10.8'), ...entries(7, '10.9')]);
    await admin.send('POST', '/api/connections/refresh', {});

    // One entry by id, as the admin session.
    const [one] = await list(['-s', '10.8.0.1']);
    expect((await admin.send('DELETE', `/api/connections/${one.id}`)).status).toBe(200);

    // By ids, as the admin token.
    const ids = (await list(['-s', '10.8.0.0/29'])).map((e) => e.id);
    let before = await count();
    const byIds = await request<{ deleted: number }>(srv().url, 'POST', '/api/connections/delete', { headers: srv().authHeaders(), body: { ids } });
    expect(byIds.status).toBe(200);
    const deletedByIds = before - (await count());

    // Matching a filter: the MultiWAN-style cleanup.
    const matchingIds = (await list(['-s', '10.9.0.0/24'])).map((e) => e.id);
    before = await count();
    const matching = await admin.send<{ deleted: number }>('POST', '/api/connections/delete', { filter: { src: '10.9.0.0/24' } });
    expect(matching.status).toBe(200);
    const deletedByFilter = before - (await count());
    expect(deletedByFilter).toBe(7);

    // A dry run deletes nothing and is not an action to audit.
    expect((await admin.send('POST', '/api/connections/delete', { filter: { protocol: 'tcp' }, dryRun: true })).status).toBe(200);

    before = await count();
    const flush = await admin.send<{ deleted: number }>('POST', '/api/connections/flush', {});
    expect(flush.status).toBe(200);
    expect(await count()).toBe(0);

    const [deleteOne] = await audit('action=connection.delete&limit=1');
    expect(deleteOne).toMatchObject({ actor: 'admin', actorKind: 'user', role: 'admin', source: '127.0.0.1', target: `connection ${one.id}`, affected: 1, outcome: 'ok' });
    const [deleteIds] = await audit('action=connections.delete&limit=1');
    expect(deleteIds).toMatchObject({ actor: 'tests', actorKind: 'token', affected: deletedByIds, outcome: 'ok' });
    expect(deleteIds.details).toMatchObject({ ids, idCount: ids.length });
    const [deleteMatching] = await audit('action=connections.delete-matching&limit=1');
    expect(deleteMatching).toMatchObject({ actor: 'admin', affected: deletedByFilter, outcome: 'ok' });
    expect(deleteMatching.details).toMatchObject({ filter: { src: '10.9.0.0/24' }, matched: 7 });
    // What went, in the entry and in its words: the filter as the URL writes it, the counts, each tuple.
    const went = deleteMatching.details?.went as { id: number; original: { src: string; sport: number; dst: string; dport: number } }[];
    expect(went.map((ref) => ref.id).sort()).toEqual([...matchingIds].sort());
    expect(deleteMatching.description).toContain('Delete the connections matching src=10.9.0.0/24.');
    expect(deleteMatching.description).toContain('7 matched, 7 deleted');
    for (const ref of went) expect(deleteMatching.description).toContain(`tcp ${ref.original.src}:${ref.original.sport} -> ${ref.original.dst}:${ref.original.dport} (id ${ref.id})`);
    expect(deleteIds.details).toMatchObject({ deletedIds: expect.arrayContaining(ids), goneIds: [] });
    expect(deleteIds.description).toContain(`Went: ${ids.length} ids`);
    const [flushed] = await audit('action=connections.flush&limit=1');
    expect(flushed).toMatchObject({ affected: before, details: { family: 'all' } });
    expect(Date.now() - Date.parse(flushed.at)).toBeLessThan(60_000);
    // Only the real deletes: the dry run left no entry.
    expect((await audit('action=connections.delete-matching')).length).toBe(1);
  });

  it('records logins, failed logins, logouts and the CLI\'s user and token changes', async () => {
    const browser = await loggedIn(viewer);
    await browser.send('POST', '/api/auth/logout');
    await new Browser(srv().url).login({ name: 'nobody-such', password: 'wrong-password' });
    expect((await audit('action=login&actor=viewer&limit=1'))[0]).toMatchObject({ outcome: 'ok', source: '127.0.0.1' });
    expect((await audit('action=logout&actor=viewer&limit=1'))[0]).toMatchObject({ outcome: 'ok', affected: 1 });
    const [failed] = await audit('action=login.failed&actor=nobody-such');
    expect(failed).toMatchObject({ actorKind: 'anonymous', outcome: 'failed', source: '127.0.0.1' });
    expect(JSON.stringify(failed)).not.toContain('wrong-password');
    expect((await audit('action=user.passwd&limit=1'))[0]).toMatchObject({ actorKind: 'cli', source: 'cli', target: 'user changer', affected: 1 });
    expect((await audit('action=token.revoke&limit=1'))[0]).toMatchObject({ actorKind: 'cli', target: 'token hotplug' });
  });

  it('GET /api/audit filters, and is for admins only', async () => {
    expect((await request(srv().url, 'GET', '/api/audit', { headers: { authorization: `Bearer ${viewerToken}` } })).status).toBe(403);
    const all = await request<{ matched: number; items: AuditEntry[] }>(srv().url, 'GET', '/api/audit?limit=1000', { headers: srv().authHeaders() });
    expect(all.body.matched).toBe(all.body.items.length);
    const future = await request<{ matched: number }>(srv().url, 'GET', '/api/audit?since=2999-01-01T00:00:00Z', { headers: srv().authHeaders() });
    expect(future.body.matched).toBe(0);
    const bad = await request<ApiErrorBody>(srv().url, 'GET', '/api/audit?action=everything', { headers: srv().authHeaders() });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('action');
  });
});

describe('login input', () => {
  const cases: { name: string; body?: unknown; raw?: string; field: string }[] = [
    { name: 'empty name', body: { name: '', password: 'x' }, field: 'name' },
    { name: 'empty password', body: { name: 'admin', password: '' }, field: 'password' },
    { name: 'huge name', body: { name: 'a'.repeat(5000), password: 'x' }, field: 'name' },
    { name: 'huge password', body: { name: 'admin', password: 'p'.repeat(2000) }, field: 'password' },
    { name: 'name not text', body: { name: 42, password: 'x' }, field: 'name' },
    { name: 'missing password', body: { name: 'admin' }, field: 'password' },
    { name: 'unknown field', body: { name: 'admin', password: 'x', role: 'admin' }, field: 'role' },
    { name: 'body too large', raw: JSON.stringify({ name: 'admin', password: 'x'.repeat(100_000) }), field: 'body' },
    { name: 'not JSON', raw: 'name=admin&password=x', field: 'body' },
  ];
  it.each(cases)('$name: 400 naming the field', async ({ body, raw, field }) => {
    const reply = await request<ApiErrorBody>(srv().url, 'POST', '/api/auth/login', { body, raw });
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatchObject({ code: 'invalid_request', field });
    expect(reply.body.error.message).toContain(field);
  });
});

describe('pages', () => {
  it('redirect to /login without a session, and carry a nonce CSP and the other security headers', async () => {
    const root = await request<string>(srv().url, 'GET', '/');
    expect(root.status).toBe(303);
    expect(root.headers.get('location')).toMatch(/\/login$/);
    const audited = await request<string>(srv().url, 'GET', '/audit?action=login');
    expect(audited.headers.get('location')).toContain('/login?next=%2Faudit%3Faction%3Dlogin');
    const login = await request<string>(srv().url, 'GET', '/login');
    expect(login.status).toBe(200);
    const csp = login.headers.get('content-security-policy') ?? '';
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
    expect(login.headers.get('x-content-type-options')).toBe('nosniff');
    expect(login.headers.get('referrer-policy')).toBe('no-referrer');
    // Every script tag carries this response's nonce.
    const scripts = [...login.body.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    expect(scripts.length).toBeGreaterThan(0);
    for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`);
  });

  it('a viewer may not open the audit page; an admin may', async () => {
    const v = await loggedIn(viewer);
    expect((await request(srv().url, 'GET', '/audit', { headers: { cookie: v.headers().cookie } })).status).toBe(403);
    const a = await loggedIn(srv().admin);
    const page = await request<string>(srv().url, 'GET', '/audit?action=login', { headers: { cookie: a.headers().cookie } });
    expect(page.status).toBe(200);
    expect(page.body).toContain('Audit log');
  });
});

describe('first start, without users', () => {
  it('the API answers 503 and the login page shows the command that creates the first administrator', async () => {
    const empty = await startServer({ netns: netns(), noUsers: true });
    try {
      const reply = await request<ApiErrorBody>(empty.url, 'GET', '/api/stats');
      expect(reply.status).toBe(503);
      expect(reply.body.error.code).toBe('setup_required');
      expect(reply.body.error.command).toBe(`cd ${repoRoot} && CONNTRACK_DATA_DIR=${empty.dataDir} npx ctconsole user add admin --role admin`);
      expect((await request(empty.url, 'POST', '/api/auth/login', { body: { name: 'admin', password: 'whatever-it-is' } })).status).toBe(503);
      expect((await request(empty.url, 'GET', '/')).headers.get('location')).toMatch(/\/login$/);
      const page = await request<string>(empty.url, 'GET', '/login');
      expect(page.body).toContain('npx ctconsole user add admin --role admin');
      // The command works, and then the console serves.
      const made = await ctconsole(['user', 'add', 'admin', '--role', 'admin'], 'first-admin-password\n', empty.dataDir);
      expect(made.status, made.stderr).toBe(0);
      const browser = new Browser(empty.url);
      expect((await browser.login({ name: 'admin', password: 'first-admin-password' })).status).toBe(200);
      expect((await browser.send('GET', '/api/stats')).status).toBe(200);
    } finally {
      await empty.stop();
    }
  });
});

describe('login throttling', () => {
  // Its own server: the failures below lock addresses and names. It trusts 127.0.0.1 as a reverse proxy so
  // each case can come from its own client address (X-Forwarded-For).
  let guarded: TestServer | undefined;
  let user: Credentials;
  const g = (): TestServer => guarded ?? (() => { throw new Error('no server'); })();
  const attempt = (name: string, password: string, from: string) =>
    request<ApiErrorBody>(g().url, 'POST', '/api/auth/login', { headers: { 'x-forwarded-for': `203.0.113.250, ${from}` }, body: { name, password } });

  beforeAll(async () => {
    guarded = await startServer({
      netns: netns(),
      env: { CONNTRACK_LOGIN_FREE_FAILURES: '3', CONNTRACK_LOGIN_ADDRESS_FREE_FAILURES: '6', CONNTRACK_LOGIN_BACKOFF_SECONDS: '2', CONNTRACK_TRUSTED_PROXIES: '127.0.0.1' },
    });
    user = await createUser(guarded.dataDir, { name: 'operator', role: 'admin' });
    await createUser(guarded.dataDir, { name: 'timer', role: 'viewer' });
  });
  afterAll(async () => {
    await guarded?.stop();
  });

  it('a wrong password and an unknown user get the same answer, in similar time', async () => {
    const times: Record<string, number[]> = { known: [], unknown: [] };
    const bodies = new Set<string>();
    for (let i = 0; i < 4; i++) {
      for (const [kind, name] of [['known', 'timer'], ['unknown', 'no-such-user']] as const) {
        const started = performance.now();
        const reply = await attempt(name, 'not-the-password', `198.51.100.${10 + i}`);
        times[kind].push(performance.now() - started);
        expect(reply.status).toBe(401);
        bodies.add(JSON.stringify(reply.body));
      }
    }
    expect([...bodies]).toEqual([JSON.stringify({ error: { code: 'unauthenticated', message: 'wrong user name or password' } })]);
    // Both hash a password with scrypt: neither is an order of magnitude faster. The fastest of each kind is
    // compared (a loaded machine only ever adds time, so the minimum is the cost of the work itself).
    const fastest = (xs: number[]) => Math.min(...xs);
    expect(fastest(times.unknown)).toBeGreaterThan(fastest(times.known) / 3);
    expect(fastest(times.known)).toBeGreaterThan(fastest(times.unknown) / 3);
  });

  it('repeated failures for one name from one address lock that pair; the right password there waits too, elsewhere it works', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await attempt('operator', `wrong-${i}`, '198.51.100.20')).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    const locked = await attempt('operator', user.password, '198.51.100.20');
    expect(locked.status).toBe(429);
    expect(locked.body.error.code).toBe('too_many_attempts');
    const retryAfter = Number(locked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    // Anyone can fail "operator": that never locks its owner out of the web UI, it only slows the checks down.
    expect((await attempt('operator', user.password, '198.51.100.21')).status).toBe(200);
    // After the wait the right password works from the locked address too.
    await sleep(retryAfter * 1000 + 200);
    expect((await attempt('operator', user.password, '198.51.100.20')).status).toBe(200);
  });

  it('the lock doubles with each further failure', async () => {
    const from = '198.51.100.40';
    for (let i = 0; i < 3; i++) await attempt('ghost', 'wrong', from);
    const first = Number((await attempt('ghost', 'wrong', from)).headers.get('retry-after'));
    await sleep(first * 1000 + 200);
    expect((await attempt('ghost', 'wrong', from)).status).toBe(401);
    const second = Number((await attempt('ghost', 'wrong', from)).headers.get('retry-after'));
    expect(first).toBeLessThanOrEqual(2);
    expect(second).toBeGreaterThanOrEqual(3);
  });

  it('repeated failures from one address lock that address for every name; its own successes do not reset it', async () => {
    const from = '198.51.100.77';
    for (let i = 0; i < 6; i++) {
      expect((await attempt(`name-${i}`, 'wrong', from)).status).toBe(401);
      if (i === 2) expect((await attempt('operator', user.password, from)).status).toBe(200);
    }
    expect((await attempt('operator', user.password, from)).status).toBe(429);
    expect((await attempt('operator', user.password, '198.51.100.78')).status).toBe(200);
  });
});
