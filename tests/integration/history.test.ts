// Connection history against the lab and the real server: real TCP/UDP flows through the lab router end with the
// right cause and counters; an administrator's delete and flush are told apart from other deletes; clear selected /
// clear all remove exactly those rows; a tiny event buffer under a burst reports lost events and recording goes on;
// the history survives a restart of the server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiConnectionStatus, ApiHistoryEntry, ApiHistoryPage, Cause } from '@/lib/console';
import { createLab, generateTraffic, type GeneratedFlow, type Lab } from '@/lib/lab';
import { createToken, createUser } from '../support/auth';
import { deleteWithConntrack, insertWithConntrack, runConntrack } from '../support/oracle';
import { startServer, type TestServer } from '../support/server';
import { SHORT_TIMEOUTS } from '../support/short-timeouts';
import { loadBulk } from './conntrack-setup';

let lab: Lab | undefined;
let server: TestServer | undefined;
let dataDir: string;
let token: string;

function router(): string {
  if (!lab) throw new Error('no lab');
  return lab.namespaces.router;
}

async function start(env: Record<string, string> = {}): Promise<TestServer> {
  server = await startServer({ netns: router(), env: { CONNTRACK_DATA_DIR: dataDir, ...env } });
  return server;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T; text: string }> {
  if (!server) throw new Error('no server');
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: ((response.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : undefined) as T, text };
}

async function history(query: string): Promise<ApiHistoryPage> {
  const reply = await call<ApiHistoryPage>('GET', `/api/history?${query.includes('limit=') ? '' : 'limit=1000&'}${query}`);
  expect(reply.status, reply.text).toBe(200);
  return reply.body;
}

/**
 * Waits until the history has rows for `query`. Expired entries are reaped by the kernel's garbage collector or by
 * a dump, so a snapshot refresh now and then makes the wait short.
 */
async function waitForRows(query: string, count = 1, timeoutMs = 60_000): Promise<ApiHistoryEntry[]> {
  const until = Date.now() + timeoutMs;
  for (let round = 0; ; round++) {
    const page = await history(query);
    if (page.items.length >= count) return page.items;
    if (Date.now() > until) throw new Error(`timed out waiting for ${count} history rows matching ${query}: ${JSON.stringify(page.items)}`);
    if (round % 4 === 3) await call('POST', '/api/connections/refresh');
    await new Promise((r) => setTimeout(r, 500));
  }
}

const flowQuery = (flow: GeneratedFlow) => new URLSearchParams({ src: flow.original.src, dst: flow.original.dst, sport: String(flow.original.sport), dport: String(flow.original.dport) }).toString();

beforeAll(async () => {
  lab = await createLab();
  await lab.exec('router', 'sysctl', ['-q', '-w', ...SHORT_TIMEOUTS]);
  dataDir = mkdtempSync(join(tmpdir(), 'ctc-history-'));
  await createUser(dataDir, { name: 'admin', role: 'admin' });
  token = await createToken(dataDir, { name: 'history-tests', role: 'admin' });
  await start();
});

