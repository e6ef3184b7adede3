// Reverse DNS through the real server against the lab's resolver on loopback: PTR names for a page's addresses on
// request (GET /api/names/reverse), never during a list request, cached, a silent zone costing one timeout once,
// and bad input refused naming the field. Nothing leaves the machine: the resolver listens on 127.0.0.1.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiErrorBody, ApiNamesStatus, ApiReverseNames, ConnectionPage } from '@/lib/console';
import { ptrName, startLabDns, type LabDns } from '@/lib/lab/dns';
import { createTestNamespace, insertWithConntrack, type TestNamespace } from '../support/oracle';
import { startServer, type TestServer } from '../support/server';

let ns: TestNamespace;
let server: TestServer;
let dns: LabDns;
let dir: string;

const NAMED = '198.51.100.80';
const NO_NAME = '192.0.2.99';
const SILENT = '2001:db8:ff::53';
/** Asked only by the test of a page answered while a lookup hangs (nothing else may have cached it). */
const SILENT_TOO = '192.0.2.153';
const LAPTOP = '192.168.77.10';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ctc-rdns-'));
  writeFileSync(join(dir, 'hosts'), `${LAPTOP} laptop.lan\n`);
  dns = await startLabDns({ names: { [NAMED]: 'web.isp.example', [LAPTOP]: 'dhcp-10.isp.example' }, silent: [SILENT, SILENT_TOO] });
  ns = await createTestNamespace('ctc-rdns');
  for (const spec of [
    { protocol: 'tcp', state: 'ESTABLISHED', timeout: 3600, src: LAPTOP, dst: NAMED, sport: 40000, dport: 443 },
    { protocol: 'udp', timeout: 600, src: LAPTOP, dst: NO_NAME, sport: 40001, dport: 53 },
    { protocol: 'udp', timeout: 600, src: '2001:db8:77::10', dst: SILENT, sport: 40002, dport: 53 },
  ] as const) {
    const r = await insertWithConntrack(ns.name, spec);
    expect(r.exitCode, r.stderr).toBe(0);
  }
  server = await startServer({
    netns: ns.name,
    env: { CONNTRACK_REVERSE_DNS: 'on', CONNTRACK_DNS_SERVERS: dns.server, CONNTRACK_NAME_FILES: `hosts:${join(dir, 'hosts')}` },
  });
});

afterAll(async () => {
  await server?.stop();
  await ns?.dispose();
  await dns?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function get<T>(path: string): Promise<{ status: number; body: T }> {
  const response = await fetch(`${server.url}${path}`, { headers: server.authHeaders() });
  return { status: response.status, body: (await response.json()) as T };
}
const questionsAbout = (address: string) => dns.questions.filter((q) => q === ptrName(address)).length;

describe('reverse DNS in the API', () => {
  it('GET /api/names says reverse DNS is on, with its bounds', async () => {
    const { status, body } = await get<ApiNamesStatus>('/api/names');
    expect(status).toBe(200);
    expect(body.reverseDns).toEqual({ enabled: true, timeoutMs: 1000, cacheSeconds: 3600, perPage: 50 });
  });

  it('a list request never asks the resolver (its names come from the files only)', async () => {
    const before = dns.questions.length;
    await fetch(`${server.url}/api/connections/refresh`, { method: 'POST', headers: server.authHeaders() });
    for (let i = 0; i < 3; i++) {
      const page = await get<ConnectionPage>('/api/connections?limit=100');
      expect(page.status).toBe(200);
      expect(page.body.items).toHaveLength(3);
      expect(page.body.names[LAPTOP]).toEqual({ name: 'laptop.lan', source: 'hosts' });
      expect(page.body.names[NAMED]).toBeUndefined();
    }
    expect(dns.questions.length).toBe(before);
  });

  it('GET /api/names/reverse answers PTR names; no name and a silent zone give none; each address is asked once', async () => {
    const path = `/api/names/reverse?addresses=${encodeURIComponent([NAMED, NO_NAME, SILENT].join(','))}`;
    const first = await get<ApiReverseNames>(path);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ enabled: true, names: { [NAMED]: { name: 'web.isp.example', source: 'dns' } }, pending: [] });
    const second = await get<ApiReverseNames>(path);
    expect(second.body).toEqual(first.body);
    for (const address of [NAMED, NO_NAME, SILENT]) expect(questionsAbout(address), address).toBe(1);
  });

  it('a page answers while a lookup on a resolver that never answers is still waiting, and asks it nothing', async () => {
    const asked = dns.questions.length;
    let lookupDone = false;
    const lookup = get<ApiReverseNames>(`/api/names/reverse?addresses=${SILENT_TOO}`).then((reply) => {
      lookupDone = true;
      return reply;
    });
    // The resolver holds the question (and will never answer it): the lookup now waits for its timeout.
    await expect.poll(() => questionsAbout(SILENT_TOO), { timeout: 10_000 }).toBe(1);
    const page = await get<ConnectionPage>('/api/connections?limit=100');
    // Had the page waited for any lookup, it would come after the one in flight (its answer needs the timeout).
    expect(lookupDone).toBe(false);
    expect(page.status).toBe(200);
    expect(page.body.items).toHaveLength(3);
    expect(page.body.names[LAPTOP]).toEqual({ name: 'laptop.lan', source: 'hosts' });
    expect(dns.questions.length).toBe(asked + 1);
    expect((await lookup).body).toEqual({ enabled: true, names: {}, pending: [] });
  });

  it.each([
    ['not an address', 'addresses=laptop'],
    ['no address', 'addresses='],
    ['too many addresses', `addresses=${Array.from({ length: 51 }, (_, i) => `192.0.2.${i + 1}`).join(',')}`],
    ['no addresses field', ''],
    ['an unknown field', 'addresses=192.0.2.1&wait=1'],
  ])('%s: 400 naming the field', async (_name, query) => {
    const { status, body } = await get<ApiErrorBody>(`/api/names/reverse?${query}`);
    expect(status).toBe(400);
    expect(body.error.field).toBe(query.includes('wait') ? 'wait' : 'addresses');
  });
});
