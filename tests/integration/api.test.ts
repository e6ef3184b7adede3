// The connections REST API against the real server and the real kernel: a fresh namespace filled with
// `conntrack -I`, the production Next server managing it, and conntrack(8) as the independent oracle for
// what every query, sort, page and delete should have seen or done.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiConnection, ApiErrorBody, ApiSnapshot, ConnectionPage, DeleteOutcome, ExternalAddress } from '@/lib/console';
import {
  countWithConntrack,
  createTestNamespace,
  insertWithConntrack,
  listAll,
  listWithConntrack,
  loadWithConntrack,
  type InsertSpec,
  type OracleEntry,
  type TestNamespace,
} from '../support/oracle';
import { startServer, type TestServer } from '../support/server';

const ASSURED = 0x4;
const SEEN_REPLY = 0x2;

let ns: TestNamespace | undefined;
let server: TestServer | undefined;

function netns(): string {
  if (!ns) throw new Error('no namespace');
  return ns.name;
}

interface Reply<T> {
  status: number;
  body: T;
  headers: Headers;
  text: string;
}

async function call<T>(method: string, path: string, body?: unknown, raw?: string): Promise<Reply<T>> {
  if (!server) throw new Error('no server');
  // The admin API token: a script's credentials, exempt from the CSRF checks a browser session gets.
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...server.authHeaders(), ...(body !== undefined || raw !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await response.text();
  let parsed: unknown = undefined;
  if ((response.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text);
  return { status: response.status, body: parsed as T, headers: response.headers, text };
}

const get = <T>(path: string) => call<T>('GET', path);
const post = <T>(path: string, body?: unknown, raw?: string) => call<T>('POST', path, body, raw);

/** Every id matching a query (limit 1000: the fixture is far smaller). */
async function apiIds(query: string): Promise<number[]> {
  const reply = await get<ConnectionPage>(`/api/connections?limit=1000&${query}`);
  expect(reply.status, reply.text).toBe(200);
  expect(reply.body.matched).toBe(reply.body.items.length);
  return reply.body.items.map((c) => c.id).sort((a, b) => a - b);
}

const idsOf = (entries: OracleEntry[]): number[] => entries.map((e) => e.id ?? -1).sort((a, b) => a - b);

/** conntrack -L with these filters (both families unless the args pick one). */
async function oracle(args: string[] = []): Promise<OracleEntry[]> {
  const picksFamily = args.some((a) => ['-f', '-s', '-d', '-r', '-q'].includes(a));
  return picksFamily ? listWithConntrack({ netns: netns(), args, icmpDetails: false }) : listAll(netns(), args, { icmpDetails: false });
}

const count = () => countWithConntrack(netns());

// ---- an independent little matcher for the conditions conntrack -L cannot filter on ----

function v4Number(address: string): number {
  return address.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}
function inV4Prefix(address: string, prefix: string): boolean {
  const [network, bits] = prefix.split('/');
  if (!address.includes('.') || address.includes(':')) return false;
  const shift = 32 - Number(bits ?? 32);
  return Math.floor(v4Number(address) / 2 ** shift) === Math.floor(v4Number(network) / 2 ** shift);
}
const addresses = (e: OracleEntry) => [e.original.src, e.original.dst, e.reply.src, e.reply.dst];
const ports = (e: OracleEntry) => [e.original.sport, e.original.dport, e.reply.sport, e.reply.dport];

// ---- the fixture ----

const TCP_STATES = ['ESTABLISHED', 'SYN_SENT', 'TIME_WAIT', 'CLOSE_WAIT', 'FIN_WAIT', 'ESTABLISHED'];

function fixture(): InsertSpec[] {
  const specs: InsertSpec[] = [];
  for (let i = 0; i < 14; i++) {
    const state = TCP_STATES[i % TCP_STATES.length];
    specs.push({
      protocol: 'tcp',
      src: `10.1.0.${i + 1}`,
      dst: `192.0.2.${(i % 4) + 1}`,
      sport: 30000 + i,
      dport: [22, 80, 443, 8080][i % 4],
      state,
      timeout: 1000 + i * 10,
      mark: i % 3,
      zone: i % 5 === 4 ? 3 : undefined,
      status: state === 'ESTABLISHED' ? ['ASSURED', 'SEEN_REPLY'] : undefined,
      srcNat: i % 3 === 0 ? `198.51.100.${(i % 2) + 1}` : undefined,
    });
  }
  for (let i = 0; i < 6; i++) {
    specs.push({
      protocol: 'udp',
      src: `10.2.0.${i + 1}`,
      dst: `203.0.113.${i + 1}`,
      sport: 5000 + i,
      dport: i % 2 ? 123 : 53,
      timeout: 900 + i,
      status: i % 2 ? ['SEEN_REPLY'] : undefined,
      dstNat: i === 2 ? '10.9.9.9:5353' : undefined,
      srcNat: i === 4 ? '198.51.100.1' : undefined,
    });
  }
  specs.push({ protocol: 'icmp', src: '10.3.0.1', dst: '192.0.2.9', icmp: { type: 8, code: 0, id: 77 }, timeout: 800 });
  specs.push({ protocol: 'icmp', src: '10.3.0.2', dst: '192.0.2.9', icmp: { type: 8, code: 0, id: 78 }, timeout: 800 });
  for (let i = 0; i < 4; i++) {
    specs.push({
      protocol: 'tcp',
      src: `2001:db8:1::${i + 1}`,
      dst: `2001:db8:2::${i + 1}`,
      sport: 40000 + i,
      dport: i % 2 ? 443 : 22,
      state: i % 2 ? 'ESTABLISHED' : 'TIME_WAIT',
      timeout: 1200,
      mark: i === 3 ? 2 : undefined,
      status: i % 2 ? ['ASSURED', 'SEEN_REPLY'] : undefined,
    });
  }
  specs.push({ protocol: 'udp', src: '2001:db8:1::10', dst: '2001:db8:3::53', sport: 6000, dport: 53, timeout: 700, mark: 1 });
  specs.push({ protocol: 'icmpv6', src: '2001:db8:1::20', dst: '2001:db8:3::1', icmp: { type: 128, code: 0, id: 5 }, timeout: 700 });
  return specs;
}

beforeAll(async () => {
  ns = await createTestNamespace('ctc-api');
  const specs = fixture();
  expect(await loadWithConntrack(ns.name, specs)).toBe(specs.length);
  server = await startServer({ netns: ns.name });
  const refreshed = await post<{ snapshot: ApiSnapshot }>('/api/connections/refresh');
  expect(refreshed.status, refreshed.text).toBe(200);
});

afterAll(async () => {
  try {
    await server?.stop();
  } finally {
    await ns?.dispose();
  }
});

describe('GET /api/connections', () => {
  it('lists the snapshot as conntrack -L sees the table', async () => {
    const all = await oracle();
    const reply = await get<ConnectionPage>('/api/connections?limit=1000');
    expect(reply.status).toBe(200);
    expect(reply.body.snapshot.total).toBe(all.length);
    // Every entry the kernel sent was read (a malformed one would be counted here: tests/unit/snapshot.test.ts).
    expect(reply.body.snapshot.skipped).toBe(0);
    expect(reply.body.matched).toBe(all.length);
    expect(Number.isNaN(Date.parse(reply.body.snapshot.takenAt))).toBe(false);
    expect(reply.body.items.map((c) => c.id).sort((a, b) => a - b)).toEqual(idsOf(all));
    const byId = new Map(reply.body.items.map((c) => [c.id, c]));
    for (const entry of all) {
      const c = byId.get(entry.id ?? -1) as ApiConnection;
      expect(c.family).toBe(entry.family);
      expect(c.protocolNumber).toBe(entry.original.protocol);
      for (const direction of ['original', 'reply'] as const) {
        const { src, dst, sport, dport } = c[direction];
        const o = entry[direction];
        expect({ src, dst, sport, dport }).toEqual({ src: o.src, dst: o.dst, sport: o.sport, dport: o.dport });
      }
      expect(c.state).toBe(entry.tcpState);
      expect(c.mark).toBe(entry.mark ?? 0);
      expect(c.zone).toBe(entry.zone);
      expect(c.status.includes('ASSURED')).toBe((entry.status & ASSURED) !== 0);
      expect(c.status.includes('UNREPLIED')).toBe((entry.status & SEEN_REPLY) === 0);
      expect(c.counters).toEqual({
        original: { packets: Number(entry.counters?.original.packets), bytes: Number(entry.counters?.original.bytes) },
        reply: { packets: Number(entry.counters?.reply.packets), bytes: Number(entry.counters?.reply.bytes) },
      });
      expect(typeof c.startedAt).toBe('string');
    }
    const snat = reply.body.items.find((c) => c.original.src === '10.1.0.1');
    expect(snat?.nat).toEqual({ snat: { address: '198.51.100.1', port: 30000 }, dnat: null });
    const dnat = reply.body.items.find((c) => c.original.src === '10.2.0.3');
    expect(dnat?.nat).toEqual({ snat: null, dnat: { address: '10.9.9.9', port: 5353 } });
    const icmp = reply.body.items.find((c) => c.original.src === '10.3.0.1');
    expect(icmp?.original.icmp).toEqual({ type: 8, code: 0, id: 77 });
  });

  // Each query against what conntrack -L lists for the same condition (or, where conntrack cannot filter,
  // against a predicate over its full listing).
  const cases: { query: string; args?: string[][]; where?: (e: OracleEntry) => boolean }[] = [
    { query: 'family=ipv4', args: [['-f', 'ipv4']] },
    { query: 'family=ipv6', args: [['-f', 'ipv6']] },
    { query: 'protocol=tcp', args: [['-p', 'tcp']] },
    { query: 'protocol=17', args: [['-p', 'udp']] },
    { query: 'protocol=icmpv6', args: [['-p', 'icmpv6']] },
    { query: 'state=ESTABLISHED,time_wait', args: [['-p', 'tcp', '--state', 'ESTABLISHED'], ['-p', 'tcp', '--state', 'TIME_WAIT']] },
    { query: 'state=SYN_SENT&state=CLOSE_WAIT', args: [['-p', 'tcp', '--state', 'SYN_SENT'], ['-p', 'tcp', '--state', 'CLOSE_WAIT']] },
    { query: 'status=ASSURED', where: (e) => (e.status & ASSURED) !== 0 },
    { query: 'status=UNREPLIED', where: (e) => (e.status & SEEN_REPLY) === 0 },
    { query: 'status=SEEN_REPLY', where: (e) => (e.status & SEEN_REPLY) !== 0 },
    { query: 'status=SRC_NAT', args: [['--src-nat']] },
    { query: 'status=DST_NAT', args: [['--dst-nat']] },
    { query: 'status=SRC_NAT,ASSURED', where: (e) => (e.status & ASSURED) !== 0 && e.reply.dst.startsWith('198.51.100.') },
    { query: 'src=10.1.0.0/29', args: [['-s', '10.1.0.0/29']] },
    { query: 'src=2001:db8:1::/48', args: [['-f', 'ipv6', '-s', '2001:db8:1::/48']] },
    { query: 'dst=192.0.2.1', args: [['-d', '192.0.2.1']] },
    { query: 'replySrc=10.9.9.9', args: [['-r', '10.9.9.9']] },
    { query: 'replyDst=198.51.100.1', args: [['-q', '198.51.100.1']] },
    { query: 'ip=192.0.2.9', where: (e) => addresses(e).includes('192.0.2.9') },
    { query: 'ip=198.51.100.0/24', where: (e) => addresses(e).some((a) => inV4Prefix(a, '198.51.100.0/24')) },
    { query: 'ip=2001:db8:3::53', where: (e) => addresses(e).includes('2001:db8:3::53') },
    { query: 'port=53', where: (e) => ports(e).includes(53) },
    { query: 'port=5353', where: (e) => ports(e).includes(5353) },
    { query: 'sport=30002-30006', where: (e) => e.original.sport !== undefined && e.original.sport >= 30002 && e.original.sport <= 30006 },
    { query: 'dport=443', where: (e) => e.original.dport === 443 },
    { query: 'protocol=tcp&dport=443&state=ESTABLISHED', args: [['-p', 'tcp', '--dport', '443', '--state', 'ESTABLISHED']] },
    { query: 'protocol=udp&sport=5001', args: [['-p', 'udp', '--sport', '5001']] },
    { query: 'mark=1', args: [['-m', '1']] },
    { query: 'mark=0x2/0x2', where: (e) => ((e.mark ?? 0) & 2) === 2 },
    { query: 'zone=3', args: [['-w', '3']] },
    { query: 'q=198.51.100.2', where: (e) => addresses(e).some((a) => a.includes('198.51.100.2')) },
    { query: 'q=TIME_WAIT', where: (e) => e.tcpState === 'TIME_WAIT' },
    { query: 'q=nothing-matches-this', where: () => false },
  ];
  it.each(cases)('filters $query like the oracle', async ({ query, args, where }) => {
    let expected: number[];
    if (args) {
      const lists = await Promise.all(args.map((a) => oracle(a)));
      expected = [...new Set(lists.flatMap(idsOf))].sort((a, b) => a - b);
    } else {
      expected = idsOf((await oracle()).filter(where ?? (() => true)));
    }
    expect(await apiIds(query)).toEqual(expected);
  });

  it('a case that matches nothing is still a condition, not a silently ignored one', async () => {
    expect((await oracle()).length).toBeGreaterThan(0);
    expect(await apiIds('family=ipv6&src=10.0.0.0/8')).toEqual([]);
  });

  it('sorts by a column in both orders', async () => {
    const all = (await oracle(['-p', 'tcp'])).filter((e) => e.family === 'ipv4');
    const sports = all.map((e) => e.original.sport ?? 0).sort((a, b) => a - b);
    const asc = await get<ConnectionPage>('/api/connections?family=ipv4&protocol=tcp&sort=sport&limit=1000');
    expect(asc.body.items.map((c) => c.original.sport)).toEqual(sports);
    const desc = await get<ConnectionPage>('/api/connections?family=ipv4&protocol=tcp&sort=sport&order=desc&limit=1000');
    expect(desc.body.items.map((c) => c.original.sport)).toEqual([...sports].reverse());

    const everyone = await oracle();
    const bySrc = (e: { family: string; src: string }) => (e.family === 'ipv4' ? v4Number(e.src) : Number.MAX_SAFE_INTEGER);
    const sources = everyone.map((e) => ({ family: e.family, src: e.original.src })).sort((a, b) => bySrc(a) - bySrc(b));
    const srcSorted = await get<ConnectionPage>('/api/connections?sort=src&limit=1000');
    const v4 = srcSorted.body.items.filter((c) => c.family === 'ipv4').map((c) => c.original.src);
    expect(v4).toEqual(sources.filter((s) => s.family === 'ipv4').map((s) => s.src));
    // IPv4 rows come before IPv6 rows.
    expect(srcSorted.body.items.findIndex((c) => c.family === 'ipv6')).toBe(v4.length);
  });

  it('pages through the sorted rows without gaps or repeats', async () => {
    const expected = idsOf(await oracle());
    const seen: number[] = [];
    for (let offset = 0; offset < expected.length + 5; offset += 7) {
      const page = await get<ConnectionPage>(`/api/connections?sort=id&limit=7&offset=${offset}`);
      expect(page.body.matched).toBe(expected.length);
      expect(page.body.items.length).toBe(Math.max(0, Math.min(7, expected.length - offset)));
      seen.push(...page.body.items.map((c) => c.id));
    }
    expect(seen).toEqual(expected);
    const defaultPage = await get<ConnectionPage>('/api/connections');
    expect(defaultPage.body.items.length).toBe(Math.min(100, expected.length));
  });

  it('answers from the snapshot it names: the latest two are kept, older ones are gone (410), unknown ones 404', async () => {
    const first = (await post<{ snapshot: ApiSnapshot }>('/api/connections/refresh')).body.snapshot;
    const second = (await post<{ snapshot: ApiSnapshot }>('/api/connections/refresh')).body.snapshot;
    expect(second.id).not.toBe(first.id);
    const older = await get<ConnectionPage>(`/api/connections?snapshot=${first.id}`);
    expect(older.status).toBe(200);
    expect(older.body.snapshot.id).toBe(first.id);
    expect((await get<ConnectionPage>('/api/connections')).body.snapshot.id).toBe(second.id);
    await post('/api/connections/refresh');
    const expired = await get<ApiErrorBody>(`/api/connections?snapshot=${first.id}`);
    expect(expired.status).toBe(410);
    expect(expired.body.error.code).toBe('snapshot_expired');
    const unknown = await get<ApiErrorBody>('/api/connections?snapshot=no-such-snapshot');
    expect(unknown.status).toBe(404);
  });
});

describe('other reads', () => {
  it('GET /api/connections/{id} returns the live entry, 404 for an unknown id', async () => {
    const [entry] = await oracle(['-p', 'tcp', '--dport', '443']);
    const reply = await get<{ connection: ApiConnection }>(`/api/connections/${entry.id}`);
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body.connection.id).toBe(entry.id);
    expect(reply.body.connection.original).toMatchObject({ src: entry.original.src, dport: 443 });
    const ids = new Set(idsOf(await oracle()));
    let missing = 1;
    while (ids.has(missing)) missing++;
    const gone = await get<ApiErrorBody>(`/api/connections/${missing}`);
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('not_found');
  });

  it('GET /api/connections/external-addresses counts SNAT entries per reply destination', async () => {
    const snat = await oracle(['--src-nat']);
    const expected = new Map<string, number>();
    for (const e of snat) expected.set(e.reply.dst, (expected.get(e.reply.dst) ?? 0) + 1);
    const reply = await get<{ matched: number; items: ExternalAddress[] }>('/api/connections/external-addresses');
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body.matched).toBe(snat.length);
    expect(new Map(reply.body.items.map((i) => [i.address, i.count]))).toEqual(expected);
    const counts = reply.body.items.map((i) => i.count);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
  });

  it('GET /api/stats reports the table like conntrack -C', async () => {
    const reply = await get<{ entries: number; maxEntries: number; fillRatio: number; perCpu: unknown[]; sysctl: { acct: boolean; timestamp: boolean } }>('/api/stats');
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body.entries).toBe(await count());
    expect(reply.body.maxEntries).toBeGreaterThan(0);
    expect(reply.body.fillRatio).toBeCloseTo(reply.body.entries / reply.body.maxEntries);
    expect(reply.body.perCpu.length).toBeGreaterThan(0);
    expect(reply.body.sysctl).toMatchObject({ acct: true, timestamp: true });
  });

  it('GET /api/connections/export gives the filtered rows as CSV and JSON downloads', async () => {
    const expected = idsOf(await oracle(['-p', 'tcp']));
    const csv = await get<never>('/api/connections/export?format=csv&protocol=tcp&sort=id');
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="connections-.*\.csv"$/);
    const lines = csv.text.trimEnd().split('\r\n');
    const header = lines[0].split(',');
    expect(header.slice(0, 3)).toEqual(['id', 'family', 'protocol']);
    expect(lines.slice(1).map((l) => Number(l.split(',')[0]))).toEqual(expected);
    const status = header.indexOf('status');
    expect(lines.slice(1).every((l) => l.split(',')[status].length > 0)).toBe(true);

    const json = await get<ApiConnection[]>('/api/connections/export?format=json&protocol=tcp&sort=id');
    expect(json.headers.get('content-disposition')).toMatch(/\.json"$/);
    expect(json.body.map((c) => c.id)).toEqual(expected);
    const list = await get<ConnectionPage>('/api/connections?protocol=tcp&sort=id&limit=1000');
    expect(json.body).toEqual(list.body.items);
  });
});

