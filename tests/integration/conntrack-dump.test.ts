// Dumping the real table: list(), dump() and snapshot() agree with conntrack(8) (`conntrack -L -o xml,id`) field by
// field, for entries inserted with conntrack -I and for the entries real traffic leaves in the lab router's table.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conntrack, type Connection, type Snapshot } from '@/lib/conntrack';
import { createLab, generateTraffic, type GeneratedTraffic, type Lab } from '@/lib/lab';
import { compareConnections, listAll, type OracleEntry } from '../support/oracle';
import { insertVaried, loadBulk, VARIED_ENTRIES, withTestNamespace } from './conntrack-setup';

const json = (value: unknown): string => String(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));

/** Differences between a snapshot row and the same entry from list(), on every field the snapshot keeps. */
function snapshotDifferences(snapshot: Snapshot, listed: Connection[]): string[] {
  const out: string[] = [];
  const byId = new Map(listed.map((c) => [c.id, c]));
  const seen = new Set<number | undefined>();
  for (let row = 0; row < snapshot.size; row++) {
    const s = snapshot.connection(row);
    const c = byId.get(s.id);
    const name = `row ${row} id ${String(s.id)}`;
    if (!c) {
      out.push(`${name} not in list()`);
      continue;
    }
    seen.add(s.id);
    const same = (what: string, a: unknown, b: unknown) => {
      if (json(a) !== json(b)) out.push(`${name} ${what}: snapshot ${json(a)}, list ${json(b)}`);
    };
    same('family', s.family, c.family);
    for (const dir of ['original', 'reply'] as const) {
      const { src, dst, protocol, sport, dport, icmp } = c[dir];
      same(dir, s[dir], { src, dst, protocol, ...(sport !== undefined ? { sport, dport } : {}), ...(icmp ? { icmp } : {}) });
    }
    same('status', s.status, c.status);
    same('tcp state', s.protoinfo?.tcp?.state, c.protoinfo?.tcp?.state);
    same('tcp flags original', s.protoinfo?.tcp?.flagsOriginal?.flags, c.protoinfo?.tcp ? (c.protoinfo.tcp.flagsOriginal?.flags ?? 0) : undefined);
    same('tcp flags reply', s.protoinfo?.tcp?.flagsReply?.flags, c.protoinfo?.tcp ? (c.protoinfo.tcp.flagsReply?.flags ?? 0) : undefined);
    if (Math.abs((s.timeout ?? 0) - (c.timeout ?? 0)) > 2) out.push(`${name} timeout: snapshot ${String(s.timeout)}, list ${String(c.timeout)}`);
    same('mark', s.mark, c.mark ?? 0);
    same('zone', s.zone, c.zone);
    same('use', s.use, c.use ?? 0);
    same('counters', s.counters, c.counters ? { original: { packets: c.counters.original.packets, bytes: c.counters.original.bytes }, reply: { packets: c.counters.reply.packets, bytes: c.counters.reply.bytes } } : undefined);
    if (!!s.timestamp !== !!c.timestamp) out.push(`${name} timestamp: snapshot ${s.timestamp ? 'has' : 'lacks'} one, list ${c.timestamp ? 'has' : 'lacks'} one`);
    // The snapshot keeps the start as float milliseconds: sub-microsecond precision is lost on purpose.
    else if (s.timestamp && c.timestamp) {
      const diff = s.timestamp.start - c.timestamp.start;
      if (diff > 1000n || diff < -1000n) out.push(`${name} timestamp.start: snapshot ${s.timestamp.start}, list ${c.timestamp.start}`);
    }
  }
  for (const c of listed) if (!seen.has(c.id)) out.push(`id ${String(c.id)} missing from the snapshot`);
  return out;
}

/**
 * Timeouts count down between the oracle's read and ours (seconds apart on a loaded machine): the usual ±3 s,
 * plus the whole seconds since the oracle began to read.
 */
