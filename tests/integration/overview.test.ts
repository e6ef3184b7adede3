// GET /api/overview against the real server and kernel: on a known mix (the varied conntrack -I entries with NAT,
// marks and zones, 2,000 seeded NAT-router entries, and tracked pings for bytes) in a namespace with two uplinks
// (wan1: default route of the main table, wan2: of table 100) every grouping equals the same grouping of
// `conntrack -L -o xml` done here (the WAN of an entry from `ip -j addr` and `ip -j route get`, the kernel's own
// answers), every group's filter selects exactly its entries, and bad input is a 400 naming the field.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiErrorBody, ConnectionPage, ConnectionSummary, OverviewResponse } from '@/lib/console';
import { GROUP_KEYS, IPS, PORTED_PROTOCOLS, PROTOCOL_NAMES, TCP_STATES, type GroupKey } from '@/lib/conntrack';
import { createNamespace, type Namespace } from '@/lib/lab';
import { seed } from '@/lib/lab/seeder';
import { canonicalIPv4, ipv6Groups, listAll, type OracleEntry } from '../support/oracle';
import { startServer, type TestServer } from '../support/server';
import { insertVaried, WAN_V4, WAN_V6 } from './conntrack-setup';

/** The uplinks: veth ends (this kernel may lack dummy links) with the seeder's and the varied entries' NAT addresses. */
const UPLINKS = [
  { name: 'wan1', addresses: ['203.0.113.1/24', `${WAN_V4}/24`, `${WAN_V6}/64`], routes: [['route', 'add', 'default', 'dev', 'wan1'], ['-6', 'route', 'add', 'default', 'dev', 'wan1']] },
  { name: 'wan2', addresses: ['198.51.100.7/24'], routes: [['route', 'add', 'default', 'dev', 'wan2', 'table', '100']] },
] as const;

/** Host names the server reads from a hosts file (the names layer), for addresses of the varied entries. */
const HOST_NAMES: Record<string, string> = { '10.1.0.1': 'client-one.lan', '198.18.0.10': 'server-ten.example', [WAN_V4]: 'wan.example.test' };
const namesDir = mkdtempSync(join(tmpdir(), 'ctc-overview-names-'));

let ns: Namespace | undefined;
let server: TestServer | undefined;
let oracle: OracleEntry[] = [];
/** The WAN holding an address (ip -j addr), and the WAN a destination routes through (ip -j route get). */
const addressHolder = new Map<string, string>();
const routeDevice = new Map<string, string>();

async function get<T>(path: string): Promise<{ status: number; body: T }> {
  if (!server) throw new Error('no server');
  const response = await fetch(`${server.url}${path}`, { headers: server.authHeaders() });
  return { status: response.status, body: (await response.json()) as T };
}

const protocolName = (p: number) => PROTOCOL_NAMES[p] ?? String(p);

/** The oracle's key of an entry for a grouping, from the XML alone (NAT read from the tuples: the XML shows no NAT flags). */
function oracleKey(e: OracleEntry, by: GroupKey): string | undefined {
  const snat = e.reply.dst !== e.original.src || e.reply.dport !== e.original.sport;
  const dnat = e.reply.src !== e.original.dst || e.reply.sport !== e.original.dport;
  switch (by) {
    case 'src':
      return e.original.src;
    case 'dst':
      return e.original.dst;
    case 'dport':
      return PORTED_PROTOCOLS.includes(e.original.protocol) && e.original.dport !== undefined ? `${protocolName(e.original.protocol)}/${e.original.dport}` : undefined;
    case 'external':
      return snat ? e.reply.dst : dnat ? `${e.original.dst} (port forward)` : undefined;
    case 'protocol':
      return protocolName(e.original.protocol);
    case 'wan': {
      const external = snat ? e.reply.dst : dnat ? e.original.dst : undefined;
      return external === undefined ? (routeDevice.get(e.original.dst) ?? 'none') : (addressHolder.get(external) ?? 'none');
    }
    case 'state':
      if (e.original.protocol === 6) return e.tcpState;
      return oracleKey(e, 'udp');
    case 'udp':
      if (e.original.protocol === 17) return e.status & IPS.SEEN_REPLY ? 'UDP replied' : 'UDP unreplied';
      return undefined;
    case 'zone':
      return String(e.zone);
    case 'mark':
      return `0x${(e.mark ?? 0).toString(16)}`;
  }
}