describe('kernel errors', () => {
  it('a server without CAP_NET_ADMIN answers 503 and says so, without a stack trace', async () => {
    const weak = await startServer({ netns: netns(), wrapper: ['setpriv', '--bounding-set=-net_admin', '--inh-caps=-net_admin'] });
    try {
      for (const path of ['/api/stats', '/api/connections']) {
        const response = await fetch(`${weak.url}${path}`, { headers: weak.authHeaders() });
        const body = (await response.json()) as ApiErrorBody;
        expect(response.status).toBe(503);
        expect(body.error.code).toBe('insufficient_privileges');
        expect(body.error.message).toContain('CAP_NET_ADMIN');
        expect(body.error.errno).toBe('EPERM');
        expect(JSON.stringify(body)).not.toMatch(/\bat .*\.js/);
      }
    } finally {
      await weak.stop();
    }
  });
});

describe('bad input is refused with 400 naming the field, and nothing is deleted', () => {
  const cases: { name: string; method: 'GET' | 'POST' | 'DELETE'; path: string; body?: unknown; raw?: string; field: string }[] = [
    { name: 'limit too big', method: 'GET', path: '/api/connections?limit=5000', field: 'limit' },
    { name: 'limit zero', method: 'GET', path: '/api/connections?limit=0', field: 'limit' },
    { name: 'limit not a number', method: 'GET', path: '/api/connections?limit=ten', field: 'limit' },
    { name: 'negative offset', method: 'GET', path: '/api/connections?offset=-1', field: 'offset' },
    { name: 'port out of range', method: 'GET', path: '/api/connections?sport=70000', field: 'sport' },
    { name: 'reversed port range', method: 'GET', path: '/api/connections?dport=100-10', field: 'dport' },
    { name: 'bad CIDR length', method: 'GET', path: '/api/connections?src=10.0.0.0/33', field: 'src' },
    { name: 'not an address', method: 'GET', path: '/api/connections?ip=not-an-ip', field: 'ip' },
    { name: 'unknown state', method: 'GET', path: '/api/connections?state=DANCING', field: 'state' },
    { name: 'unknown status flag', method: 'GET', path: '/api/connections?status=BOGUS', field: 'status' },
    { name: 'unknown protocol', method: 'GET', path: '/api/connections?protocol=carrier-pigeon', field: 'protocol' },
    { name: 'bad family', method: 'GET', path: '/api/connections?family=ipv5', field: 'family' },
    { name: 'unknown sort column', method: 'GET', path: '/api/connections?sort=colour', field: 'sort' },
    { name: 'bad order', method: 'GET', path: '/api/connections?order=up', field: 'order' },
    { name: 'unknown query field', method: 'GET', path: '/api/connections?colour=red', field: 'colour' },
    { name: 'empty snapshot id', method: 'GET', path: '/api/connections?snapshot=', field: 'snapshot' },
    { name: 'export format', method: 'GET', path: '/api/connections/export?format=xls', field: 'format' },
    { name: 'stats takes no parameters', method: 'GET', path: '/api/stats?x=1', field: 'x' },
    { name: 'id not a number', method: 'GET', path: '/api/connections/abc', field: 'id' },
    { name: 'id too big', method: 'DELETE', path: '/api/connections/99999999999', field: 'id' },
    { name: 'empty delete body', method: 'POST', path: '/api/connections/delete', body: {}, field: 'filter' },
    { name: 'empty delete filter', method: 'POST', path: '/api/connections/delete', body: { filter: {} }, field: 'filter' },
    { name: 'empty id list', method: 'POST', path: '/api/connections/delete', body: { ids: [] }, field: 'ids' },
    { name: 'id of the wrong type', method: 'POST', path: '/api/connections/delete', body: { ids: [1, 'two'] }, field: 'ids.1' },
    { name: 'negative id', method: 'POST', path: '/api/connections/delete', body: { ids: [1, -1] }, field: 'ids.1' },
    { name: 'ids and filter', method: 'POST', path: '/api/connections/delete', body: { ids: [1], filter: { protocol: 'tcp' } }, field: 'filter' },
    { name: 'filter port out of range', method: 'POST', path: '/api/connections/delete', body: { filter: { protocol: 'tcp', dport: 70000 } }, field: 'filter.dport' },
    { name: 'filter bad CIDR', method: 'POST', path: '/api/connections/delete', body: { filter: { src: '10.0.0.0/40' } }, field: 'filter.src' },
    { name: 'unknown filter field', method: 'POST', path: '/api/connections/delete', body: { filter: { protocol: 'udp', colour: 'red' } }, field: 'filter.colour' },
    { name: 'unknown body field', method: 'POST', path: '/api/connections/delete', body: { filter: { protocol: 'udp' }, now: true }, field: 'now' },
    { name: 'dryRun not a boolean', method: 'POST', path: '/api/connections/delete', body: { filter: { protocol: 'udp' }, dryRun: 'yes' }, field: 'dryRun' },
    { name: 'paging in a delete filter', method: 'POST', path: '/api/connections/delete', body: { filter: { protocol: 'udp', limit: 1 } }, field: 'filter.limit' },
    { name: 'body not JSON', method: 'POST', path: '/api/connections/delete', raw: '{ids: [1]', field: 'body' },
    { name: 'body not an object', method: 'POST', path: '/api/connections/delete', body: [1, 2], field: 'body' },
    { name: 'flush family', method: 'POST', path: '/api/connections/flush', body: { family: 'ipv5' }, field: 'family' },
    { name: 'flush unknown field', method: 'POST', path: '/api/connections/flush', body: { family: 'ipv4', really: true }, field: 'really' },
    { name: 'refresh takes no fields', method: 'POST', path: '/api/connections/refresh', body: { force: true }, field: 'force' },
  ];
  it.each(cases)('$name', async ({ method, path, body, raw, field }) => {
    const before = await count();
    const reply = await call<ApiErrorBody>(method, path, body, raw);
    expect(reply.status, reply.text).toBe(400);
    expect(reply.body.error.code).toBe('invalid_request');
    expect(reply.body.error.field).toBe(field);
    expect(reply.body.error.message).toContain(field);
    expect(reply.body.error.message.length).toBeGreaterThan(field.length + 5);
    expect(reply.text).not.toMatch(/\n\s+at /);
    expect(await count()).toBe(before);
  });
});

