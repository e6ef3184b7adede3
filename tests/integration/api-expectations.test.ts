// The expectations API and the connection fields behind it (helper, labels, zone, mark) against the real server
// managing a lab router, with conntrack-tools as the oracle for what every list showed and every delete did.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '@/lib/auth';
import type { ApiErrorBody, ApiExpectation, ConnectionDetails, ConnectionPage, ExpectationsDeleteOutcome } from '@/lib/console';
import { createLab, LAB_CONNLABELS, pingRouter, startFtpSession, type FtpSession, type Lab } from '@/lib/lab';
import { listAll, type OracleEntry } from '../support/oracle';
import { listExpectationsWithConntrack, listWithLabels, type OracleExpectation } from '../support/oracle-extra';
import { startServer, type TestServer } from '../support/server';
import { until } from '../support/until';

let lab: Lab;
let server: TestServer;
let scratch: string;
const sessions: FtpSession[] = [];

async function call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T; text: string }> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...server.authHeaders(), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T, text };
}

const oracleExpectations = (): Promise<OracleExpectation[]> => listExpectationsWithConntrack(lab.namespaces.router);
// By family and data port: an IPv4 and the IPv6 session can be given the same data port (their servers listen on
// different addresses); the IPv4 sessions cannot (one server address).
const dataPorts = (list: OracleExpectation[]) => list.map((e) => `${e.family} ${e.tuple.dport}`).sort();
const apiPorts = (items: ApiExpectation[]) => items.map((e) => `${e.family} ${e.expected.dport}`).sort();
const portOf = (e: ApiExpectation) => `${e.family} ${e.expected.dport}`;

async function listed(query = ''): Promise<ApiExpectation[]> {
  const reply = await call<{ matched: number; items: ApiExpectation[] }>('GET', `/api/expectations${query}`);
  expect(reply.status, reply.text).toBe(200);
  expect(reply.body.matched).toBe(reply.body.items.length);
  return reply.body.items;
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'ctc-api-expect-'));
  const connlabelFile = join(scratch, 'connlabel.conf');
  writeFileSync(connlabelFile, LAB_CONNLABELS);
  lab = await createLab();
  server = await startServer({ netns: lab.namespaces.router, env: { CONNTRACK_CONNLABEL_FILE: connlabelFile } });
  sessions.push(await startFtpSession(lab, { client: 0 }), await startFtpSession(lab, { client: 1 }), await startFtpSession(lab, { family: 'ipv6' }));
  await pingRouter(lab, { keepAlive: true });
  await until('three expectations', oracleExpectations, { done: (list) => list.length === 3 });
}, 600_000);

afterAll(async () => {
  await server?.stop();
  await lab?.destroy();
  rmSync(scratch, { recursive: true, force: true });
});

describe('GET /api/expectations', () => {
  it('lists what conntrack -L expect lists, with helper, class, timeout and the master id', async () => {
    const items = await listed();
    const oracle = await oracleExpectations();
    expect(apiPorts(items)).toEqual(dataPorts(oracle));
    const table = await listAll(lab.namespaces.router);
    for (const e of items) {
      const twin = oracle.find((o) => o.family === e.family && o.tuple.dport === e.expected.dport);
      expect([e.helper, e.class, e.expected.src, e.mask.dport]).toEqual([twin?.helper, twin?.class, twin?.tuple.src, twin?.mask.dport]);
      expect(Math.abs(e.timeout - (twin?.timeout ?? -100))).toBeLessThanOrEqual(3);
      const master = table.find((c) => c.original.src === e.master.original.src && c.original.sport === e.master.original.sport && c.original.dport === 21);
      expect(e.master.id).toBe(master?.id);
    }
  });

  it('filters by helper, master, address and port', async () => {
    const all = await listed();
    expect(await listed('?helper=ftp')).toHaveLength(3);
    expect(await listed('?helper=sip')).toHaveLength(0);
    const one = all[0];
    expect((await listed(`?master=${one.master.id}`)).map((e) => e.id)).toEqual([one.id]);
    const samePort = all.filter((e) => e.expected.dport === one.expected.dport).map((e) => e.id);
    expect(samePort).toContain(one.id);
    expect((await listed(`?port=${one.expected.dport}`)).map((e) => e.id).sort()).toEqual(samePort.sort());
    expect((await listed('?address=2001:db8::/32')).map((e) => e.family)).toEqual(['ipv6']);
    expect((await listed(`?address=${lab.addresses.lan.clients[1].ipv4}`)).map((e) => e.master.original.src)).toEqual([lab.addresses.lan.clients[1].ipv4]);
  });

  it.each([
    ['helper=two%20words', 'helper'],
    ['master=x', 'master'],
    ['port=70000', 'port'],
    ['address=300.1.1.1', 'address'],
    ['family=ipx', 'family'],
    ['nonsense=1', 'nonsense'],
  ])('400 for %s, naming %s', async (query, field) => {
    const reply = await call<ApiErrorBody>('GET', `/api/expectations?${query}`);
    expect(reply.status, reply.text).toBe(400);
    expect(reply.body.error.field).toBe(field);
  });
});

