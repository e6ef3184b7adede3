// Running the console as an operator does: the real start script with its defaults, /metrics as Prometheus
// reads it (checked against conntrack -C), health (including a database that stops taking writes), JSON logs
// with request ids and no secrets.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countWithConntrack, createTestNamespace, loadWithConntrack, runCommand, type InsertSpec, type TestNamespace } from '../support/oracle';
import { dashboardQueries, metricsOf } from '../support/grafana';
import { parsePrometheus, sampleValue } from '../support/prometheus';
import { ensureBuild, startServer, type TestServer } from '../support/server';

const repoRoot = resolve(__dirname, '../..');
const METRICS_TOKEN = 'metrics-token-for-the-ops-test-0123456789';
/** The history recorder registers its check when it runs; until then it is reported as not configured. */
const RECORDER = /^(ok|not_configured)$/;

function entries(n: number): InsertSpec[] {
  return Array.from({ length: n }, (_, i) => ({
    family: 'ipv4' as const,
    protocol: i % 3 === 0 ? ('udp' as const) : ('tcp' as const),
    src: `10.7.${Math.floor(i / 200)}.${(i % 200) + 1}`,
    dst: '192.0.2.80',
    sport: 20000 + i,
    dport: 443,
    timeout: 600,
    ...(i % 3 === 0 ? {} : { state: i % 3 === 1 ? ('ESTABLISHED' as const) : ('TIME_WAIT' as const) }),
  }));
}

describe('the start script with its defaults', () => {
  let ns: TestNamespace | undefined;
  const work = mkdtempSync(join(tmpdir(), 'ctc-defaults-'));
  afterAll(async () => {
    await ns?.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  it('serves on 127.0.0.1:3000 with ./data, answers health, and stops with exit 0 on SIGTERM', async () => {
    await ensureBuild();
    ns = await createTestNamespace('ctc-ops');
    await ns.exec(['ip', 'link', 'set', 'lo', 'up']);
    const env = { ...process.env };
    for (const key of Object.keys(env)) if (key.startsWith('CONNTRACK_') || key === 'PORT' || key === 'HOSTNAME') delete env[key];
    Object.assign(env, { NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1', TSX_TSCONFIG_PATH: join(repoRoot, 'tsconfig.json') });
    // A fresh namespace has its own loopback, so the default port is free; the working directory holds ./data.
    const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '--import', pathToFileURL(join(repoRoot, 'node_modules/tsx/dist/loader.mjs')).href, join(repoRoot, 'scripts/serve.ts')], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      let reply = '';
      for (let i = 0; i < 300 && !reply.startsWith('HTTP/1.1'); i++) {
        await new Promise((r) => setTimeout(r, 200));
        reply = (await runCommand(['ip', 'netns', 'exec', ns.name, 'curl', '-sS', '-i', 'http://127.0.0.1:3000/api/health'])).stdout;
      }
      expect(reply, output).toMatch(/^HTTP\/1.1 (200|503)/);
      expect(reply).toMatch(/\r\nx-request-id: [0-9a-f-]{36}\r\n/i);
      // The history recorder's own check (when it is there) is its business; ours must pass.
      const health = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)) as { status: string; checks: Record<string, string> };
      expect(health.checks).toMatchObject({ database: 'ok', netlink: 'ok' });
      expect(reply.startsWith('HTTP/1.1 200')).toBe(health.status === 'ok');
      expect(Object.entries(health.checks).every(([name, status]) => status !== 'fail' || name === 'recorder')).toBe(true);
      expect(output).toContain(`"dataDir":"${join(work, 'data')}"`);
      expect(output).toContain('"url":"http://127.0.0.1:3000"');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exit, output).toBe(0);
    const lines = output.trim().split('\n');
    expect(JSON.parse(lines.at(-1) ?? '{}')).toMatchObject({ msg: 'stopped', level: 'info' });
  }, 600_000);
});

