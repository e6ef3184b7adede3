// A history with no blind spots, against the lab and the real server. Entries opened before the server starts while
// no listener exists may never report their end: with nf_conntrack_events=0 at their creation they get no event
// cache and send no DESTROY on any kernel; with 2 (the default) kernels before 6.x send none either (6.18 does send
// the DESTROY). The recorder notes them at start and finds them gone in later dumps (cause unobserved), records the
// ones the console deletes as admin with the user, and the ones opened after the start with their exact causes;
// every ended connection once. Then every
// sort key in both orders through the API, and the NAT lookup ("who used EXTERNAL:PORT at TIME?") against flows whose
// external port the oracle (conntrack -L) reports, with its bad-input answers.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiHistoryEntry, ApiHistoryPage, ApiNatLookup, Cause } from '@/lib/console';
import { parseAddress } from '@/lib/netlink/address';
import { HISTORY_SORT_KEYS, type HistorySortKey } from '@/lib/history';
import { createLab, generateTraffic, type GeneratedFlow, type GeneratedTraffic, type Lab } from '@/lib/lab';
import { createToken, createUser } from '../support/auth';
import { connectionLineErrors, parseLines } from '../support/connection-lines';
import { deleteWithConntrack, insertWithConntrack, listWithConntrack } from '../support/oracle';
import { parsePrometheus, sampleValue } from '../support/prometheus';
import { startServer, type TestServer } from '../support/server';
import { SHORT_TIMEOUTS } from '../support/short-timeouts';

const RECONCILE_SECONDS = 2;
const TOKEN_NAME = 'complete-tests';

let lab: Lab | undefined;
let server: TestServer | undefined;
let dataDir: string;
let token: string;
let before: GeneratedTraffic | undefined;
let beforeAuto: GeneratedTraffic | undefined;

const router = (): string => lab!.namespaces.router;
const linesPath = (): string => join(dataDir, 'connections.jsonl');
/** A dnsmasq lease file the NAT lookup test writes once it knows the LAN hosts (absent until then: no names). */
const leasesPath = (): string => join(dataDir, 'dnsmasq.leases');