const countedDownSince = (oracleReadAt: number) => ({ timeoutTolerance: 3 + Math.ceil((Date.now() - oracleReadAt) / 1000) });

describe('dump of entries inserted with conntrack -I', () => {
  it('list(), dump() and snapshot() equal conntrack -L field by field, IPv4 and IPv6', async () => {
    await withTestNamespace(async (ns, ct) => {
      await insertVaried(ns.name);
      const oracleReadAt = Date.now();
      const oracle = await listAll(ns.name);
      expect(oracle.length).toBe(VARIED_ENTRIES.length);
      expect(new Set(oracle.map((e) => e.family))).toEqual(new Set(['ipv4', 'ipv6']));

      const listed = await ct.list();
      expect(compareConnections(listed, oracle, countedDownSince(oracleReadAt))).toEqual([]);

      // Small batches: the batching must neither lose nor repeat an entry.
      const batches: Connection[][] = [];
      for await (const batch of ct.dump({}, { batchSize: 4 })) batches.push(batch);
      expect(batches.every((b) => b.length <= 4)).toBe(true);
      expect(batches.length).toBeGreaterThanOrEqual(Math.ceil(oracle.length / 4));
      expect(compareConnections(batches.flat(), oracle, countedDownSince(oracleReadAt))).toEqual([]);

      const snapshot = await ct.snapshot();
      expect(snapshot.size).toBe(oracle.length);
      expect(snapshotDifferences(snapshot, listed)).toEqual([]);
    });
  });

  it('a few hundred bulk-loaded entries: list() and snapshot() still equal conntrack -L', async () => {
    await withTestNamespace(async (ns, ct) => {
      const created = await loadBulk(ns.name, 300);
      expect(created).toBe(600);
      const oracleReadAt = Date.now();
      const oracle = await listAll(ns.name);
      expect(oracle.length).toBe(created);
      const listed = await ct.list();
      expect(compareConnections(listed, oracle, countedDownSince(oracleReadAt))).toEqual([]);
      const snapshot = await ct.snapshot();
      expect(snapshotDifferences(snapshot, listed)).toEqual([]);
      expect(snapshot.info.total).toBe(created);
    });
  });
});

describe('dump of the lab router after real traffic', () => {
  let lab: Lab | undefined;
  let traffic: GeneratedTraffic;

  beforeAll(async () => {
    lab = await createLab();
    traffic = await generateTraffic(lab);
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it('list() equals conntrack -L for every entry, both families', async () => {
    if (!lab) throw new Error('no lab');
    const ct = new Conntrack({ netns: lab.namespaces.router });
    // Traffic may still be moving (open flows): the oracle listing comes first, ours after it.
    const oracleReadAt = Date.now();
    const oracle: OracleEntry[] = await listAll(lab.namespaces.router);
    const listed = await ct.list();
    expect(oracle.length).toBeGreaterThanOrEqual(traffic.flows.length);
    expect(new Set(oracle.map((e) => e.family))).toEqual(new Set(['ipv4', 'ipv6']));
    expect(oracle.some((e) => e.counters && e.counters.original.packets > 0n)).toBe(true);
    expect(compareConnections(listed, oracle, { counters: 'ours-later', ...countedDownSince(oracleReadAt) })).toEqual([]);
  });

  it('snapshot() rows agree with list() on every field the snapshot keeps', async () => {
    if (!lab) throw new Error('no lab');
    const ct = new Conntrack({ netns: lab.namespaces.router });
    await traffic.stop();
    // Let the closing handshakes finish so both reads see the same states and counters.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const snapshot = await ct.snapshot();
    const listed = await ct.list();
    expect(snapshot.size).toBe(listed.length);
    expect(snapshot.hasCounters).toBe(true);
    expect(snapshot.hasTimestamps).toBe(true);
    expect(snapshotDifferences(snapshot, listed)).toEqual([]);
  });
});