interface Expected {
  key: string;
  count: number;
  bytes: { original: number; reply: number };
}

function oracleGroups(by: GroupKey): Expected[] {
  const groups = new Map<string, Expected>();
  for (const e of oracle) {
    const key = oracleKey(e, by);
    if (key === undefined) continue;
    const g = groups.get(key) ?? { key, count: 0, bytes: { original: 0, reply: 0 } };
    g.count++;
    g.bytes.original += Number(e.counters?.original.bytes ?? 0);
    g.bytes.reply += Number(e.counters?.reply.bytes ?? 0);
    groups.set(key, g);
  }
  return [...groups.values()];
}

const weight = (g: Expected, metric: 'count' | 'bytes') => (metric === 'count' ? g.count : g.bytes.original + g.bytes.reply);

/** An address as numbers in order: IPv4 before IPv6, each numerically. */
const addressOrder = (address: string): number[] => (address.includes(':') ? [1, ...ipv6Groups(address)] : [0, ...canonicalIPv4(address).split('.').map(Number)]);
const PROTOCOL_NUMBERS = new Map(Object.entries(PROTOCOL_NAMES).map(([n, name]) => [name, Number(n)]));

/** The order the API promises for groups that tie on the metric and the count. */
function keyOrder(by: GroupKey, key: string): (number | string)[] {
  switch (by) {
    case 'src':
    case 'dst':
      return addressOrder(key);
    case 'external':
      return key.endsWith(' (port forward)') ? [1, ...addressOrder(key.slice(0, -' (port forward)'.length))] : [0, ...addressOrder(key)];
    case 'dport': {
      const [protocol, port] = key.split('/');
      return [PROTOCOL_NUMBERS.get(protocol) ?? Number(protocol), Number(port)];
    }
    case 'protocol':
      return [PROTOCOL_NUMBERS.get(key) ?? Number(key)];
    case 'state':
    case 'udp':
      return [key === 'UDP replied' ? 1000 : key === 'UDP unreplied' ? 1001 : TCP_STATES.indexOf(key as (typeof TCP_STATES)[number])];
    case 'zone':
    case 'mark':
      return [Number(key)];
    case 'wan':
      return [key];
  }
}

function compareKeys(by: GroupKey, a: string, b: string): number {
  const x = keyOrder(by, a);
  const y = keyOrder(by, b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] === y[i]) continue;
    return (x[i] ?? -1) < (y[i] ?? -1) ? -1 : 1;
  }
  return 0;
}

/** Fills addressHolder and routeDevice from the kernel: which uplink holds each address, where each destination goes. */
async function readTopology(namespace: Namespace, destinations: readonly string[]): Promise<void> {
  const wans = new Set<string>(UPLINKS.map((u) => u.name));
  const addresses = JSON.parse((await namespace.exec('ip', ['-j', 'addr', 'show'])).stdout) as { ifname: string; addr_info: { local: string }[] }[];
  for (const link of addresses) for (const a of link.addr_info) if (wans.has(link.ifname)) addressHolder.set(a.local, link.ifname);
  // One shell for every lookup; a destination without a route prints [] (the console's "none").
  const script = destinations.map((d) => `ip -j route get ${d} 2>/dev/null || echo '[]'`).join('\n');
  const lines = (await namespace.exec('sh', ['-c', script])).stdout.trim().split('\n');
  expect(lines.length).toBe(destinations.length);
  destinations.forEach((d, i) => {
    const [route] = JSON.parse(lines[i]) as { dev?: string; type?: string }[];
    if (route?.dev && wans.has(route.dev) && route.type !== 'local') routeDevice.set(d, route.dev);
  });
}

