// stats() and count() against conntrack -C / -S and the namespace's own sysctls; errors a caller can meet.
import { describe, expect, it } from 'vitest';
import { Conntrack, NetlinkError } from '@/lib/conntrack';
import { countWithConntrack, runConntrack, type TestNamespace } from '../support/oracle';
import { insertVaried, loadBulk, withTestNamespace } from './conntrack-setup';

async function sysctl(ns: TestNamespace, name: string): Promise<string> {
  const r = await ns.exec(['sysctl', '-n', `net.netfilter.${name}`]);
  if (r.exitCode !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
}

/** Sum of each `key=value` over the lines of `conntrack -S` (one line per CPU). */
async function conntrackS(netns: string): Promise<Record<string, number>> {
  const r = await runConntrack(netns, ['-S']);
  if (r.exitCode !== 0) throw new Error(r.stderr);
  const sums: Record<string, number> = {};
  for (const [, key, value] of r.stdout.matchAll(/(\w+)=(\d+)/g)) if (key !== 'cpu') sums[key] = (sums[key] ?? 0) + Number(value);
  return sums;
}

describe('stats', () => {
  it('entries = conntrack -C, max = nf_conntrack_max, per-CPU totals = conntrack -S, sysctls read inside the namespace', async () => {
    await withTestNamespace(
      async (ns, ct) => {
        await insertVaried(ns.name);
        await loadBulk(ns.name, 100);
        const stats = await ct.stats();
        const count = await countWithConntrack(ns.name);
        expect(stats.entries).toBe(count);
        expect(await ct.count()).toBe(count);
        expect(stats.maxEntries).toBe(Number(await sysctl(ns, 'nf_conntrack_max')));
        expect(stats.fillRatio).toBeCloseTo(count / stats.maxEntries, 10);
        const s = await conntrackS(ns.name);
        expect(stats.totals.insert).toBe(s.insert);
        expect(stats.totals.insertFailed).toBe(s.insert_failed);
        expect(stats.totals.drop).toBe(s.drop);
        expect(stats.totals.earlyDrop).toBe(s.early_drop);
        expect(stats.totals.error).toBe(s.error);
        expect(stats.totals.searchRestart).toBe(s.search_restart);
        expect(stats.totals.insert).toBeGreaterThanOrEqual(count);
        expect(stats.sysctl).toEqual({
          acct: (await sysctl(ns, 'nf_conntrack_acct')) === '1',
          timestamp: (await sysctl(ns, 'nf_conntrack_timestamp')) === '1',
          events: Number(await sysctl(ns, 'nf_conntrack_events')),
          buckets: Number(await sysctl(ns, 'nf_conntrack_buckets')),
        });
        expect(stats.sysctl.acct).toBe(true);
        expect(stats.sysctl.events).toBe(1);
      },
      { 'net.netfilter.nf_conntrack_acct': '1', 'net.netfilter.nf_conntrack_timestamp': '0', 'net.netfilter.nf_conntrack_events': '1' },
    );
  });

  it('each namespace reports its own sysctls (acct off here, on in a namespace open at the same time)', async () => {
    await withTestNamespace(
      async (on, ctOn) => {
        await withTestNamespace(
          async (off, ctOff) => {
            expect((await ctOn.stats()).sysctl).toMatchObject({ acct: true, timestamp: true });
            expect((await ctOff.stats()).sysctl).toMatchObject({ acct: false, timestamp: false });
            expect(await sysctl(off, 'nf_conntrack_acct')).toBe('0');
            expect(await sysctl(on, 'nf_conntrack_acct')).toBe('1');
          },
          { 'net.netfilter.nf_conntrack_acct': '0', 'net.netfilter.nf_conntrack_timestamp': '0' },
        );
      },
      { 'net.netfilter.nf_conntrack_acct': '1', 'net.netfilter.nf_conntrack_timestamp': '1' },
    );
  });
});

describe('errors', () => {
  const missing = `ctc-it-missing-${process.pid}`;
  const ct = new Conntrack({ netns: missing });
  const ref = { family: 'ipv4' as const, original: { src: '10.0.0.1', dst: '10.0.0.2', protocol: 17, sport: 1, dport: 2 }, id: 1 };

  for (const [name, run] of [
    ['list', () => ct.list()],
    ['snapshot', () => ct.snapshot()],
    ['stats', () => ct.stats()],
    ['count', () => ct.count()],
    ['get', () => ct.get(ref)],
    ['delete', () => ct.delete(ref)],
    ['flush', () => ct.flush()],
    ['events', async () => ct.events()],
  ] as const) {
    it(`${name}() in a namespace that does not exist rejects with a NetlinkError naming the operation`, async () => {
      const error: unknown = await (run as () => Promise<unknown>)().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(NetlinkError);
      expect(error).toMatchObject({ code: 'ENOENT', errno: 2, operation: `open network namespace ${missing}` });
      expect((error as Error).message).toContain(missing);
    });
  }

  it('get() of an entry that is gone (or never was) returns undefined', async () => {
    await withTestNamespace(async (ns, c) => {
      await insertVaried(ns.name);
      expect(await c.get({ ...ref, id: undefined })).toBeUndefined();
      const [entry] = await c.list({ protocol: 17 });
      expect(await c.get({ family: entry.family, original: entry.original, zone: entry.zone, id: entry.id })).toMatchObject({ id: entry.id });
      await c.flush();
      expect(await c.get({ family: entry.family, original: entry.original, zone: entry.zone, id: entry.id })).toBeUndefined();
    });
  });
});
