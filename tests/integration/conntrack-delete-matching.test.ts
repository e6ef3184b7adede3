// deleteMatching: the MultiWAN case (every entry NATed to one external address = reply-direction destination) with
// both methods, and filters the kernel cannot express (CIDR, TCP state), which must still delete exactly the match.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conntrack, parseFilter, ValidationError, type FilterInput } from '@/lib/conntrack';
import { createLab, failover, generateTraffic, type Lab } from '@/lib/lab';
import { listAll, listWithConntrack, type OracleEntry } from '../support/oracle';
import { idsOf, insertVaried, WAN_V4, WAN_V6, withTestNamespace } from './conntrack-setup';

const without = (entries: OracleEntry[], gone: OracleEntry[]) => {
  const ids = new Set(gone.map((e) => e.id));
  return idsOf(entries.filter((e) => !ids.has(e.id)));
};

describe('deleteMatching on entries inserted with conntrack -I', () => {
  for (const method of ['kernel-flush', 'dump-delete'] as const) {
    it(`{ replyDst: ${WAN_V4} } with ${method} removes exactly what conntrack -L -q listed`, async () => {
      await withTestNamespace(async (ns, ct) => {
        await insertVaried(ns.name);
        const before = await listAll(ns.name);
        const expected = await listWithConntrack({ netns: ns.name, args: ['-q', WAN_V4] });
        expect(expected.length).toBeGreaterThan(1);
        const result = await ct.deleteMatching(parseFilter({ replyDst: WAN_V4 }), { method });
        expect(result).toEqual({ method, matched: expected.length, deleted: expected.length, alreadyGone: 0, failed: [], sample: [] });
        expect(idsOf(await listAll(ns.name))).toEqual(without(before, expected));
      });
    });
  }

  const flushable: [FilterInput, string[]][] = [
    [{ mark: '0x10' }, ['-m', '16']],
    [{ status: 'ASSURED' }, ['-u', 'ASSURED']],
    [{ protocol: 'udp', dport: 53 }, ['-p', 'udp', '--dport', '53']],
  ];
  for (const [input, args] of flushable) {
    it(`${JSON.stringify(input)} with kernel-flush removes exactly what conntrack -L ${args.join(' ')} listed`, async () => {
      await withTestNamespace(async (ns, ct) => {
        await insertVaried(ns.name);
        const before = await listAll(ns.name);
        const expected = await listAll(ns.name, args);
        expect(expected.length).toBeGreaterThan(0);
        const result = await ct.deleteMatching(parseFilter(input), { method: 'kernel-flush' });
        expect(result).toMatchObject({ method: 'kernel-flush', matched: expected.length, deleted: expected.length });
        expect(idsOf(await listAll(ns.name))).toEqual(without(before, expected));
      });
    });
  }

  it('by default deletes by id after one dump, even where the kernel could flush the filter, and samples what went', async () => {
    await withTestNamespace(async (ns, ct) => {
      await insertVaried(ns.name);
      const before = await listAll(ns.name);
      const expected = await listWithConntrack({ netns: ns.name, args: ['-p', 'tcp', '-q', WAN_V4] });
      expect(expected.length).toBeGreaterThan(1);
      const result = await ct.deleteMatching(parseFilter({ protocol: 'tcp', replyDst: WAN_V4 }), { sample: 1 });
      expect(result).toMatchObject({ method: 'dump-delete', matched: expected.length, deleted: expected.length, alreadyGone: 0, failed: [] });
      expect(result.sample).toHaveLength(1);
      expect(idsOf(expected)).toContain(result.sample[0].id);
      expect(idsOf(await listAll(ns.name))).toEqual(without(before, expected));
    });
  });

  it(`an IPv6 reply destination (the kernel's IPv6 filter is unreliable) refuses kernel-flush and is exact with dump-delete`, async () => {
    await withTestNamespace(async (ns, ct) => {
      await insertVaried(ns.name);
      const before = await listAll(ns.name);
      const expected = await listWithConntrack({ netns: ns.name, args: ['-q', WAN_V6] });
      expect(expected.length).toBeGreaterThan(0);
      await expect(ct.deleteMatching(parseFilter({ replyDst: WAN_V6 }), { method: 'kernel-flush' })).rejects.toBeInstanceOf(ValidationError);
      expect(idsOf(await listAll(ns.name))).toEqual(idsOf(before));
      const result = await ct.deleteMatching(parseFilter({ replyDst: WAN_V6 }));
      expect(result).toMatchObject({ method: 'dump-delete', matched: expected.length, deleted: expected.length, failed: [] });
      expect(idsOf(await listAll(ns.name))).toEqual(without(before, expected));
    });
  });

  const inexact: [FilterInput, (e: OracleEntry) => boolean][] = [
    [{ replyDst: '203.0.113.0/24' }, (e) => e.reply.dst.startsWith('203.0.113.')],
    [{ state: 'ESTABLISHED', replyDst: WAN_V4 }, (e) => e.tcpState === 'ESTABLISHED' && e.reply.dst === WAN_V4],
    [{ src: '10.1.0.0/29', dport: '400-500' }, (e) => /^10\.1\.0\.[0-7]$/.test(e.original.src) && (e.original.dport ?? -1) >= 400 && (e.original.dport ?? -1) <= 500],
  ];
  for (const [input, predicate] of inexact) {
    it(`${JSON.stringify(input)} goes through dump-delete and is exact`, async () => {
      await withTestNamespace(async (ns, ct) => {
        await insertVaried(ns.name);
        const before = await listAll(ns.name);
        const expected = before.filter(predicate);
        expect(expected.length).toBeGreaterThan(0);
        expect(expected.length).toBeLessThan(before.length);
        await expect(ct.deleteMatching(parseFilter(input), { method: 'kernel-flush' })).rejects.toBeInstanceOf(ValidationError);
        const result = await ct.deleteMatching(parseFilter(input));
        expect(result).toEqual({ method: 'dump-delete', matched: expected.length, deleted: expected.length, alreadyGone: 0, failed: [], sample: [] });
        expect(idsOf(await listAll(ns.name))).toEqual(without(before, expected));
      });
    });
  }

  it('refuses an empty filter', async () => {
    await withTestNamespace(async (ns, ct) => {
      await insertVaried(ns.name);
      const before = await listAll(ns.name);
      await expect(ct.deleteMatching({})).rejects.toBeInstanceOf(ValidationError);
      expect(idsOf(await listAll(ns.name))).toEqual(idsOf(before));
    });
  });
});

