// The lab router's helper, label, zone and mark features against the real kernel, with conntrack-tools as the
// oracle: expectations from real FTP passive-mode replies (list, delete one, delete those of a master, flush),
// labels by name (connlabel.conf), zones, marks and delete by mark/mask.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conntrack, IPS, sameTuple, type Connection, type Expectation, type ListedExpectation } from '@/lib/conntrack';
import { labelBits, labelName, parseConnlabelConf } from '@/lib/conntrack/labels';
import { createLab, failover, generateTraffic, LAB_CONNLABELS, pingRouter, startFtpSession, type FtpSession, type Lab } from '@/lib/lab';
import { listAll, type OracleEntry } from '../support/oracle';
import { listExpectationsWithConntrack, listWithLabels, type OracleExpectation } from '../support/oracle-extra';
import { until } from '../support/until';

let lab: Lab;
let ct: Conntrack;

beforeAll(async () => {
  lab = await createLab();
  ct = new Conntrack({ netns: lab.namespaces.router });
}, 120_000);

afterAll(async () => {
  await lab?.destroy();
});

const oracleExpectations = (): Promise<OracleExpectation[]> => listExpectationsWithConntrack(lab.namespaces.router);

/** The comparable part of an expectation: what conntrack -L expect prints, minus the ticking timeout. */
function key(e: { family: string; protocol: number; tuple: Part; mask: Part; master: Part; helper?: string; class: number }): string {
  const p = (x: Part) => `${x.src} ${x.sport ?? '-'} > ${x.dst} ${x.dport ?? '-'}`;
  return `${e.family} ${e.protocol} [${p(e.tuple)}] mask [${p(e.mask)}] master [${p(e.master)}] ${e.helper ?? ''} class ${e.class}`;
}
type Part = { src: string; dst: string; sport?: number; dport?: number };
const ours = (e: Expectation) => key({ ...e, protocol: e.tuple.protocol });

/** The expectation whose master is this FTP session's control connection. */
function ofSession(listed: readonly ListedExpectation[], session: FtpSession): ListedExpectation | undefined {
  return listed.find(({ expectation: e }) => e.master.src === session.control.src && e.master.sport === session.control.sport && e.master.dport === session.control.dport);
}

