// The console's router awareness against the lab (the real kernel, the production server, conntrack(8) and the
// lab's address plan as oracles): the WAN column entry by entry (NAT, port forwards, routed entries chosen by an
// mwan3-style fwmark rule), stale after an address replacement (wan2: SNAT to a fixed address, nothing deleted;
// wan1: masquerade, the kernel drops the outbound entries and the port forwards show stale), the uplink filters
// with their 400s, cleanup by WAN deleting exactly what its preview showed, both families, one audit row, and
// the demo controls changing the lab's uplinks (ip -j as the oracle).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiConnection, ApiErrorBody, ApiRouter, CleanupOutcome, ConnectionPage, DemoOutcome } from '@/lib/console';
import type { AuditEntry } from '@/lib/auth';
import { createLab, failover, generateTraffic, replaceWanAddress, wanAddresses, type DualStack, type Lab } from '@/lib/lab';
import { insertWithConntrack, listAll, type OracleEntry } from '../support/oracle';
import { startServer, type TestServer } from '../support/server';

const SRC_NAT = 0x10;
const DST_NAT = 0x20;
/** mwan3 marks in bits 8..13: 0x100 selects wan2's table here. */
const MWAN3_MARK = 0x100;

let lab: Lab;
let server: TestServer;
/** Every address each uplink has held during the test: the oracle for the WAN column. */
const held: Record<'wan1' | 'wan2', string[]> = { wan1: [], wan2: [] };

async function call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T; text: string }> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...server.authHeaders(), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text && (response.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : undefined) as T, text };
}

async function listed(query = ''): Promise<ApiConnection[]> {
  await call('POST', '/api/connections/refresh');
  const reply = await call<ConnectionPage>('GET', `/api/connections?limit=1000&${query}`);
  expect(reply.status, reply.text).toBe(200);
  return reply.body.items;
}

const addOf = (d: DualStack): string[] => [d.ipv4, d.ipv6];

/** What the topology implies for an entry, from the lab's plan and the test's own record of addresses. */
function expectedWan(c: { status: number; original: { src: string; dst: string }; reply: { dst: string }; mark?: number }): string {
  const ownerOf = (address: string) => (held.wan1.includes(address) ? 'wan1' : held.wan2.includes(address) ? 'wan2' : 'none');
  if (c.status & SRC_NAT) return ownerOf(c.reply.dst);
  if (c.status & DST_NAT) return ownerOf(c.original.dst);
  const internet = [...addOf(lab.addresses.internet.server), ...addOf(lab.addresses.internet.client)];
  if (!internet.includes(c.original.dst)) return 'none';
  // Rule 1000 (fwmark 0x100/0x3f00 -> table 102) before the main table (default via wan1 at this point).
  return ((c.mark ?? 0) & 0x3f00) === MWAN3_MARK ? 'wan2' : 'wan1';
}

const oracleEntries = () => listAll(lab.namespaces.router, [], { icmpDetails: false });
// conntrack's XML does not show the NAT bits: the tuples do (a rewritten source or destination).
const snat = (e: OracleEntry): boolean => e.reply.dst !== e.original.src;
const dnat = (e: OracleEntry): boolean => e.reply.src !== e.original.dst;
const externalOf = (e: OracleEntry): string | undefined => (snat(e) ? e.reply.dst : dnat(e) ? e.original.dst : undefined);

