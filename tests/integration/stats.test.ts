// The stats sampler against a real table: its points follow a table the test grows and empties (entries from
// CT_GET_STATS = conntrack -C, new/ended per second from the history recorder's event counters = what the test
// did), and the maximum is the namespace's nf_conntrack_max.
import { describe, expect, it } from 'vitest';
import { Conntrack } from '@/lib/conntrack';
import { HISTORY_DEFAULTS, HistoryRecorder, HistoryStore } from '@/lib/history';
import { StatsSampler, StatsStore } from '@/lib/stats';
import { openMemoryStore } from '@/lib/store';
import { countWithConntrack, flushWithConntrack, runConntrack } from '../support/oracle';
import { loadBulk, withTestNamespace } from './conntrack-setup';
import { until } from '../support/until';

describe('stats sampler', () => {
  it('follows a table that grows and empties, with new and ended per second from the event counters', async () => {
    await withTestNamespace(
      async (ns) => {
        const db = openMemoryStore();
        const recorder = new HistoryRecorder({ netns: ns.name, store: new HistoryStore(db), config: HISTORY_DEFAULTS, log: () => undefined });
        await recorder.start();
        const store = new StatsStore(db);
        const sampler = new StatsSampler({ source: new Conntrack({ netns: ns.name }), store, intervalSeconds: 0, events: () => recorder.eventTotals() });
        try {
          const first = await sampler.sample();
          expect(first.entries).toBe(0);
          const max = await ns.exec(['sysctl', '-n', 'net.netfilter.nf_conntrack_max']);
          expect(first.max).toBe(Number(max.stdout.trim()));
          expect(first.new).toBeNull();

          const loaded = await loadBulk(ns.name, 300);
          await until('the NEW events', () => recorder.eventTotals().created >= loaded, { timeoutMs: 30_000, everyMs: 50 });
          const grown = await sampler.sample();
          expect(grown.entries).toBe(await countWithConntrack(ns.name));
          expect(grown.entries).toBe(loaded);
          const seconds = (grown.at - first.at) / 1000;
          expect((grown.new ?? NaN) * seconds).toBeCloseTo(loaded, 6);
          expect(grown.ended).toBe(0);
          expect(grown.drop).toBe(0);

          // Half gone by a delete, the rest by a flush.
          const deleted = await runConntrack(ns.name, ['-D', '-f', 'ipv6']);
          expect(deleted.exitCode).toBe(0);
          await until('the DESTROY events of the delete', () => recorder.eventTotals().destroyed >= loaded / 2, { timeoutMs: 30_000, everyMs: 50 });
          const half = await sampler.sample();
          expect(half.entries).toBe(await countWithConntrack(ns.name));
          expect((half.ended ?? NaN) * ((half.at - grown.at) / 1000)).toBeCloseTo(loaded - half.entries, 6);

          await flushWithConntrack(ns.name);
          await until('the DESTROY events of the flush', () => recorder.eventTotals().destroyed >= loaded, { timeoutMs: 30_000, everyMs: 50 });
          const empty = await sampler.sample();
          expect(empty.entries).toBe(0);
          expect((empty.ended ?? NaN) * ((empty.at - half.at) / 1000)).toBeCloseTo(half.entries, 6);
          expect(empty.new).toBe(0);

          const stored = store.latest(10);
          expect(stored.map((p) => p.entries)).toEqual([0, loaded, half.entries, 0]);
          const series = store.series({ from: first.at - 3600_000, to: empty.at, step: 3600 });
          expect(series.source).toBe('rollups');
          expect(Math.max(...series.series.entries.max.map(Number))).toBe(loaded);
          expect(Math.min(...series.series.entries.min.map(Number))).toBe(0);
        } finally {
          recorder.stop();
        }
      },
      { 'net.netfilter.nf_conntrack_events': '1' },
    );
  });
});