describe('expectations (FTP passive mode through the ftp helper)', () => {
  const sessions: FtpSession[] = [];

  it('lists what conntrack -L expect lists, each with its master connection', async () => {
    sessions.push(await startFtpSession(lab, { client: 0 }), await startFtpSession(lab, { client: 1 }), await startFtpSession(lab, { family: 'ipv6' }));
    const oracle = await until('three expectations', oracleExpectations, { done: (list) => list.length === 3 });
    const listed = await ct.expectations.list();
    expect(listed.map(({ expectation }) => ours(expectation)).sort()).toEqual(oracle.map(key).sort());
    for (const { expectation, master } of listed) {
      const twin = oracle.find((o) => key(o) === ours(expectation));
      expect(Math.abs(expectation.timeout - (twin?.timeout ?? -100))).toBeLessThanOrEqual(3);
      expect(expectation.helper).toBe('ftp');
      // The helper expects the data connection to the port the server announced, from the client.
      expect(sessions.map((s) => s.dataPort)).toContain(expectation.tuple.dport);
      expect(master).toBeDefined();
      expect(sameTuple(master?.original as Connection['original'], expectation.master)).toBe(true);
      expect(master?.helper).toBe('ftp');
    }
    // The master ids are the ids conntrack(8) gives those connections.
    const table = await listAll(lab.namespaces.router);
    for (const { expectation, master } of listed) {
      const entry = table.find((e) => e.original.src === expectation.master.src && e.original.sport === expectation.master.sport && e.original.dport === 21);
      expect(master?.id).toBe(entry?.id);
    }
  });

  it('filters by helper, master, address and port', async () => {
    const all = await ct.expectations.list();
    const first = ofSession(all, sessions[0]);
    expect(first?.master?.id).toBeDefined();
    expect(await ct.expectations.list({ helper: 'ftp' })).toHaveLength(3);
    expect(await ct.expectations.list({ helper: 'sip' })).toHaveLength(0);
    const byMaster = await ct.expectations.list({ master: first?.master?.id });
    expect(byMaster.map((l) => l.expectation.id)).toEqual([first?.expectation.id]);
    const v6 = await ct.expectations.list({ address: { family: 'ipv6', bytes: new Uint8Array(16), length: 0, text: '::/0' } });
    expect(v6.map((l) => l.expectation.family)).toEqual(['ipv6']);
    const byPort = await ct.expectations.list({ port: { min: sessions[1].dataPort, max: sessions[1].dataPort } });
    expect(byPort.map((l) => l.expectation.tuple.dport)).toEqual([sessions[1].dataPort]);
  });

  it('deleting one removes exactly it', async () => {
    const before = await oracleExpectations();
    const target = ofSession(await ct.expectations.list(), sessions[0]);
    if (!target) throw new Error('no expectation for the first session');
    const ref = { family: target.expectation.family, tuple: target.expectation.tuple, zone: target.expectation.zone, id: target.expectation.id };
    expect(await ct.expectations.delete(ref)).toBe('deleted');
    const after = await oracleExpectations();
    expect(after.map(key).sort()).toEqual(before.map(key).filter((k) => k !== ours(target.expectation)).sort());
    // Again: it is gone, and nothing else goes with it.
    expect(await ct.expectations.delete(ref)).toBe('gone');
    expect((await oracleExpectations()).map(key).sort()).toEqual(after.map(key).sort());
  });

  it('deleting those of one master removes exactly those', async () => {
    sessions.push(await startFtpSession(lab, { client: 0 }));
    await until('three expectations again', oracleExpectations, { done: (list) => list.length === 3 });
    const before = await oracleExpectations();
    const listed = await ct.expectations.list();
    const target = ofSession(listed, sessions[1]);
    if (!target?.master) throw new Error('no expectation (or master) for the second session');
    const mine = listed.filter((l) => l.master?.id === target.master?.id).map((l) => ours(l.expectation));
    const result = await ct.expectations.deleteOfMaster(target.master);
    expect([result.matched, result.deleted, result.failed.length]).toEqual([mine.length, mine.length, 0]);
    expect((await oracleExpectations()).map(key).sort()).toEqual(before.map(key).filter((k) => !mine.includes(k)).sort());
    // A master whose expectations are gone: nothing matches, nothing changes.
    const again = await ct.expectations.deleteOfMaster(target.master);
    expect(again.matched).toBe(0);
    expect((await oracleExpectations()).length).toBe(before.length - mine.length);
  });

  it('an opened data connection is RELATED: EXPECTED, with its master tuple', async () => {
    const session = await startFtpSession(lab, { client: 1 });
    sessions.push(session);
    const control = { ...session.control, protocol: 6 };
    const mine = (list: ListedExpectation[]) =>
      list.filter((l) => l.expectation.tuple.dport === session.dataPort && sameTuple(l.expectation.master, control));
    const pending = await until('the session\'s expectation', async () => mine(await ct.expectations.list()), { done: (list) => list.length > 0 });
    const data = await session.openData();
    const entry = (await ct.list({ protocol: 6 })).find((c) => c.original.src === data.src && c.original.sport === data.sport && c.original.dport === data.dport);
    expect(entry).toBeDefined();
    expect((entry?.status ?? 0) & IPS.EXPECTED).toBe(IPS.EXPECTED);
    expect(entry?.master && sameTuple(entry.master, control)).toBe(true);
    // The expectation it used is gone. Compared by id: a server segment the kernel sees twice (a TCP retransmission
    // of the passive-mode reply on a loaded machine) makes the helper expect the same port again, as a new one.
    const ids = (await ct.expectations.list()).map((l) => l.expectation.id);
    expect(ids.filter((id) => pending.some((l) => l.expectation.id === id))).toEqual([]);
  });

  it('flush removes every expectation', async () => {
    const before = (await oracleExpectations()).length;
    expect(before).toBeGreaterThan(0);
    expect(await ct.expectations.flush()).toEqual({ deleted: before });
    expect(await oracleExpectations()).toEqual([]);
    for (const session of sessions.splice(0)) await session.close();
  });
});