beforeAll(async () => {
  lab = await createLab();
  held.wan1.push(...addOf(lab.addresses.wan1.router));
  held.wan2.push(...addOf(lab.addresses.wan2.router));
  await lab.exec('router', 'ip', ['rule', 'add', 'fwmark', `${MWAN3_MARK}/0x3f00`, 'lookup', '102', 'priority', '1000']);
  await lab.exec('router', 'ip', ['-6', 'rule', 'add', 'fwmark', `${MWAN3_MARK}/0x3f00`, 'lookup', '102', 'priority', '1000']);
  // Outbound through wan1 (masquerade) and the inbound port forward on wan1; then through wan2 (SNAT).
  await generateTraffic(lab, { keepAlive: true, kinds: ['tcp-established', 'udp-replied', 'dnat-inbound'] });
  await failover(lab, { to: 'wan2' });
  await generateTraffic(lab, { keepAlive: true, kinds: ['tcp-established', 'udp-replied'] });
  await failover(lab, { to: 'wan1' });
  // Routed entries (no NAT), one with mwan3's mark: their WAN comes from the rules and routes.
  const a = lab.addresses;
  for (const family of ['ipv4', 'ipv6'] as const) {
    for (const [sport, mark] of [[41000, 0], [41001, MWAN3_MARK | 0x40000], [41002, 0x200]] as const) {
      await insertWithConntrack(lab.namespaces.router, { protocol: 'tcp', src: a.lan.clients[0][family], dst: a.internet.server[family], sport, dport: 443, state: 'ESTABLISHED', timeout: 600, mark });
    }
    await insertWithConntrack(lab.namespaces.router, { protocol: 'udp', src: a.lan.clients[1][family], dst: a.lan.gateway[family], sport: 41003, dport: 53, timeout: 600 });
  }
  // The demo controls act on this lab (the last test).
  server = await startServer({ netns: lab.namespaces.router, env: { CONNTRACK_DEMO_LAB: lab.name } });
}, 300_000);

afterAll(async () => {
  await server?.stop();
  await lab?.destroy();
});