describe('deleteMatching in the lab after a failover', () => {
  let lab: Lab | undefined;

  beforeAll(async () => {
    lab = await createLab();
    await generateTraffic(lab, { kinds: ['tcp-established', 'tcp-idle', 'udp-replied', 'udp-unreplied', 'icmp-echo'] });
    await failover(lab);
    await generateTraffic(lab, { kinds: ['tcp-established', 'tcp-idle', 'udp-replied', 'icmp-echo'] });
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  for (const [family, method] of [
    ['ipv4', 'kernel-flush'],
    ['ipv6', 'dump-delete'],
  ] as const) {
    it(`removes every ${family} entry SNATed to the old uplink (${method}) and leaves the new uplink's`, async () => {
      if (!lab) throw new Error('no lab');
      const router = lab.namespaces.router;
      const oldWan = lab.addresses.wan1.router[family];
      const newWan = lab.addresses.wan2.router[family];
      const ct = new Conntrack({ netns: router });
      const before = await listAll(router);
      const expected = await listWithConntrack({ netns: router, args: ['-q', oldWan] });
      const survivors = await listWithConntrack({ netns: router, args: ['-q', newWan] });
      expect(expected.length).toBeGreaterThan(2);
      expect(survivors.length).toBeGreaterThan(2);

      const result = await ct.deleteMatching(parseFilter({ replyDst: oldWan }), { method });
      expect(result).toMatchObject({ method, matched: expected.length, deleted: expected.length, failed: [] });
      const after = await listAll(router);
      expect(after.filter((e) => e.reply.dst === oldWan)).toEqual([]);
      expect(idsOf(after)).toEqual(without(before, expected));
      expect(idsOf(after.filter((e) => e.reply.dst === newWan))).toEqual(idsOf(survivors));
    });
  }
});