describe('labels, zones and marks', () => {
  const names = parseConnlabelConf(LAB_CONNLABELS);
  let oracle: OracleEntry[];
  let table: Connection[];

  beforeAll(async () => {
    await generateTraffic(lab, { kinds: ['tcp-established', 'tcp-idle', 'dnat-inbound'] });
    await startFtpSession(lab, { client: 0 });
    await pingRouter(lab, { family: 'ipv4', keepAlive: true });
    await pingRouter(lab, { family: 'ipv6', keepAlive: true });
    await until('router-zone entries', () => ct.list({ zone: lab.addresses.routerZone }), { done: (list) => list.length >= 2 });
    table = await ct.list();
    oracle = await listWithLabels(lab.namespaces.router, LAB_CONNLABELS);
  }, 60_000);

  const byId = (id: number | undefined) => oracle.find((e) => e.id === id);

  it('labels equal conntrack -L -o labels, by name from connlabel.conf', () => {
    let compared = 0;
    for (const c of table) {
      const twin = byId(c.id);
      if (!twin) continue;
      compared++;
      expect([c.id, labelBits(c.labels).map((bit) => labelName(bit, names))]).toEqual([c.id, twin.labels ?? []]);
    }
    expect(compared).toBeGreaterThan(5);
    const all = table.flatMap((c) => labelBits(c.labels).map((bit) => labelName(bit, names)));
    expect(all).toContain('ftp-control');
    expect(all).toContain('second-client');
  });

  it('zones equal the oracle; router-local traffic is in the router zone', () => {
    for (const c of table) {
      const twin = byId(c.id);
      if (twin) expect([c.id, c.zone]).toEqual([c.id, twin.zone]);
    }
    const zoned = table.filter((c) => c.zone === lab.addresses.routerZone);
    expect(zoned.map((c) => c.original.dst).sort()).toEqual(expect.arrayContaining([lab.addresses.lan.gateway.ipv4, lab.addresses.lan.gateway.ipv6]));
    for (const c of zoned) expect(Object.values(lab.addresses.lan.gateway)).toContain(c.original.dst);
  });

  it('marks equal the oracle; forwarded connections carry their uplink mark', () => {
    for (const c of table) {
      const twin = byId(c.id);
      if (twin) expect([c.id, c.mark ?? 0]).toEqual([c.id, twin.mark ?? 0]);
    }
    expect(table.some((c) => c.mark === lab.addresses.wanMarks.wan1)).toBe(true);
  });

  it('delete by mark/mask (0x100/0x3f00) deletes exactly the matching entries', async () => {
    await failover(lab, { to: 'wan2' });
    await generateTraffic(lab, { kinds: ['tcp-established', 'tcp-idle'] });
    await failover(lab, { to: 'wan1' });
    const before = await listAll(lab.namespaces.router);
    const selected = (e: OracleEntry) => ((e.mark ?? 0) & 0x3f00) === 0x100;
    expect(before.filter(selected).length).toBeGreaterThan(0);
    expect(before.some((e) => e.mark === lab.addresses.wanMarks.wan2)).toBe(true);
    const result = await ct.deleteMatching({ mark: { value: 0x100, mask: 0x3f00 } });
    const after = await listAll(lab.namespaces.router);
    const afterIds = new Set(after.map((e) => e.id));
    // None that matched is left; every other entry from before is still there.
    expect(after.filter(selected).map((e) => e.id)).toEqual([]);
    expect(before.filter((e) => !selected(e) && !afterIds.has(e.id)).map((e) => e.id)).toEqual([]);
    expect(result.matched).toBe(before.filter(selected).length);
  });
});