describe('connections: helper, labels, zone, mark', () => {
  let labelled: OracleEntry[];
  beforeAll(async () => {
    labelled = await listWithLabels(lab.namespaces.router, LAB_CONNLABELS);
  });

  async function ids(query: string): Promise<number[]> {
    await call('POST', '/api/connections/refresh', {});
    const reply = await call<ConnectionPage>('GET', `/api/connections?limit=1000&${query}`);
    expect(reply.status, reply.text).toBe(200);
    return reply.body.items.map((c) => c.id).sort((a, b) => a - b);
  }
  const oracleIds = (pick: (e: OracleEntry) => boolean) => labelled.filter(pick).map((e) => e.id ?? -1).sort((a, b) => a - b);

  it('helper= and the helper field equal conntrack', async () => {
    const want = oracleIds((e) => e.helper === 'ftp');
    expect(want.length).toBeGreaterThanOrEqual(3);
    expect(await ids('helper=ftp')).toEqual(want);
    const page = await call<ConnectionPage>('GET', '/api/connections?limit=1000&helper=ftp');
    for (const c of page.body.items) expect(c.helper).toBe('ftp');
  });

  it('label= by name or bit, and the label names, equal conntrack -o labels', async () => {
    const want = oracleIds((e) => (e.labels ?? []).includes('ftp-control'));
    expect(want.length).toBeGreaterThanOrEqual(3);
    expect(await ids('label=ftp-control')).toEqual(want);
    expect(await ids(`label=${lab.addresses.labels.ftpControl}`)).toEqual(want);
    const page = await call<ConnectionPage>('GET', '/api/connections?limit=1000');
    for (const c of page.body.items) {
      const twin = labelled.find((e) => e.id === c.id);
      if (twin) expect([c.id, c.labels ?? []]).toEqual([c.id, twin.labels ?? []]);
    }
    const unknown = await call<ApiErrorBody>('GET', '/api/connections?label=no-such-label');
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.field).toBe('label');
  });

  it('zone= and mark= (value/mask) equal conntrack', async () => {
    expect(await ids(`zone=${lab.addresses.routerZone}`)).toEqual(oracleIds((e) => e.zone === lab.addresses.routerZone));
    expect(oracleIds((e) => e.zone === lab.addresses.routerZone).length).toBeGreaterThan(0);
    const want = oracleIds((e) => ((e.mark ?? 0) & 0x3f00) === 0x100);
    expect(want.length).toBeGreaterThan(0);
    expect(await ids(`mark=${encodeURIComponent('0x100/0x3f00')}`)).toEqual(want);
  });

  it('details: a connection with a helper lists its expectations; a RELATED one names its master', async () => {
    const control = labelled.find((e) => e.helper === 'ftp' && e.original.sport === sessions[0].control.sport);
    const details = await call<ConnectionDetails>('GET', `/api/connections/${control?.id}`);
    expect(details.status, details.text).toBe(200);
    expect(details.body.expectations.map((e) => e.expected.dport)).toEqual([sessions[0].dataPort]);
    const session = await startFtpSession(lab, { client: 1, data: true });
    const data = (await listAll(lab.namespaces.router)).find((e) => e.original.sport === session.data?.sport && e.original.dport === session.dataPort);
    const master = (await listAll(lab.namespaces.router)).find((e) => e.original.sport === session.control.sport && e.original.dport === 21);
    const related = await call<ConnectionDetails>('GET', `/api/connections/${data?.id}`);
    expect(related.status, related.text).toBe(200);
    expect(related.body.master).toEqual({ id: master?.id });
    expect(related.body.connection.master).toMatchObject({ src: session.control.src, sport: session.control.sport, dport: 21 });
    await session.close();
  });
});

describe('deleting expectations', () => {
  const audit = async (action: string) => (await call<{ items: AuditEntry[] }>('GET', `/api/audit?action=${action}`)).body.items;

  it('DELETE /api/expectations/{id} removes exactly it (audited); again is a 404', async () => {
    const before = await oracleExpectations();
    const [target] = await listed(`?master=${(await listed()).find((e) => e.master.original.sport === sessions[0].control.sport)?.master.id}`);
    const reply = await call('DELETE', `/api/expectations/${target.id}`);
    expect(reply.status, reply.text).toBe(200);
    expect(dataPorts(await oracleExpectations())).toEqual(dataPorts(before).filter((p) => p !== portOf(target)));
    expect((await call('DELETE', `/api/expectations/${target.id}`)).status).toBe(404);
    const entries = await audit('expectation.delete');
    expect(entries.map((e) => [e.target, e.outcome])).toContainEqual([`expectation ${target.id}`, 'ok']);
    expect((await call<ApiErrorBody>('DELETE', '/api/expectations/x')).status).toBe(400);
  });

  it('POST /api/expectations/delete removes exactly those of the master (audited)', async () => {
    const before = await oracleExpectations();
    const victim = (await listed()).find((e) => e.master.original.sport === sessions[1].control.sport);
    const reply = await call<ExpectationsDeleteOutcome>('POST', '/api/expectations/delete', { master: victim?.master.id });
    expect(reply.status, reply.text).toBe(200);
    expect([reply.body.matched, reply.body.deleted]).toEqual([1, 1]);
    expect(dataPorts(await oracleExpectations())).toEqual(dataPorts(before).filter((p) => victim === undefined || p !== portOf(victim)));
    expect((await audit('expectations.delete-master')).map((e) => [e.affected, e.outcome])).toContainEqual([1, 'ok']);
    const bad = await call<ApiErrorBody>('POST', '/api/expectations/delete', { master: 'x' });
    expect([bad.status, bad.body.error.field]).toEqual([400, 'master']);
    const gone = await call<ApiErrorBody>('POST', '/api/expectations/delete', { master: 1 });
    expect(gone.status).toBe(404);
  });

  it('POST /api/expectations/flush removes every expectation (audited)', async () => {
    await startFtpSession(lab, { client: 0 });
    const before = await until('expectations to flush', oracleExpectations, { done: (list) => list.length >= 2 });
    const reply = await call<{ deleted: number }>('POST', '/api/expectations/flush', {});
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body.deleted).toBe(before.length);
    expect(await oracleExpectations()).toEqual([]);
    expect((await audit('expectations.flush')).map((e) => [e.affected, e.outcome])).toContainEqual([before.length, 'ok']);
  });
});