beforeAll(async () => {
  ns = await createNamespace({ role: 'overview', tracking: true, sysctls: { 'net.netfilter.nf_conntrack_acct': '1' } });
  for (const uplink of UPLINKS) {
    await ns.exec('ip', ['link', 'add', uplink.name, 'type', 'veth', 'peer', 'name', `${uplink.name}p`]);
    for (const end of [uplink.name, `${uplink.name}p`]) await ns.exec('ip', ['link', 'set', end, 'up']);
    for (const address of uplink.addresses) await ns.exec('ip', ['addr', 'add', address, 'dev', uplink.name, ...(address.includes(':') ? ['nodad'] : [])]);
    for (const route of uplink.routes) await ns.exec('ip', [...route]);
  }
  await insertVaried(ns.name);
  await seed({ netns: ns.name, count: 2000, seed: 7 });
  writeFileSync(join(namesDir, 'hosts'), Object.entries(HOST_NAMES).map(([address, name]) => `${address} ${name}\n`).join(''));
  server = await startServer({ netns: ns.name, env: { CONNTRACK_NAME_FILES: `hosts:${join(namesDir, 'hosts')}` } });
  // Tracked traffic, so some groups have bytes both ways. After the server's start, which can take longer than the
  // echo entries' 30 s on a loaded machine: one of them expiring between the snapshot and the oracle was seen.
  for (const target of ['127.0.0.1', '::1']) {
    await ns.exec('ping', ['-c', '3', '-i', '0.2', '-W', '1', target]);
  }
  // One snapshot, and the oracle read right after it: the table holds still (long timeouts, no traffic).
  const refresh = await fetch(`${server.url}/api/connections/refresh`, { method: 'POST', headers: server.authHeaders() });
  expect(refresh.status).toBe(200);
  oracle = await listAll(ns.name);
  await readTopology(ns, [...new Set(oracle.map((e) => e.original.dst))]);
});

afterAll(async () => {
  await server?.stop();
  await ns?.destroy();
  rmSync(namesDir, { recursive: true, force: true });
});

