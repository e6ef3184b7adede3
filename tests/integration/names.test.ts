// Names in the API of the real server: a dnsmasq lease file and a hosts file name the addresses of a fresh
// namespace's entries, its neighbour table gives MACs (`ip -j neigh` the oracle); the list, the details and the CSV
// export show them, and a rewritten lease file is picked up.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '@/lib/auth';
import type { ApiErrorBody, ApiNamesStatus, ApiReverseNames, ConnectionPage, DeleteOutcome } from '@/lib/console';
import { createTestNamespace, insertWithConntrack, listAll, type OracleEntry, type TestNamespace } from '../support/oracle';
import { startServer, type TestServer } from '../support/server';

let ns: TestNamespace;
let server: TestServer;
let dir: string;

const lease = (name: string) => `0 02:00:00:00:00:10 192.168.77.10 ${name} *\nduid 00:01\n0 1 2001:db8:77::10 ${name} 00:03\n`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ctc-names-'));
  writeFileSync(join(dir, 'dnsmasq.leases'), lease('laptop'));
  writeFileSync(join(dir, 'hosts'), '198.51.100.80 web.example.net www\n192.168.77.11 printer.lan\nbroken line here\n');
  writeFileSync(join(dir, 'services'), 'https 443/tcp\ndomain 53/udp\n');
  ns = await createTestNamespace('ctc-names');
  // A LAN link with two neighbours: one the lease file names with a MAC of its own, one only the hosts file names.
  for (const argv of [
    ['ip', 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan1'],
    ['ip', 'link', 'set', 'lan0', 'up'],
    ['ip', 'address', 'add', '192.168.77.1/24', 'dev', 'lan0'],
    ['ip', 'neigh', 'add', '192.168.77.10', 'lladdr', '02:00:00:00:aa:10', 'dev', 'lan0', 'nud', 'permanent'],
    ['ip', 'neigh', 'add', '192.168.77.11', 'lladdr', '02:00:00:00:aa:11', 'dev', 'lan0', 'nud', 'permanent'],
  ]) {
    const r = await ns.exec(argv);
    expect(r.exitCode, r.stderr).toBe(0);
  }
  for (const spec of [
    { protocol: 'tcp', state: 'ESTABLISHED', timeout: 3600, src: '192.168.77.10', dst: '198.51.100.80', sport: 40000, dport: 443 },
    { protocol: 'udp', timeout: 600, src: '2001:db8:77::10', dst: '2001:db8:ff::53', sport: 40001, dport: 53 },
    { protocol: 'udp', timeout: 600, src: '192.168.77.11', dst: '198.51.100.81', sport: 40002, dport: 123 },
    { protocol: 'tcp', state: 'ESTABLISHED', timeout: 3600, src: '192.168.77.11', dst: '198.51.100.80', sport: 40003, dport: 443 },
  ] as const) {
    const r = await insertWithConntrack(ns.name, spec);
    expect(r.exitCode, r.stderr).toBe(0);
  }
  server = await startServer({
    netns: ns.name,
    env: { CONNTRACK_NAME_FILES: `dnsmasq:${join(dir, 'dnsmasq.leases')},hosts:${join(dir, 'hosts')}`, CONNTRACK_SERVICES_FILE: join(dir, 'services') },
  });
});

