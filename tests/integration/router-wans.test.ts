// WANs in the lab: found by their default routes (main table and the per-uplink tables), or configured by name;
// their state follows address replacement, carrier cuts, link down and route moves; former addresses are kept in
// SQLite and survive a restart.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAddress } from '@/lib/netlink/address';
import { createLab, failover, replaceWanAddress, setWanCarrier, setWanLink, type Lab } from '@/lib/lab';
import { Router, WanTracker, type WanEvent } from '@/lib/router';
import { openStore, type Store } from '@/lib/store';

let lab: Lab;
let dir: string;
let store: Store;

beforeAll(async () => {
  lab = await createLab();
  dir = await mkdtemp(join(tmpdir(), 'ctc-wans-'));
  store = openStore(dir);
});

afterAll(async () => {
  store?.close();
  await lab?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const bytes = (text: string) => parseAddress(text)!.bytes;

describe('WANs', () => {
  it('are the interfaces with a default route in any table, with state, addresses and former addresses', async () => {
    const router = await Router.open({ netns: lab.namespaces.router });
    const tracker = new WanTracker({ router, store });
    const events: WanEvent[] = [];
    tracker.on('event', (e) => events.push(e));
    try {
      expect(tracker.wans().map((w) => w.name)).toEqual(['wan1', 'wan2']);
      const wan1 = tracker.wan('wan1')!;
      expect(wan1).toMatchObject({ interface: 'wan1', present: true, up: true, carrier: true, defaultRoute: ['ipv4', 'ipv6'], defaultRouteTables: [101, 254] });
      expect(wan1.addresses.map((a) => a.address).sort()).toEqual([lab.addresses.wan1.router.ipv4, lab.addresses.wan1.router.ipv6].sort());
      expect(tracker.wan('wan2')).toMatchObject({ defaultRoute: [], defaultRouteTables: [102] });
      expect(tracker.ownerOf(bytes(lab.addresses.wan2.router.ipv4))).toEqual({ wan: 'wan2', current: true });

      const old = lab.addresses.wan2.router;
      const next = await replaceWanAddress(lab, 'wan2');
      await until(() => tracker.wan('wan2')!.former.length === 2 && tracker.wan('wan2')!.addresses.length === 2, 'wan2 former and new addresses');
      expect(tracker.wan('wan2')!.addresses.map((a) => a.address).sort()).toEqual([next.ipv4, next.ipv6].sort());
      expect(tracker.wan('wan2')!.former.map((f) => f.address).sort()).toEqual([old.ipv4, old.ipv6].sort());
      expect(tracker.ownerOf(bytes(old.ipv6))).toMatchObject({ wan: 'wan2', current: false });
      expect(events.filter((e) => e.kind === 'address-removed').map((e) => e.kind === 'address-removed' && e.address).sort()).toEqual([old.ipv4, old.ipv6].sort());
      // Its default route in table 102 survived the change.
      expect(tracker.wan('wan2')!.defaultRouteTables).toEqual([102]);

      await setWanCarrier(lab, 'wan1', false);
      await until(() => !tracker.wan('wan1')!.carrier, 'wan1 carrier lost');
      expect(tracker.wan('wan1')).toMatchObject({ up: true, carrier: false });
      expect(events.some((e) => e.kind === 'carrier-lost' && e.wan === 'wan1')).toBe(true);
      await setWanCarrier(lab, 'wan1', true);

      await failover(lab, { to: 'wan2' });
      await until(() => tracker.wan('wan2')!.defaultRoute.length === 2, 'default route on wan2');
      expect(tracker.wan('wan1')!.defaultRoute).toEqual([]);
      expect(events.filter((e) => e.kind === 'default-route-lost').map((e) => e.wan)).toEqual(['wan1', 'wan1']);
      expect(events.filter((e) => e.kind === 'default-route-gained').map((e) => e.wan)).toEqual(['wan2', 'wan2']);

      // Set down: the kernel removes its routes; it stays a WAN (its addresses are on record).
      await setWanLink(lab, 'wan1', false);
      await until(() => !tracker.wan('wan1')!.up && tracker.wan('wan1')!.defaultRouteTables.length === 0, 'wan1 down without routes');
      expect(tracker.wans().map((w) => w.name)).toEqual(['wan1', 'wan2']);
      await setWanLink(lab, 'wan1', true);
      await until(() => tracker.wan('wan1')!.defaultRouteTables.includes(101), 'wan1 back up');
    } finally {
      tracker.close();
      router.close();
    }

    // A restart: the former addresses come back from SQLite.
    const again = await Router.open({ netns: lab.namespaces.router });
    const restarted = new WanTracker({ router: again, store });
    try {
      expect(restarted.wan('wan2')!.former.map((f) => f.address).sort()).toEqual([lab.addresses.wan2.router.ipv4, lab.addresses.wan2.router.ipv6].sort());
      expect(restarted.ownerOf(bytes(lab.addresses.wan2.router.ipv4))).toMatchObject({ wan: 'wan2', current: false });
    } finally {
      restarted.close();
      again.close();
    }
  });

  it('are the configured ones when CONNTRACK_WANS names them', async () => {
    const router = await Router.open({ netns: lab.namespaces.router });
    const tracker = new WanTracker({ router, wans: [{ name: 'fiber', interface: 'wan1' }, { name: 'lte', interface: 'wwan0' }] });
    try {
      expect(tracker.wans().map((w) => [w.name, w.interface, w.present])).toEqual([
        ['fiber', 'wan1', true],
        ['lte', 'wwan0', false],
      ]);
      expect(tracker.wanOfInterface(router.linkByName('wan1')!.index)).toBe('fiber');
      expect(tracker.wanOfInterface(router.linkByName('wan2')!.index)).toBeUndefined();
    } finally {
      tracker.close();
      router.close();
    }
  });
});