describe('deleting', () => {
  it('DELETE /api/connections/{id} deletes exactly that entry, then answers 404', async () => {
    await post('/api/connections/refresh');
    const [entry] = await oracle(['-p', 'tcp', '--dport', '22']);
    const before = await count();
    const reply = await call<{ id: number; deleted: boolean }>('DELETE', `/api/connections/${entry.id}`);
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body).toEqual({ id: entry.id, deleted: true, audit: 'recorded' });
    expect(await count()).toBe(before - 1);
    expect(idsOf(await oracle())).not.toContain(entry.id);
    const again = await call<ApiErrorBody>('DELETE', `/api/connections/${entry.id}`);
    expect(again.status).toBe(404);
    expect((await get<ApiErrorBody>(`/api/connections/${entry.id}`)).status).toBe(404);
  });

  it('POST /api/connections/delete with ids: a dry run asks the kernel, the real run deletes, and both name the ids gone', async () => {
    // The snapshot still holds the entry deleted above: the kernel then reports it gone.
    const page = await get<ConnectionPage>('/api/connections?protocol=tcp&dport=80&limit=1000');
    const live = new Set(idsOf(await oracle()));
    const targets = page.body.items.map((c) => c.id).filter((id) => live.has(id)).slice(0, 3);
    expect(targets.length).toBe(3);
    const deletedEarlier = (await get<ConnectionPage>('/api/connections?protocol=tcp&dport=22&limit=1000')).body.items
      .map((c) => c.id)
      .filter((id) => !live.has(id));
    expect(deletedEarlier.length).toBe(1);
    let unknown = 1;
    while (live.has(unknown) || deletedEarlier.includes(unknown)) unknown++;
    const ids = [...targets, deletedEarlier[0], unknown];

    const before = await count();
    const dry = await post<DeleteOutcome>('/api/connections/delete', { ids, dryRun: true });
    expect(dry.status, dry.text).toBe(200);
    // The entry deleted earlier is still in the snapshot, but the dry run checks the kernel: it is named as gone.
    expect(dry.body).toMatchObject({ dryRun: true, basis: 'live', matched: 3, deleted: 0, alreadyGone: 2, deletedIds: targets, goneIds: [unknown, deletedEarlier[0]] });
    expect(dry.body.preview?.map((c) => c.id).sort((a, b) => a - b)).toEqual([...targets].sort((a, b) => a - b));
    expect(await count()).toBe(before);

    const real = await post<DeleteOutcome>('/api/connections/delete', { ids });
    expect(real.status, real.text).toBe(200);
    expect(real.body).toMatchObject({ dryRun: false, matched: 4, deleted: 3, alreadyGone: 2, failed: 0, deletedIds: targets, goneIds: [unknown, deletedEarlier[0]], failedIds: [] });
    expect(await count()).toBe(before - 3);
    const after = new Set(idsOf(await oracle()));
    for (const id of targets) expect(after.has(id)).toBe(false);
  });

  it('POST /api/connections/delete with a filter: the dry run counts the live table, the delete matches it', async () => {
    // Created after the snapshot: only a live count sees it.
    await insertWithConntrack(netns(), { protocol: 'udp', src: '10.2.0.99', dst: '203.0.113.99', sport: 5099, dport: 53, timeout: 600 });
    const udp = await oracle(['-p', 'udp']);
    const before = await count();
    const dry = await post<DeleteOutcome>('/api/connections/delete', { filter: { protocol: 'udp' }, dryRun: true });
    expect(dry.status, dry.text).toBe(200);
    expect(dry.body).toMatchObject({ dryRun: true, basis: 'live', matched: udp.length, deleted: 0 });
    expect(dry.body.preview?.map((c) => c.id).sort((a, b) => a - b)).toEqual(idsOf(udp));
    expect(await count()).toBe(before);

    const real = await post<DeleteOutcome>('/api/connections/delete', { filter: { protocol: 'udp' } });
    expect(real.status, real.text).toBe(200);
    expect(real.body).toMatchObject({ dryRun: false, basis: 'live', matched: udp.length, deleted: udp.length, failed: 0 });
    expect(await oracle(['-p', 'udp'])).toEqual([]);
    expect(await count()).toBe(before - udp.length);
  });

  it('a CIDR filter (which the kernel cannot apply) deletes exactly what conntrack lists for it', async () => {
    const matching = await oracle(['-s', '10.1.0.8/29']);
    expect(matching.length).toBeGreaterThan(0);
    const before = await count();
    const reply = await post<DeleteOutcome>('/api/connections/delete', { filter: { src: '10.1.0.8/29', protocol: 'tcp' } });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body).toMatchObject({ matched: matching.length, deleted: matching.length });
    expect(await oracle(['-s', '10.1.0.8/29'])).toEqual([]);
    expect(await count()).toBe(before - matching.length);
  });

  it('POST /api/connections/flush empties one family, then the whole table', async () => {
    const v4 = await oracle(['-f', 'ipv4']);
    const v6 = await oracle(['-f', 'ipv6']);
    expect(v6.length).toBeGreaterThan(0);
    const one = await post<{ deleted: number }>('/api/connections/flush', { family: 'ipv6' });
    expect(one.status, one.text).toBe(200);
    expect(one.body).toEqual({ deleted: v6.length, audit: 'recorded' });
    expect(await oracle(['-f', 'ipv6'])).toEqual([]);
    expect(idsOf(await oracle(['-f', 'ipv4']))).toEqual(idsOf(v4));

    const all = await post<{ deleted: number }>('/api/connections/flush');
    expect(all.status, all.text).toBe(200);
    expect(all.body).toEqual({ deleted: v4.length, audit: 'recorded' });
    expect(await count()).toBe(0);
  });

  it('logged no unexpected server error along the way', () => {
    expect(server?.output() ?? '').not.toMatch(/Error/);
  });
});
