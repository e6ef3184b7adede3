// flush(family) and flush(): what goes, what stays, and the counts returned, checked with conntrack(8).
import { describe, expect, it } from 'vitest';
import { countWithConntrack, listAll, listWithConntrack } from '../support/oracle';
import { idsOf, insertVaried, loadBulk, withTestNamespace } from './conntrack-setup';

describe('flush', () => {
  for (const [family, other] of [
    ['ipv4', 'ipv6'],
    ['ipv6', 'ipv4'],
  ] as const) {
    it(`flush('${family}') removes every ${family} entry, leaves the ${other} ones and counts right`, async () => {
      await withTestNamespace(async (ns, ct) => {
        await insertVaried(ns.name);
        await loadBulk(ns.name, 200);
        const gone = await listWithConntrack({ netns: ns.name, args: ['-f', family] });
        const kept = await listWithConntrack({ netns: ns.name, args: ['-f', other] });
        expect(gone.length).toBeGreaterThan(0);
        expect(kept.length).toBeGreaterThan(0);

        expect(await ct.flush(family)).toEqual({ deleted: gone.length });
        expect(await listWithConntrack({ netns: ns.name, args: ['-f', family] })).toEqual([]);
        expect(idsOf(await listWithConntrack({ netns: ns.name, args: ['-f', other] }))).toEqual(idsOf(kept));
        expect(await countWithConntrack(ns.name)).toBe(kept.length);
      });
    });
  }

  it('flush() empties the table and returns how many entries there were', async () => {
    await withTestNamespace(async (ns, ct) => {
      await insertVaried(ns.name);
      await loadBulk(ns.name, 200);
      const before = await countWithConntrack(ns.name);
      expect(before).toBe((await listAll(ns.name)).length);
      expect(await ct.flush()).toEqual({ deleted: before });
      expect(await countWithConntrack(ns.name)).toBe(0);
      expect(await listAll(ns.name)).toEqual([]);
      expect(await ct.flush()).toEqual({ deleted: 0 });
    });
  });
});