describe('metrics, health and logs', () => {
  let ns: TestNamespace | undefined;
  let server: TestServer | undefined;

  beforeAll(async () => {
    ns = await createTestNamespace('ctc-ops');
    await loadWithConntrack(ns.name, entries(600));
    server = await startServer({ netns: ns.name, env: { CONNTRACK_METRICS_TOKEN: METRICS_TOKEN, CONNTRACK_METRICS_COUNT_INTERVAL_SECONDS: '1' } });
  });
  afterAll(async () => {
    await server?.stop();
    await ns?.dispose();
  });

  const url = (path: string) => `${server?.url ?? ''}${path}`;
  const scrape = async (headers: Record<string, string> = { Authorization: `Bearer ${METRICS_TOKEN}` }) => fetch(url('/metrics'), { headers, redirect: 'manual' });

  it('refuses /metrics without a token (401, no redirect to /login) and takes the metrics token or a viewer-or-better API token', async () => {
    const anonymous = await scrape({});
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('location')).toBeNull();
    expect((await scrape({ Authorization: 'Bearer wrong-token-wrong-token' })).status).toBe(401);
    expect((await scrape()).status).toBe(200);
    expect((await scrape(server?.authHeaders())).status).toBe(200);
  });

  it('is valid Prometheus exposition whose entry count is conntrack -C, with the table and console metrics', async () => {
    if (!ns) throw new Error('no namespace');
    // The background count runs every second: wait for one that saw the entries.
    let families = parsePrometheus(await (await scrape()).text());
    for (let i = 0; i < 50 && sampleValue(families, 'conntrack_entries_by_protocol', { family: 'ipv4', protocol: 'tcp' }) !== 400; i++) {
      await new Promise((r) => setTimeout(r, 200));
      families = parsePrometheus(await (await scrape()).text());
    }
    const response = await scrape();
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    families = parsePrometheus(await response.text());
    const expected = await countWithConntrack(ns.name);
    expect(expected).toBe(600);
    expect(sampleValue(families, 'conntrack_entries')).toBe(expected);
    const limit = sampleValue(families, 'conntrack_entries_limit') ?? 0;
    expect(limit).toBeGreaterThan(0);
    expect(sampleValue(families, 'conntrack_fill_ratio')).toBeCloseTo(expected / limit, 9);
    expect(sampleValue(families, 'conntrack_console_netlink_up')).toBe(1);
    expect(sampleValue(families, 'conntrack_console_table_alarm')).toBe(0);
    for (const name of ['insert_failed', 'drop', 'early_drop', 'invalid', 'insert', 'found', 'error', 'search_restart', 'clash_resolve', 'chain_too_long']) {
      const family = families.get(`conntrack_${name}_total`);
      expect(family?.type, name).toBe('counter');
      expect(family?.samples.length, name).toBeGreaterThan(0);
      expect(family?.samples.every((s) => /^\d+$/.test(s.labels.cpu ?? '')), name).toBe(true);
    }
    expect(sampleValue(families, 'conntrack_entries_by_protocol', { family: 'ipv4', protocol: 'tcp' })).toBe(400);
    expect(sampleValue(families, 'conntrack_entries_by_protocol', { family: 'ipv4', protocol: 'udp' })).toBe(200);
    expect(sampleValue(families, 'conntrack_entries_by_tcp_state', { state: 'ESTABLISHED' })).toBe(200);
    expect(sampleValue(families, 'conntrack_entries_by_tcp_state', { state: 'TIME_WAIT' })).toBe(200);
    expect(families.get('conntrack_console_http_request_duration_seconds')?.type).toBe('histogram');
    expect(families.has('process_resident_memory_bytes')).toBe(true);
  });

  it('writes each background count into the column buffer the count before left (reused, not a new one per count)', async () => {
    const reused = (text: string) => sampleValue(parsePrometheus(text), 'conntrack_console_snapshot_column_buffers_total', { source: 'reused' }) ?? 0;
    // A count every second and no refresh meanwhile: only the counts can reuse a buffer here.
    const before = reused(await (await scrape()).text());
    let now = before;
    for (let i = 0; i < 50 && now < before + 2; i++) {
      await new Promise((r) => setTimeout(r, 200));
      now = reused(await (await scrape()).text());
    }
    expect(now).toBeGreaterThanOrEqual(before + 2);
  });

  it('counts deletes by kind and times API requests by route pattern', async () => {
    if (!ns) throw new Error('no namespace');
    const headers = { ...server?.authHeaders(), 'Content-Type': 'application/json' };
    const one = await fetch(url('/api/connections?limit=1'), { headers });
    const id = ((await one.json()) as { items: { id: number }[] }).items[0].id;
    expect((await fetch(url(`/api/connections/${id}`), { method: 'DELETE', headers })).status).toBe(200);
    const filtered = await fetch(url('/api/connections/delete'), { method: 'POST', headers, body: JSON.stringify({ filter: { protocol: 'udp' } }) });
    const outcome = (await filtered.json()) as { deleted: number };
    expect(outcome.deleted).toBeGreaterThan(150);
    const families = parsePrometheus(await (await scrape()).text());
    expect(sampleValue(families, 'conntrack_console_deleted_entries_total', { kind: 'id' })).toBe(1);
    expect(sampleValue(families, 'conntrack_console_deleted_entries_total', { kind: 'filter' })).toBe(outcome.deleted);
    expect(sampleValue(families, 'conntrack_console_delete_requests_total', { kind: 'filter', outcome: 'ok' })).toBe(1);
    expect(sampleValue(families, 'conntrack_console_http_request_duration_seconds_count', { route: '/api/connections/:id', method: 'DELETE', status: '200' })).toBe(1);
    expect(sampleValue(families, 'conntrack_console_http_request_duration_seconds_count', { route: '/api/connections/delete', method: 'POST', status: '200' })).toBe(1);
    expect(sampleValue(families, 'conntrack_entries')).toBe(await countWithConntrack(ns.name));
  });

  it('exports every metric the Grafana dashboard and the Prometheus rules query (after a delete; besides Prometheus\'s own up)', async () => {
    const families = parsePrometheus(await (await scrape()).text());
    const rules = readFileSync(resolve(__dirname, '../../deploy/prometheus/conntrack-console.rules.yml'), 'utf8');
    const exprs = [...dashboardQueries().map((q) => q.expr), ...[...rules.matchAll(/^\s+expr: (.+)$/gm)].map((m) => m[1])];
    const names = new Set(exprs.flatMap(metricsOf).filter((name) => name !== 'up'));
    expect(names.size).toBeGreaterThan(10);
    // A histogram's series are its name plus _bucket / _sum / _count.
    const exported = (name: string) => families.has(name) || families.has(name.replace(/_(bucket|sum|count)$/, ''));
    expect([...names].filter((name) => !exported(name))).toEqual([]);
  });

  it('answers health: statuses only without credentials, details with them', async () => {
    const anonymous = await fetch(url('/api/health'));
    expect(anonymous.status).toBe(200);
    expect(await anonymous.json()).toEqual({ status: 'ok', checks: { database: 'ok', netlink: 'ok', recorder: expect.stringMatching(RECORDER) }, alarm: 'none' });
    expect(anonymous.headers.get('cache-control')).toBe('no-store');
    // The server entry answers it before Next (lib/process/direct.ts): Next's answers vary on its router headers.
    expect(anonymous.headers.get('vary')).toBeNull();
    for (const [name, value] of [['x-content-type-options', 'nosniff'], ['x-frame-options', 'DENY'], ['referrer-policy', 'no-referrer']]) expect(anonymous.headers.get(name)).toBe(value);
    expect(anonymous.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(anonymous.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    // Still the route's own checks: an unknown query key is named; HEAD (handed to Next) answers the same status.
    const unknown = await fetch(url('/api/health?verbose=1'));
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ error: { field: 'verbose' } });
    expect((await fetch(url('/api/health'), { method: 'HEAD' })).status).toBe(200);
    const detailed = await fetch(url('/api/health'), { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
    const body = (await detailed.json()) as { checks: Record<string, { status: string; detail?: string }> };
    expect(body.checks.netlink).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^CT_GET_STATS answered: \d+ entries$/) });
    expect(body.checks.database).toMatchObject({ status: 'ok', detail: `the audit log in ${server?.dataDir} takes writes` });
  });

  it('reports the database as failed (503) while it cannot be written, and recovers', async () => {
    if (!server) throw new Error('no server');
    // Root ignores file modes, so chmod proves nothing. What does stop root: the immutable attribute on the WAL
    // file SQLite appends to (writes through the already open descriptor fail with EPERM -> SQLITE_IOERR_WRITE).
    // Never on the -shm file: SQLite maps it, and a write to an immutable mapping is SIGBUS.
    const wal = join(server.dataDir, 'console.db-wal');
    const set = await runCommand(['chattr', '+i', wal]);
    if (set.exitCode !== 0) {
      console.warn(`skipped: chattr +i is not supported here (${set.stderr.trim()})`);
      return;
    }
    try {
      const failing = await fetch(url('/api/health'));
      expect(failing.status).toBe(503);
      expect(await failing.json()).toMatchObject({ status: 'fail', checks: { database: 'fail', netlink: 'ok' } });
      const detailed = (await (await fetch(url('/api/health'), { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } })).json()) as { checks: Record<string, { status: string; detail?: string }> };
      expect(detailed.checks.database).toMatchObject({ status: 'fail', detail: expect.stringContaining('SQLITE_IOERR') });
    } finally {
      await runCommand(['chattr', '-i', wal]);
    }
    // Writers that failed meanwhile (the recorder's buffered rows) recover on their own retry: poll for it.
    let after = await fetch(url('/api/health'), { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
    for (let i = 0; i < 50 && after.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 200));
      after = await fetch(url('/api/health'), { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
    }
    expect(after.status, await after.text()).toBe(200);
  });

  it('logs JSON lines with the request id it returns, and never a password, token or cookie', async () => {
    if (!server) throw new Error('no server');
    const login = await fetch(url('/api/auth/login'), { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: server.url }, body: JSON.stringify({ name: 'admin', password: server.admin.password }) });
    expect(login.status).toBe(200);
    const cookies = login.headers.getSetCookie().map((c) => c.split(';')[0].split('=')[1]);
    const wrong = await fetch(url('/api/auth/login'), { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: server.url }, body: JSON.stringify({ name: 'admin', password: 'not-the-password-1234' }) });
    expect(wrong.status).toBe(401);
    const me = await fetch(url('/api/auth/me'), { headers: { Cookie: login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ') } });
    const id = me.headers.get('x-request-id') ?? '';
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await new Promise((r) => setTimeout(r, 200));
    const output = server.output();
    const lines = output.split('\n').filter((l) => l.startsWith('{'));
    const requestLine = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.requestId === id);
    expect(requestLine).toMatchObject({ level: 'info', msg: 'request', method: 'GET', path: '/api/auth/me', status: 200, service: 'conntrack-console' });
    for (const secret of [server.admin.password, 'not-the-password-1234', server.admin.token, METRICS_TOKEN, ...cookies]) expect(output).not.toContain(secret);
  });
});