describe('GET /api/overview', () => {
  it.each(GROUP_KEYS.flatMap((by) => [[by, 'count'] as const, [by, 'bytes'] as const]))('by=%s, metric=%s equals the grouping of conntrack -L', async (by, metric) => {
    const limit = 10;
    const reply = await get<OverviewResponse>(`/api/overview?by=${by}&metric=${metric}&limit=${limit}`);
    expect(reply.status).toBe(200);
    const expected = oracleGroups(by).sort((a, b) => weight(b, metric) - weight(a, metric) || b.count - a.count || compareKeys(by, a.key, b.key));
    expect(reply.body.total).toBe(oracle.length);
    expect(reply.body.groups.map(({ key, count, bytes }) => ({ key, count, bytes }))).toEqual(expected.slice(0, limit));
    const rest = expected.slice(limit);
    expect(reply.body.others).toEqual({
      groups: rest.length,
      count: rest.reduce((s, g) => s + g.count, 0),
      bytes: { original: rest.reduce((s, g) => s + g.bytes.original, 0), reply: rest.reduce((s, g) => s + g.bytes.reply, 0) },
    });
    expect(reply.body.ungrouped).toBe(oracle.length - expected.reduce((s, g) => s + g.count, 0));
  });

  it('has bytes both ways where traffic went, and each group filter opens exactly its entries', async () => {
    const protocols = await get<OverviewResponse>('/api/overview?by=protocol&metric=bytes&limit=3');
    expect(protocols.body.groups[0].bytes.original).toBeGreaterThan(0);
    expect(protocols.body.groups[0].bytes.reply).toBeGreaterThan(0);
    for (const by of GROUP_KEYS) {
      const reply = await get<OverviewResponse>(`/api/overview?by=${by}&limit=5`);
      for (const group of reply.body.groups) {
        const page = await get<ConnectionPage>(`/api/connections?limit=1&${new URLSearchParams(group.filter).toString()}`);
        expect(page.status, JSON.stringify(group.filter)).toBe(200);
        expect(page.body.matched, `${by} ${group.key}: ${JSON.stringify(group.filter)}`).toBe(group.count);
      }
    }
  });

  it('names the hosts the names layer knows and the services of /etc/services beside the keys', async () => {
    const https = /^(\S+)\s+443\/tcp\b/m.exec(readFileSync('/etc/services', 'utf8'))?.[1];
    expect(https, 'this machine names port 443 in /etc/services').toBeTruthy();
    const cases: [GroupKey, string, string | undefined][] = [
      ['src', '10.1.0.1', HOST_NAMES['10.1.0.1']],
      ['dst', '198.18.0.10', HOST_NAMES['198.18.0.10']],
      ['external', WAN_V4, HOST_NAMES[WAN_V4]],
      ['dport', 'tcp/443', https],
    ];
    for (const [by, key, name] of cases) {
      const reply = await get<OverviewResponse>(`/api/overview?by=${by}&limit=100`);
      const group = reply.body.groups.find((g) => g.key === key);
      expect(group, `${by} ${key}`).toBeDefined();
      expect(group?.name, `${by} ${key}`).toBe(name);
    }
    const unnamed = (await get<OverviewResponse>('/api/overview?by=src&limit=100')).body.groups.filter((g) => !(g.key in HOST_NAMES));
    expect(unnamed.every((g) => g.name === undefined)).toBe(true);
  });

  it('groups by WAN through both uplinks and none, and narrows by the uplink filters', async () => {
    const wans = await get<OverviewResponse>('/api/overview?by=wan&limit=10');
    expect(wans.body.groups.map((g) => g.key).sort()).toEqual(['none', 'wan1', 'wan2']);
    const throughWan2 = oracle.filter((e) => oracleKey(e, 'wan') === 'wan2');
    const reply = await get<OverviewResponse>('/api/overview?by=dport&wan=wan2&limit=100');
    expect(reply.status).toBe(200);
    expect(reply.body.total).toBe(throughWan2.length);
    expect(reply.body.others.groups).toBe(0);
    const ports = new Map<string, number>();
    for (const e of throughWan2) {
      const key = oracleKey(e, 'dport');
      if (key !== undefined) ports.set(key, (ports.get(key) ?? 0) + 1);
    }
    expect(Object.fromEntries(reply.body.groups.map((g) => [g.key, g.count]))).toEqual(Object.fromEntries(ports));
  });

  it('narrows by the shared filters, and counts protocols and TCP states as the summary does', async () => {
    const tcp = oracle.filter((e) => e.original.protocol === 6);
    const reply = await get<OverviewResponse>('/api/overview?by=dport&protocol=tcp&limit=100');
    expect(reply.body.total).toBe(tcp.length);
    expect(reply.body.groups.reduce((s, g) => s + g.count, 0) + reply.body.others.count).toBe(tcp.length);
    const summary = await get<ConnectionSummary>('/api/connections/summary');
    const byProtocol = await get<OverviewResponse>('/api/overview?by=protocol&limit=100');
    expect(Object.fromEntries(byProtocol.body.groups.map((g) => [g.key, g.count]))).toEqual(summary.body.byProtocol);
    const byState = await get<OverviewResponse>('/api/overview?by=state&protocol=tcp&limit=100');
    expect(Object.fromEntries(byState.body.groups.map((g) => [g.key, g.count]))).toEqual(summary.body.byState);
  });

  it.each([
    ['by=host', 'by'],
    ['', 'by'],
    ['by=src&metric=packets', 'metric'],
    ['by=src&limit=0', 'limit'],
    ['by=src&limit=101', 'limit'],
    ['by=src&bogus=1', 'bogus'],
    ['by=src&dport=99999', 'dport'],
    ['by=wan&wan=nope', 'wan'],
    ['by=src&stale=maybe', 'stale'],
  ])('GET /api/overview?%s is a 400 naming %s', async (query, field) => {
    const reply = await get<ApiErrorBody>(`/api/overview?${query}`);
    expect(reply.status).toBeGreaterThanOrEqual(400);
    expect(reply.status).toBeLessThan(500);
    expect(JSON.stringify(reply.body)).toContain(field);
  });
});