afterAll(async () => {
  await server?.stop();
  await lab?.destroy();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('recording', () => {
  it('turns nf_conntrack_events on and reports the recorder running', async () => {
    const page = await history('');
    expect(page.status.recorder?.running, JSON.stringify(page.status)).toBe(true);
    expect(page.status.recorder?.eventsSysctl.value).toBe(1);
    // Rows go through the writer's worker thread in the built server too (not the main-thread fallback).
    expect(page.status.recorder?.writer).toBe('thread');
    const sysctl = await lab!.exec('router', 'sysctl', ['-n', 'net.netfilter.nf_conntrack_events']);
    expect(sysctl.stdout.trim()).toBe('1');
  });

  it('client FIN, server FIN, RST and a UDP timeout each end with their cause and counters', async () => {
    const traffic = await generateTraffic(lab!, { kinds: ['tcp-client-closed', 'tcp-server-closed', 'tcp-reset', 'udp-replied'] });
    await traffic.stop();
    const expected: Record<string, Cause> = { 'tcp-client-closed': 'client', 'tcp-server-closed': 'server', 'tcp-reset': 'reset', 'udp-replied': 'timeout' };
    expect(traffic.flows.length).toBe(8);
    for (const flow of traffic.flows) {
      const [row] = await waitForRows(flowQuery(flow));
      const what = `${flow.kind} ${flow.family}: ${JSON.stringify(row)}`;
      expect(row.cause, what).toBe(expected[flow.kind]);
      expect(row.family).toBe(flow.family);
      expect(row.protocol).toBe(flow.protocol);
      // The lab router has accounting and timestamps on: both directions carried packets, and time passed.
      expect(row.counters?.original.packets, what).toBeGreaterThan(0);
      expect(row.counters?.reply.packets, what).toBeGreaterThan(0);
      expect(row.counters?.original.bytes, what).toBeGreaterThan(0);
      expect(row.startedAt, what).toBeDefined();
      expect(Date.parse(row.endedAt)).toBeGreaterThanOrEqual(Date.parse(row.startedAt ?? ''));
      expect(row.durationMs).toBe(Date.parse(row.endedAt) - Date.parse(row.startedAt ?? ''));
      if (flow.protocol === 'tcp') {
        expect(row.closedBy, what).toBe(flow.kind === 'tcp-reset' ? undefined : expected[flow.kind]);
        expect(row.state, what).toBe(flow.kind === 'tcp-reset' ? 'CLOSE' : 'TIME_WAIT');
      }
      // SNAT to the uplink: the reply goes to the router's address.
      expect(row.nat.snat).not.toBeNull();
    }
  });

  it('a delete through the API is "admin", conntrack -D is "deleted", a flush through the API is "flush"', async () => {
    const entry = (sport: number, src = '10.77.0.1') => ({ protocol: 'tcp', src, dst: '198.51.100.9', sport, dport: 443, state: 'ESTABLISHED', timeout: 600 });
    await insertWithConntrack(router(), entry(7001));
    await insertWithConntrack(router(), entry(7002));
    await insertWithConntrack(router(), { ...entry(7003), src: 'fd00:77::1', dst: '2001:db8:77::9' });
    expect((await call('POST', '/api/connections/refresh')).status).toBe(200);
    const listed = await call<{ items: { id: number }[] }>('GET', '/api/connections?src=10.77.0.1&sport=7001');
    const id = listed.body.items[0].id;
    expect((await call<ApiConnectionStatus>('GET', `/api/connections/${id}/status`)).body.state).toBe('active');

    const deleted = await call('POST', '/api/connections/delete', { ids: [id] });
    expect(deleted.status, deleted.text).toBe(200);
    const [admin] = await waitForRows('src=10.77.0.1&sport=7001');
    expect(admin).toMatchObject({ id, cause: 'admin', state: 'ESTABLISHED' });

    expect((await deleteWithConntrack(router(), ['-p', 'tcp', '-s', '10.77.0.1', '--sport', '7002'])).deleted).toBe(1);
    const [other] = await waitForRows('src=10.77.0.1&sport=7002');
    expect(other.cause).toBe('deleted');

    expect((await call('POST', '/api/connections/flush', { family: 'ipv6' })).status).toBe(200);
    const [flushed] = await waitForRows('src=fd00:77::1&sport=7003');
    expect(flushed.cause).toBe('flush');

    // The id is found either way: ended now, with its cause.
    const status = await call<ApiConnectionStatus>('GET', `/api/connections/${id}/status`);
    expect(status.body).toMatchObject({ id, state: 'ended', entry: { id, cause: 'admin' } });
    expect((await call<ApiConnectionStatus>('GET', '/api/connections/4294967295/status')).body.state).toBe('unknown');
  });

  it('filters by cause, time range and the shared vocabulary; exports CSV', async () => {
    const all = await history('');
    const admin = await history('cause=admin');
    expect(admin.items.map((e) => e.cause)).toEqual(admin.items.map(() => 'admin'));
    expect(admin.matched).toBeGreaterThan(0);
    const udp = await history('protocol=udp&cause=timeout');
    expect(udp.matched).toBe(2);
    const future = await history(`from=${new Date(Date.now() + 60_000).toISOString()}`);
    expect(future.matched).toBe(0);
    const v6 = await history('family=ipv6');
    expect(v6.items.every((e) => e.family === 'ipv6')).toBe(true);
    expect(v6.matched).toBeLessThan(all.matched);
    expect((await call('GET', '/api/history?cause=nope')).status).toBe(400);
    const csv = await call('GET', '/api/history/export?format=csv&cause=admin');
    expect(csv.status).toBe(200);
    expect(csv.text.split('\r\n')[0]).toMatch(/^key,id,family,protocol,/);
    expect(csv.text.trim().split('\r\n')).toHaveLength(admin.matched + 1);
  });

  it('clear selected removes exactly those rows; a viewer may not', async () => {
    const before = await history('');
    const keys = before.items.slice(0, 2).map((e) => e.key);
    const reply = await call<{ deleted: number }>('POST', '/api/history/delete', { keys });
    expect(reply.body.deleted).toBe(2);
    const after = await history('');
    expect(after.matched).toBe(before.matched - 2);
    expect(after.items.map((e) => e.key).sort()).toEqual(before.items.map((e) => e.key).filter((k) => !keys.includes(k)).sort());

    const viewerToken = await createToken(dataDir, { name: 'viewer', role: 'viewer' });
    const denied = await fetch(`${server!.url}/api/history/clear`, { method: 'POST', headers: { Authorization: `Bearer ${viewerToken}`, 'Content-Type': 'application/json' }, body: '{}' });
    expect(denied.status).toBe(403);
    const audit = await call<{ items: { action: string; affected: number }[] }>('GET', '/api/audit?action=history.clear');
    expect(audit.body.items.map((e) => e.affected)).toContain(2);
  });
});

describe('restart and overflow', () => {
  it('keeps the history across a restart, reports lost events under a burst with a tiny buffer, and keeps recording', async () => {
    const before = await history('');
    expect(before.matched).toBeGreaterThan(0);
    await server!.stop();
    await start({ CONNTRACK_EVENTS_RCVBUF: '4096' });
    const after = await history('');
    expect(after.items.map((e) => e.key)).toEqual(before.items.map((e) => e.key));
    expect(after.status.loss.overflows).toBe(0);

    await loadBulk(router(), 2000);
    expect((await runConntrack(router(), ['-F'])).exitCode).toBe(0);
    const until = Date.now() + 20_000;
    let status = after.status;
    while (!(status.loss.overflows > 0 && (status.loss.lostEvents ?? 0) > 0)) {
      if (Date.now() > until) throw new Error(`no loss reported: ${JSON.stringify(status)}`);
      await new Promise((r) => setTimeout(r, 300));
      status = (await history('limit=1')).status;
    }
    expect(status.recorder?.running).toBe(true);
    expect(status.loss.since).not.toBeNull();

    // Still recording afterwards.
    await insertWithConntrack(router(), { protocol: 'udp', src: '10.78.0.1', dst: '10.78.0.2', sport: 999, dport: 53, timeout: 600 });
    await deleteWithConntrack(router(), ['-p', 'udp', '-s', '10.78.0.1']);
    const [later] = await waitForRows('src=10.78.0.1');
    expect(later.cause).toBe('deleted');

    // Clear all: everything goes, audited with the count.
    const total = (await history('limit=1')).matched;
    const cleared = await call<{ deleted: number }>('POST', '/api/history/clear', {});
    expect(cleared.body.deleted).toBe(total);
    const empty = await history('');
    expect(empty.matched).toBe(0);
    expect(empty.status.loss.overflows).toBe(0);
    const audit = await call<{ items: { action: string; affected: number }[] }>('GET', '/api/audit?action=history.clear');
    expect(audit.body.items.map((e) => e.affected)).toContain(total);
  });
});