async function call<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: T; text: string; type: string }> {
  const response = await fetch(`${server!.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { Authorization: `Bearer ${token}`, ...(init.body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  return { status: response.status, body: (type.includes('json') && text ? JSON.parse(text) : undefined) as T, text, type };
}

async function history(query: string): Promise<ApiHistoryPage> {
  const reply = await call<ApiHistoryPage>(`/api/history?limit=1000&${query}`);
  expect(reply.status, reply.text).toBe(200);
  return reply.body;
}

/** Polls until `query` has at least `count` rows (the reconcile interval and the kernel's reaping take seconds). */
async function waitForRows(query: string, count = 1, timeoutMs = 60_000): Promise<ApiHistoryEntry[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const page = await history(query);
    if (page.items.length >= count) return page.items;
    if (Date.now() > until) throw new Error(`timed out waiting for ${count} rows matching ${query}: ${JSON.stringify(page.items)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const flowQuery = (flow: GeneratedFlow) => new URLSearchParams({ src: flow.original.src, dst: flow.original.dst, sport: String(flow.original.sport), dport: String(flow.original.dport) }).toString();
const inserted = (sport: number) => ({ protocol: 'tcp', src: '10.88.0.1', dst: '198.51.100.8', sport, dport: 443, state: 'ESTABLISHED', timeout: 600 });

beforeAll(async () => {
  lab = await createLab();
  // Events off while these are created: no event cache, so no DESTROY, ever. Open before the server starts: a TCP
  // connection its client will close, one entry the console will delete, one conntrack -D will remove.
  await lab.exec('router', 'sysctl', ['-q', '-w', ...SHORT_TIMEOUTS, 'net.netfilter.nf_conntrack_events=0']);
  before = await generateTraffic(lab, { kinds: ['tcp-established'], families: ['ipv4'] });
  await insertWithConntrack(router(), inserted(8101));
  await insertWithConntrack(router(), inserted(8102));
  // The kernel default, nobody listening: whether these report their end depends on the kernel.
  await lab.exec('router', 'sysctl', ['-q', '-w', 'net.netfilter.nf_conntrack_events=2']);
  beforeAuto = await generateTraffic(lab, { kinds: ['tcp-established'], families: ['ipv4'] });
  await insertWithConntrack(router(), inserted(8104));
  await insertWithConntrack(router(), inserted(8105));
  dataDir = mkdtempSync(join(tmpdir(), 'ctc-history-complete-'));
  await createUser(dataDir, { name: 'admin', role: 'admin' });
  token = await createToken(dataDir, { name: TOKEN_NAME, role: 'admin' });
  server = await startServer({ netns: router(), env: { CONNTRACK_DATA_DIR: dataDir, CONNTRACK_HISTORY_RECONCILE_SECONDS: String(RECONCILE_SECONDS), CONNTRACK_METRICS_COUNT_INTERVAL_SECONDS: '0', CONNTRACK_HISTORY_JSONL: linesPath(), CONNTRACK_NAME_FILES: `dnsmasq:${leasesPath()}` } });
  // A stale build is rebuilt first, which takes minutes on a busy machine.
}, 900_000);

afterAll(async () => {
  await before?.stop();
  await beforeAuto?.stop();
  await server?.stop();
  await lab?.destroy();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('a history with no blind spots', () => {
  it('notes the entries open at the start and says since when it records', async () => {
    const page = await history('');
    const recorder = page.status.recorder;
    expect(recorder?.running, JSON.stringify(page.status)).toBe(true);
    expect(recorder?.openAtStart).toBeGreaterThanOrEqual(6);
    expect(recorder?.eventsSysctl.value).toBe(1);
    expect(Date.parse(recorder?.startedAt ?? '')).toBeLessThanOrEqual(Date.now());
  });

  it("the background reconciles take their snapshots through the console's registry, each writing into the spare column buffer the one before left", async () => {
    const reused = async () => {
      const reply = await call<unknown>('/metrics');
      expect(reply.status, reply.text).toBe(200);
      return sampleValue(parsePrometheus(reply.text), 'conntrack_console_snapshot_column_buffers_total', { source: 'reused' }) ?? 0;
    };
    // The console's service exists once a page was asked for; no refresh (and no background count) after it.
    expect((await call('/api/connections?limit=1')).status).toBe(200);
    const before = await reused();
    let now = before;
    for (let i = 0; i < 60 && now < before + 2; i++) {
      await new Promise((r) => setTimeout(r, 250));
      now = await reused();
    }
    expect(now).toBeGreaterThanOrEqual(before + 2);
    expect((await history('')).status.recorder?.lastReconciledAt).toBeTruthy();
  });

  it('records entries open before the start: closed by the client and conntrack -D as unobserved, a console delete as admin with the user; each once', async () => {
    const [flow] = before!.flows;
    await before!.stop();
    const [closed] = await waitForRows(flowQuery(flow));
    expect(closed.cause, JSON.stringify(closed)).toBe('unobserved');
    expect(Date.parse(closed.endedAfter ?? '')).toBeLessThanOrEqual(Date.parse(closed.endedBefore ?? ''));
    expect(closed.endedAt).toBe(closed.endedBefore);
    // Its last known counters: the connection carried data both ways before the start.
    expect(closed.counters?.original.packets).toBeGreaterThan(0);
    expect(closed.counters?.reply.packets).toBeGreaterThan(0);

    expect((await call('/api/connections/refresh', { method: 'POST' })).status).toBe(200);
    const listed = await call<{ items: { id: number }[] }>('/api/connections?src=10.88.0.1&sport=8101');
    const id = listed.body.items[0].id;
    const deleted = await call(`/api/connections/${id}`, { method: 'DELETE' });
    expect(deleted.status, deleted.text).toBe(200);
    const [admin] = await waitForRows('src=10.88.0.1&sport=8101');
    expect(admin).toMatchObject({ id, cause: 'admin', deletedBy: TOKEN_NAME, state: 'ESTABLISHED' });

    expect((await deleteWithConntrack(router(), ['-p', 'tcp', '-s', '10.88.0.1', '--sport', '8102'])).deleted).toBe(1);
    const [other] = await waitForRows('src=10.88.0.1&sport=8102');
    expect(other.cause).toBe('unobserved');

    // With nf_conntrack_events=2 at their creation: the kernel's own cause when it reports the end, else unobserved.
    const [auto] = beforeAuto!.flows;
    await beforeAuto!.stop();
    const [autoClosed] = await waitForRows(flowQuery(auto));
    expect(['client', 'unobserved'], JSON.stringify(autoClosed)).toContain(autoClosed.cause);
    expect((await deleteWithConntrack(router(), ['-p', 'tcp', '-s', '10.88.0.1', '--sport', '8104'])).deleted).toBe(1);
    const [autoDeleted] = await waitForRows('src=10.88.0.1&sport=8104');
    expect(['deleted', 'unobserved'], JSON.stringify(autoDeleted)).toContain(autoDeleted.cause);
    // Deleted by the console: admin with the user whatever the kernel reports (the console knows what it deleted).
    const autoListed = await call<{ items: { id: number }[] }>('/api/connections?src=10.88.0.1&sport=8105');
    const autoId = autoListed.body.items[0].id;
    expect((await call(`/api/connections/${autoId}`, { method: 'DELETE' })).status).toBe(200);
    const [autoAdmin] = await waitForRows('src=10.88.0.1&sport=8105');
    expect(autoAdmin).toMatchObject({ id: autoId, cause: 'admin', deletedBy: TOKEN_NAME, state: 'ESTABLISHED' });

    // Two more reconcile rounds and grace periods later, still one row each.
    await new Promise((r) => setTimeout(r, (2 * RECONCILE_SECONDS + 4) * 1000));
    for (const query of [flowQuery(flow), flowQuery(auto), 'src=10.88.0.1&sport=8101', 'src=10.88.0.1&sport=8102', 'src=10.88.0.1&sport=8104', 'src=10.88.0.1&sport=8105']) {
      expect((await history(query)).matched, query).toBe(1);
    }
  });

  it('entries opened after the start keep their exact causes, each once', async () => {
    const traffic = await generateTraffic(lab!, { kinds: ['tcp-client-closed', 'tcp-server-closed', 'tcp-reset', 'udp-replied'], families: ['ipv4'] });
    await traffic.stop();
    await insertWithConntrack(router(), inserted(8103));
    expect((await deleteWithConntrack(router(), ['-p', 'tcp', '-s', '10.88.0.1', '--sport', '8103'])).deleted).toBe(1);
    const expected: Record<string, Cause> = { 'tcp-client-closed': 'client', 'tcp-server-closed': 'server', 'tcp-reset': 'reset', 'udp-replied': 'timeout' };
    for (const flow of traffic.flows) {
      const rows = await waitForRows(flowQuery(flow));
      expect(rows.map((row) => row.cause), `${flow.kind}: ${JSON.stringify(rows)}`).toEqual([expected[flow.kind]]);
    }
    const [deleted] = await waitForRows('src=10.88.0.1&sport=8103');
    expect(deleted.cause).toBe('deleted');
    await new Promise((r) => setTimeout(r, (RECONCILE_SECONDS + 4) * 1000));
    for (const flow of traffic.flows) expect((await history(flowQuery(flow))).matched).toBe(1);
    expect((await history('src=10.88.0.1&sport=8103')).matched).toBe(1);
  });
});

/** The value an API entry sorts by for each key (SQLite: NULL first ascending), to check the server's order. */
function sortValue(key: HistorySortKey, e: ApiHistoryEntry): string | number | null {
  const bytes = (address: string) => Buffer.from(parseAddress(address)?.bytes ?? []).toString('hex');
  switch (key) {
    case 'ended':
      return Date.parse(e.endedAt);
    case 'started':
      return e.startedAt ? Date.parse(e.startedAt) : null;
    case 'duration':
      return e.durationMs ?? null;
    case 'id':
      return e.id;
    case 'protocol':
      return e.protocolNumber;
    case 'state':
      return e.state ?? null;
    case 'cause':
      return e.cause;
    case 'src':
      return `${e.family}|${bytes(e.original.src)}`;
    case 'dst':
      return `${e.family}|${bytes(e.original.dst)}`;
    case 'external':
      return e.external ? `${bytes(e.external.address)}|${String(e.external.port ?? '').padStart(5, '0')}` : null;
    case 'bytes':
      return (e.counters?.original.bytes ?? 0) + (e.counters?.reply.bytes ?? 0);
    case 'packets':
      return (e.counters?.original.packets ?? 0) + (e.counters?.reply.packets ?? 0);
  }
}

describe('sorting through the API', () => {
  it('every sort key works in both orders', async () => {
    expect((await history('')).matched).toBeGreaterThanOrEqual(8);
    for (const sort of HISTORY_SORT_KEYS) {
      for (const order of ['asc', 'desc'] as const) {
        const page = await history(`sort=${sort}&order=${order}`);
        const values = page.items.map((e) => sortValue(sort, e));
        for (let i = 1; i < values.length; i++) {
          const [a, b] = order === 'asc' ? [values[i - 1], values[i]] : [values[i], values[i - 1]];
          const inOrder = a === null || (b !== null && a <= b);
          expect(inOrder, `${sort} ${order} at ${i}: ${String(values[i - 1])} then ${String(values[i])}`).toBe(true);
        }
      }
    }
  });
});

describe('NAT lookup', () => {
  it('names the LAN host that used an external address and port at an instant, open and ended, and exports it', async () => {
    const first = await generateTraffic(lab!, { kinds: ['tcp-established'], families: ['ipv4'] });
    const second = await generateTraffic(lab!, { kinds: ['tcp-established'], families: ['ipv4'] });
    const flows = [...first.flows, ...second.flows];
    // The oracle says which external address and port each flow left with (the reply-direction destination).
    const used = [];
    for (const flow of flows) {
      const [entry] = await listWithConntrack({ netns: router(), args: ['-p', 'tcp', '--orig-port-src', String(flow.original.sport), '-s', flow.original.src] });
      used.push({ flow, external: entry.reply.dst, port: entry.reply.dport! });
    }
    // Each LAN host gets a lease (name and MAC): the answer names the machine, not only its address.
    const hosts = [...new Set(flows.map((flow) => flow.original.src))];
    const nameOf = (address: string) => `lan-host-${hosts.indexOf(address) + 1}`;
    const macOf = (address: string) => `02:00:00:00:19:${String(hosts.indexOf(address) + 1).padStart(2, '0')}`;
    writeFileSync(leasesPath(), hosts.map((address) => `0 ${macOf(address)} ${address} ${nameOf(address)} *\n`).join(''));
    const openAt = new Date().toISOString();
    for (const { flow, external, port } of used) {
      const path = `/api/history/nat-lookup?${new URLSearchParams({ address: external, port: String(port), at: openAt, window: '60' })}`;
      // The lease file is read again within a second of changing.
      const until = Date.now() + 30_000;
      let reply = await call<ApiNatLookup>(path);
      while (reply.body?.items?.some((m) => !m.lanName) && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 250));
        reply = await call<ApiNatLookup>(path);
      }
      expect(reply.status, reply.text).toBe(200);
      const open = reply.body.items.filter((m) => m.source === 'table');
      expect(open.map((m) => m.lan), reply.text).toEqual([{ address: flow.original.src, port: flow.original.sport }]);
      expect(open[0]).toMatchObject({ lanName: nameOf(flow.original.src), lanMac: macOf(flow.original.src) });
      expect(reply.body.names[flow.original.src]?.name).toBe(nameOf(flow.original.src));
    }
    await first.stop();
    await second.stop();
    for (const { flow } of used) await waitForRows(flowQuery(flow));
    for (const { flow, external, port } of used) {
      const query = new URLSearchParams({ address: external, port: String(port), at: openAt.replace('Z', '+00:00'), window: '5' });
      const reply = await call<ApiNatLookup>(`/api/history/nat-lookup?${query}`);
      const ended = reply.body.items.filter((m) => m.source === 'history');
      expect(ended.map((m) => m.lan), reply.text).toEqual([{ address: flow.original.src, port: flow.original.sport }]);
      expect(ended[0]).toMatchObject({ external: { address: external, port }, cause: 'client', original: { src: flow.original.src, sport: flow.original.sport }, lanName: nameOf(flow.original.src) });
      expect(ended[0].counters?.original.bytes).toBeGreaterThan(0);
      const csv = await call<never>(`/api/history/nat-lookup?${query}&format=csv`);
      expect(csv.type).toContain('text/csv');
      const [header, line] = csv.text.split('\r\n');
      expect(header.split(',').slice(0, 5)).toEqual(['source', 'lan', 'external', 'lanName', 'lanMac']);
      expect(line.split(',').slice(0, 5)).toEqual(['history', `${flow.original.src}:${flow.original.sport}`, `${external}:${port}`, nameOf(flow.original.src), macOf(flow.original.src)]);
      const json = await call<unknown[]>(`/api/history/nat-lookup?${query}&format=json`);
      expect(json.body).toHaveLength(1);
    }
  });

  it('refuses bad input with 400 naming the field', async () => {
    const cases: [string, string][] = [
      ['address=203.0.113.1&at=2026-03-01T14:05:00', 'at'],
      ['address=203.0.113.1', 'at'],
      ['address=nope&at=2026-03-01T14:05:00Z', 'address'],
      ['address=203.0.113.0/24&at=2026-03-01T14:05:00Z', 'address'],
      ['address=203.0.113.1&port=70000&at=2026-03-01T14:05:00Z', 'port'],
      ['address=203.0.113.1&at=2026-03-01T14:05:00Z&window=86401', 'window'],
      ['address=203.0.113.1&at=2026-03-01T14:05:00Z&protocol=nope', 'protocol'],
    ];
    for (const [query, field] of cases) {
      const reply = await call<{ error: { code: string; field: string; message: string } }>(`/api/history/nat-lookup?${query}`);
      expect(reply.status, `${query}: ${reply.text}`).toBe(400);
      expect(reply.body.error.field, query).toBe(field);
    }
  });
});

describe('JSON lines', () => {
  it('every ended connection went out once as a line valid against the schema', async () => {
    const rows = (await history('')).items;
    const lines = parseLines(readFileSync(linesPath(), 'utf8')) as { id: number; endedAt: string; cause: string }[];
    for (const line of lines) expect(connectionLineErrors(line), JSON.stringify(line)).toBeUndefined();
    const key = (e: { id: number; endedAt: string; cause: string }) => `${e.id}|${e.endedAt}|${e.cause}`;
    expect(lines.map(key).sort()).toEqual(rows.map(key).sort());
  });
});