describe('router awareness in the API', () => {
  it('gives every connection the WAN its topology implies, including an mwan3 fwmark rule', async () => {
    const items = await listed();
    expect(items.length).toBeGreaterThan(10);
    for (const c of items) {
      const status = (c.status.includes('SRC_NAT') ? SRC_NAT : 0) | (c.status.includes('DST_NAT') ? DST_NAT : 0);
      expect(c.wan, `${c.original.src} -> ${c.original.dst} mark ${c.mark}`).toBe(expectedWan({ ...c, status }));
      expect(c.stale).toBe(false);
    }
    const wans = new Set(items.map((c) => c.wan));
    expect([...wans].sort()).toEqual(['none', 'wan1', 'wan2']);
    const router = await call<ApiRouter>('GET', '/api/router');
    expect(router.status, router.text).toBe(200);
    expect(router.body.wans.map((w) => [w.name, w.state, w.defaultRoute])).toEqual([
      ['wan1', 'up', ['ipv4', 'ipv6']],
      ['wan2', 'up', []],
    ]);
    expect(router.body.connectionsPerWan.wan1).toBe(items.filter((c) => c.wan === 'wan1').length);
  });

  it('refuses an unknown WAN or a bad stale value with a 400 naming the field', async () => {
    for (const path of ['/api/connections?wan=wan9', '/api/connections/export?wan=wan9']) {
      const reply = await call<ApiErrorBody>('GET', path);
      expect(reply.status).toBe(400);
      expect(reply.text).toContain('wan');
    }
    const bad = await call<ApiErrorBody>('GET', '/api/connections?stale=maybe');
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('stale');
    const del = await call<ApiErrorBody>('POST', '/api/connections/delete', { filter: { wan: 'wan9' }, dryRun: true });
    expect(del.status).toBe(400);
    const cleanup = await call<ApiErrorBody>('POST', '/api/connections/cleanup', { wan: 'wan9', dryRun: true });
    expect(cleanup.status).toBe(400);
    expect((await call('POST', '/api/connections/cleanup', { dryRun: true })).status).toBe(400);
  });

  it("wan2's address replaced: its outbound entries show stale and nothing is deleted", async () => {
    const before = await oracleEntries();
    const old = addOf(lab.addresses.wan2.router);
    const onOld = before.filter((e) => snat(e) && old.includes(e.reply.dst));
    expect(onOld.map((e) => e.family).sort()).toContain('ipv6');
    const next = await replaceWanAddress(lab, 'wan2');
    held.wan2.push(...addOf(next));
    await new Promise((r) => setTimeout(r, 500));
    const after = await oracleEntries();
    expect(after.filter((e) => snat(e) && old.includes(e.reply.dst)).length).toBe(onOld.length);
    const stale = await listed('stale=true');
    expect(stale.map((c) => c.id).sort()).toEqual(onOld.map((e) => e.id).sort());
    for (const c of stale) {
      expect(c.wan).toBe('wan2');
      expect(c.external).toMatchObject({ wan: 'wan2', held: false, kind: 'snat' });
      expect(c.external?.until).toBeDefined();
    }
    expect((await listed('wan=wan2&stale=true')).length).toBe(onOld.length);
    // The details (read live) say the same.
    const details = await call<{ connection: ApiConnection }>('GET', `/api/connections/${onOld[0].id}`);
    expect(details.status, details.text).toBe(200);
    expect(details.body.connection).toMatchObject({ wan: 'wan2', stale: true, external: { wan: 'wan2', held: false, kind: 'snat' } });
    expect(details.body.connection.external?.until).toBeDefined();
    // The shell's notice area says so, linking to the cleanup of the one WAN concerned.
    const notices = await call<{ notices: { id: string; title: string; link?: { href: string } }[] }>('GET', '/api/notices');
    expect(notices.status, notices.text).toBe(200);
    expect(notices.body.notices.find((n) => n.id === 'router:stale')).toMatchObject({
      title: `${onOld.length} connections use an address no interface holds any more`,
      link: { href: '/router?cleanup=wan2' },
    });
  });

  it("wan1's address replaced: the kernel drops the masquerade entries, the port forwards show stale", async () => {
    const old = addOf(lab.addresses.wan1.router);
    const before = await oracleEntries();
    expect(before.some((e) => snat(e) && old.includes(e.reply.dst))).toBe(true);
    const inbound = before.filter((e) => dnat(e) && !snat(e) && old.includes(e.original.dst));
    expect(inbound.length).toBeGreaterThan(0);
    const next = await replaceWanAddress(lab, 'wan1');
    held.wan1.push(...addOf(next));
    const deadline = Date.now() + 10_000;
    while ((await oracleEntries()).some((e) => snat(e) && old.includes(e.reply.dst)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect((await oracleEntries()).some((e) => snat(e) && old.includes(e.reply.dst))).toBe(false);
    const stale = await listed('wan=wan1&stale=true');
    expect(stale.map((c) => c.id).sort()).toEqual(inbound.map((e) => e.id).sort());
    for (const c of stale) expect(c.external).toMatchObject({ kind: 'dnat', wan: 'wan1', held: false });
  });

  it('cleanup by WAN deletes exactly what its preview showed, both families, inbound only when asked, one audit row', async () => {
    const wan1 = [...held.wan1];
    const before = await oracleEntries();
    const outbound = before.filter((e) => snat(e) && wan1.includes(e.reply.dst));
    const inbound = before.filter((e) => dnat(e) && !snat(e) && wan1.includes(e.original.dst));
    expect(inbound.length).toBeGreaterThan(0);

    // Outbound only: the port forwards stay.
    const preview = await call<CleanupOutcome>('POST', '/api/connections/cleanup', { wan: 'wan1', dryRun: true });
    expect(preview.status, preview.text).toBe(200);
    expect(preview.body).toMatchObject({ activeUplink: true, warning: 'this cuts live connections of the active uplink', inbound: null, inboundSkipped: inbound.length });
    expect(preview.body.outbound.matched).toBe(outbound.length);
    expect(preview.body.addresses.map((a) => a.address).sort()).toEqual(wan1.sort());
    const done = await call<CleanupOutcome>('POST', '/api/connections/cleanup', { wan: 'wan1' });
    expect(done.status, done.text).toBe(200);
    expect(done.body.outbound.deleted).toBe(outbound.length);
    let now = await oracleEntries();
    expect(now.filter((e) => outbound.some((o) => o.id === e.id))).toEqual([]);
    expect(now.filter((e) => inbound.some((i) => i.id === e.id)).length).toBe(inbound.length);

    // With inbound: the port forwards, both families, go too; nothing else does.
    const withInbound = await call<CleanupOutcome>('POST', '/api/connections/cleanup', { wan: 'wan1', inbound: true, dryRun: true });
    expect(withInbound.body.inbound?.matched).toBe(inbound.length);
    expect(new Set(withInbound.body.inbound?.preview?.map((c) => c.family))).toEqual(new Set(['ipv4', 'ipv6']));
    const others = now.filter((e) => !inbound.some((i) => i.id === e.id) && !wan1.includes(externalOf(e) ?? ''));
    const cleaned = await call<CleanupOutcome>('POST', '/api/connections/cleanup', { wan: 'wan1', inbound: true });
    expect(cleaned.body.inbound?.deleted).toBe(inbound.length);
    now = await oracleEntries();
    expect(now.filter((e) => wan1.includes(externalOf(e) ?? ''))).toEqual([]);
    for (const e of others) expect(now.some((n) => n.id === e.id), `entry ${e.id} kept`).toBe(true);

    const audit = await call<{ items: AuditEntry[] }>('GET', '/api/audit?action=connections.cleanup');
    expect(audit.status, audit.text).toBe(200);
    expect(audit.body.items.length).toBe(2);
    expect(audit.body.items.map((e) => e.affected).sort()).toEqual([outbound.length, inbound.length].sort());
    // One row per cleanup (dry runs leave none), newest first.
    expect(audit.body.items.map((e) => e.details)).toMatchObject([
      { wan: 'wan1', inbound: true, inboundDeleted: inbound.length },
      { wan: 'wan1', inbound: false, outbound: outbound.length },
    ]);
  });

  it("the demo controls change the lab's uplinks, audited, and the Router API follows", async () => {
    const ipLink = async (dev: string) => (JSON.parse((await lab.exec('internet', 'ip', ['-j', 'link', 'show', dev])).stdout) as { operstate: string }[])[0];
    const demo = (body: unknown) => call<DemoOutcome & ApiErrorBody>('POST', '/api/router/demo', body);
    const bad = await demo({ wan: 'wan2', action: 'explode' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('action');
    expect((await demo({ wan: 'wan9', action: 'carrier-down' })).body.error.field).toBe('wan');

    // Carrier cut: the peer side goes down, the router's link stays up without carrier.
    expect((await demo({ wan: 'wan2', action: 'carrier-down' })).status).toBe(200);
    expect((await ipLink('up2')).operstate).toBe('DOWN');
    const wan2 = async () => (await call<ApiRouter>('GET', '/api/router')).body.wans.find((w) => w.name === 'wan2');
    const deadline = Date.now() + 10_000;
    while ((await wan2())?.state !== 'no-carrier' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect((await wan2())?.state).toBe('no-carrier');
    expect((await demo({ wan: 'wan2', action: 'carrier-up' })).status).toBe(200);

    // A new address, as after a PPPoE reconnect: the kernel has it, the old one becomes a former address.
    const before = await wanAddresses(lab, 'wan2');
    const renewed = await demo({ wan: 'wan2', action: 'new-address' });
    expect(renewed.status, renewed.text).toBe(200);
    const after = await wanAddresses(lab, 'wan2');
    expect(after.ipv4).not.toBe(before.ipv4);
    expect(renewed.body.done).toContain(after.ipv4);
    while (!(await wan2())?.former.some((f) => f.address === before.ipv4) && Date.now() < deadline + 10_000) await new Promise((r) => setTimeout(r, 200));
    expect((await wan2())?.former.map((f) => f.address)).toContain(before.ipv4);

    // The default route moves: the main table's default goes through wan2.
    expect((await demo({ wan: 'wan2', action: 'default-route' })).status).toBe(200);
    expect((await lab.exec('router', 'ip', ['-4', 'route', 'show', 'default'])).stdout).toMatch(/dev wan2\b/);

    const audit = await call<{ items: AuditEntry[] }>('GET', '/api/audit?action=demo.uplink');
    expect(audit.body.items.map((e) => e.details?.action)).toEqual(['default-route', 'new-address', 'carrier-up', 'carrier-down']);
  });
});