afterAll(async () => {
  await server?.stop();
  await ns?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function list(query = ''): Promise<ConnectionPage> {
  await fetch(`${server.url}/api/connections/refresh`, { method: 'POST', headers: server.authHeaders() });
  const response = await fetch(`${server.url}/api/connections?limit=100${query}`, { headers: server.authHeaders() });
  expect(response.status).toBe(200);
  return (await response.json()) as ConnectionPage;
}

/** Ids of the conntrack -L entries with any address (either direction) in the set. */
const oracleIdsWith = (entries: OracleEntry[], addresses: string[]) =>
  entries
    .filter((e) => [e.original.src, e.original.dst, e.reply.src, e.reply.dst].some((a) => addresses.includes(a)))
    .map((e) => e.id)
    .sort();
const idsOf = (page: ConnectionPage) => page.items.map((c) => c.id).sort();

describe('names in the API', () => {
  it('the list names the addresses and ports of its rows; a malformed hosts line is logged once', async () => {
    const page = await list();
    expect(page.items).toHaveLength(4);
    expect(page.names).toEqual({
      '192.168.77.10': { name: 'laptop', source: 'dnsmasq', mac: '02:00:00:00:00:10' },
      '192.168.77.11': { name: 'printer.lan', source: 'hosts' },
      '2001:db8:77::10': { name: 'laptop', source: 'dnsmasq' },
      '198.51.100.80': { name: 'web.example.net', source: 'hosts' },
    });
    expect(page.services).toEqual({ 'tcp/443': 'https', 'udp/53': 'domain' });
    await list();
    expect(server.output().match(/line\(s\) not understood/g)).toHaveLength(1);
  });

  it('the neighbour table gives the MACs of the addresses it knows, in the list and the details', async () => {
    const neighbours = JSON.parse((await ns.exec(['ip', '-j', 'neigh', 'show'])).stdout) as { dst: string; lladdr?: string }[];
    const page = await list();
    const shown = new Set(page.items.flatMap((c) => [c.original.src, c.original.dst, c.reply.src, c.reply.dst]));
    const expected = Object.fromEntries(neighbours.filter((n) => n.lladdr && shown.has(n.dst)).map((n) => [n.dst, n.lladdr]));
    expect(Object.keys(expected)).toHaveLength(2);
    expect(page.macs).toEqual(expected);
    const printer = page.items.find((c) => c.original.src === '192.168.77.11');
    const details = (await (await fetch(`${server.url}/api/connections/${printer?.id}`, { headers: server.authHeaders() })).json()) as ConnectionPage;
    expect(details.macs).toEqual({ '192.168.77.11': expected['192.168.77.11'] });
    // The lease's own MAC stays beside the name: the two may differ (a lease outlives a machine swap).
    expect(page.names['192.168.77.10']?.mac).toBe('02:00:00:00:00:10');
  });

  it('the details and the CSV export carry the names', async () => {
    const page = await list();
    const tcp = page.items.find((c) => c.protocol === 'tcp' && c.original.src === '192.168.77.10');
    const details = await fetch(`${server.url}/api/connections/${tcp?.id}`, { headers: server.authHeaders() });
    expect(((await details.json()) as ConnectionPage).names['192.168.77.10']?.name).toBe('laptop');
    const csv = await (await fetch(`${server.url}/api/connections/export?format=csv`, { headers: server.authHeaders() })).text();
    const [header, ...rows] = csv.trim().split('\r\n').map((line) => line.split(','));
    const at = (name: string) => header.indexOf(name);
    const tcpRow = rows.find((r) => r[at('protocol')] === 'tcp' && r[at('src')] === '192.168.77.10');
    expect(tcpRow?.[at('srcName')]).toBe('laptop');
    expect(tcpRow?.[at('dstName')]).toBe('web.example.net');
    expect(tcpRow?.[at('service')]).toBe('https');
  });

  it('host= selects the entries of the addresses the name stands for (either side, both families, aliases, *.suffix)', async () => {
    const all = await listAll(ns.name);
    expect(idsOf(await list('&host=laptop'))).toEqual(oracleIdsWith(all, ['192.168.77.10', '2001:db8:77::10']));
    expect(idsOf(await list('&host=web.example.net'))).toEqual(oracleIdsWith(all, ['198.51.100.80']));
    expect(idsOf(await list('&host=WWW'))).toEqual(oracleIdsWith(all, ['198.51.100.80']));
    expect(idsOf(await list('&host=*.lan'))).toEqual(oracleIdsWith(all, ['192.168.77.11']));
    expect(idsOf(await list('&host=*.lan&protocol=udp'))).toHaveLength(1);
    expect((await list('&host=nobody.lan')).items).toEqual([]);
    const bad = await fetch(`${server.url}/api/connections?host=${encodeURIComponent('no spaces please')}`, { headers: server.authHeaders() });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as ApiErrorBody).error.field).toBe('host');
  });

  it('free text q finds rows by the names of their addresses', async () => {
    const all = await listAll(ns.name);
    expect(idsOf(await list('&q=printer'))).toEqual(oracleIdsWith(all, ['192.168.77.11']));
    expect(idsOf(await list('&q=EXAMPLE.net'))).toEqual(oracleIdsWith(all, ['198.51.100.80']));
    // Text the rows themselves hold still matches as before.
    expect(idsOf(await list('&q=40002'))).toHaveLength(1);
  });

  it('a delete by host removes exactly its entries and audits the addresses it resolved to', async () => {
    const before = await listAll(ns.name);
    const target = oracleIdsWith(before, ['192.168.77.11']);
    expect(target.length).toBe(2);
    const response = await fetch(`${server.url}/api/connections/delete`, {
      method: 'POST',
      headers: { ...server.authHeaders(), 'Content-Type': 'application/json' },
      body: JSON.stringify({ filter: { host: 'printer.lan' } }),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as DeleteOutcome).deleted).toBe(2);
    const after = await listAll(ns.name);
    expect(after.map((e) => e.id).sort()).toEqual(before.map((e) => e.id).filter((id) => !target.includes(id)).sort());
    const audit = await fetch(`${server.url}/api/audit?action=connections.delete-matching`, { headers: server.authHeaders() });
    const [entry] = ((await audit.json()) as { items: AuditEntry[] }).items;
    expect(entry).toMatchObject({ target: 'connections of host printer.lan', affected: 2, details: { filter: { host: 'printer.lan' }, hostAddresses: ['192.168.77.11'] } });
  });

  it('GET /api/names reports each file and the lines it did not understand; reverse DNS is off by default', async () => {
    const response = await fetch(`${server.url}/api/names`, { headers: server.authHeaders() });
    expect(response.status).toBe(200);
    const status = (await response.json()) as ApiNamesStatus;
    expect(status.files.map((f) => ({ format: f.format, present: f.present, names: f.names, problems: f.problems }))).toEqual([
      { format: 'dnsmasq', present: true, names: 2, problems: [] },
      { format: 'hosts', present: true, names: 2, problems: ['line 3: expected "address name [alias...]"'] },
    ]);
    expect(status.reverseDns.enabled).toBe(false);
    const reverse = await fetch(`${server.url}/api/names/reverse?addresses=198.51.100.80`, { headers: server.authHeaders() });
    expect((await reverse.json()) as ApiReverseNames).toEqual({ enabled: false, names: {}, pending: [] });
  });

  it('a rewritten lease file is picked up', async () => {
    writeFileSync(join(dir, 'dnsmasq.leases'), lease('desktop'));
    await expect.poll(async () => (await list()).names['192.168.77.10']?.name, { timeout: 10_000 }).toBe('desktop');
  });
});
