// lib/router against the real kernel in a namespace made for the test, with `ip -j` as the oracle: the first dump,
// changes while it runs (addresses, routes in other tables, replaced default routes, rules, neighbours, link state,
// a removed link), and a resynchronisation after the kernel drops notifications.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, type Namespace } from '@/lib/lab';
import { Router } from '@/lib/router';
import { parseAddress } from '@/lib/netlink/address';
import { ipTopology, routerTopology } from '../support/ip-oracle';

let ns: Namespace;

const ip = (...args: string[]) => ns.exec('ip', args);
const batch = (lines: string[]) => ns.exec('ip', ['-batch', '-'], { input: `${lines.join('\n')}\n` });

/** Polls until the router shows what ip shows (notifications and resyncs arrive asynchronously). */
async function expectInSync(router: Router, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // Multicast neighbours (ff02::, 224/4) are made by the kernel on its own MLD/IGMP timers, unannounced.
    const unicast = <T extends { neighbours: string[] }>(t: T): T => ({ ...t, neighbours: t.neighbours.filter((n) => !/ (ff[0-9a-f]{2}:|22[4-9]\.|23[0-9]\.)/.test(n)) });
    const [expected, actual] = [unicast(await ipTopology(ns.name)), unicast(routerTopology(router))];
    if (router.settled && JSON.stringify(expected) === JSON.stringify(actual)) return;
    if (Date.now() > deadline) {
      expect(actual).toEqual(expected);
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

const bytes = (text: string): Uint8Array => parseAddress(text)!.bytes;

beforeAll(async () => {
  ns = await createNamespace({ role: 'rt', sysctls: { 'net.ipv6.conf.all.accept_dad': '0', 'net.ipv6.conf.default.accept_dad': '0' } });
  await batch([
    'link add wan1 type veth peer name up1',
    'link add wan2 type veth peer name up2',
    'link add lan0 type veth peer name host0',
    'address add 198.51.100.2/24 dev wan1',
    'address add 2001:db8:1::2/64 dev wan1 nodad',
    'address add 203.0.113.2/24 dev wan2',
    'address add 2001:db8:2::2/64 dev wan2 nodad',
    'address add 192.168.50.1/24 dev lan0',
    'link set wan1 up',
    'link set up1 up',
    'link set wan2 up',
    'link set up2 up',
    'link set lan0 up',
    'link set host0 up',
    'route add default via 198.51.100.1 dev wan1',
    'route add default via 2001:db8:1::1 dev wan1',
    'route add default via 203.0.113.1 dev wan2 table 102',
    'route add blackhole 10.99.0.0/16',
    'rule add fwmark 0x100/0x3f00 table 102 priority 1000',
    'neigh add 198.51.100.1 lladdr 02:00:00:00:01:01 dev wan1 nud permanent',
  ]);
});

afterAll(async () => {
  await ns?.destroy();
});

describe('lib/router', () => {
  it('reads what ip shows: links, addresses, routes of every table, rules and neighbours', async () => {
    const router = await Router.open({ netns: ns.name });
    try {
      await expectInSync(router);
      const wan1 = router.linkByName('wan1')!;
      expect(wan1).toMatchObject({ up: true, carrier: true, kind: 'veth' });
      expect(router.holderOf(bytes('203.0.113.2'))).toBe(router.linkByName('wan2')!.index);
      expect(router.holderOf(bytes('2001:db8:1::2'))).toBe(wan1.index);
      expect(router.holderOf(bytes('192.0.2.1'))).toBeUndefined();
    } finally {
      router.close();
    }
  });

  it('follows changes while it runs', async () => {
    const router = await Router.open({ netns: ns.name });
    try {
      await expectInSync(router);
      const before = router.stats.changes;
      await batch([
        'address del 203.0.113.2/24 dev wan2',
        'address add 203.0.113.77/24 dev wan2',
        'address add 2001:db8:2::77/64 dev wan2 nodad',
        'route add default via 198.51.100.1 dev wan1 table 101',
        'route replace default via 203.0.113.1 dev wan2',
        'route add 10.20.0.0/16 via 192.168.50.2 dev lan0 table 101',
        'rule add from 192.168.50.128/25 table 101 priority 900',
        'rule add to 10.30.0.0/16 table 101 priority 901',
        'neigh add 192.168.50.9 lladdr 02:00:00:00:50:09 dev lan0 nud permanent',
      ]);
      await expectInSync(router);
      expect(router.stats.changes).toBeGreaterThan(before);
      expect(router.holderOf(bytes('203.0.113.2'))).toBeUndefined();
      expect(router.holderOf(bytes('203.0.113.77'))).toBe(router.linkByName('wan2')!.index);

      // Carrier cut on the peer side, a link set down (IPv4 drops its routes silently), a link removed.
      await ip('link', 'set', 'up1', 'down');
      await expectInSync(router);
      expect(router.linkByName('wan1')).toMatchObject({ up: true, carrier: false });
      await ip('link', 'set', 'wan2', 'down');
      await expectInSync(router);
      expect(router.linkByName('wan2')).toMatchObject({ up: false });
      await batch(['link set wan2 up', 'route replace default via 203.0.113.1 dev wan2', 'route replace default via 203.0.113.1 dev wan2 table 102', 'link set up1 up', 'rule del priority 901', 'link del lan0']);
      await expectInSync(router);
      expect(router.linkByName('lan0')).toBeUndefined();
    } finally {
      router.close();
    }
  });

  it('resynchronises from a dump when the kernel drops notifications, and counts it', async () => {
    // The smallest receive buffer the kernel grants: a burst of changes overflows it.
    const router = await Router.open({ netns: ns.name, receiveBufferBytes: 1 });
    try {
      await expectInSync(router);
      const lines = Array.from({ length: 1500 }, (_, i) => `address add 10.${100 + (i >> 8)}.${i & 255}.1/32 dev wan1`);
      await batch(lines);
      await expectInSync(router, 60_000);
      expect(router.stats.overflows).toBeGreaterThan(0);
      expect(router.stats.resyncs).toBeGreaterThan(0);
      expect(router.holderOf(bytes('10.105.200.1'))).toBe(router.linkByName('wan1')!.index);
      await batch(lines.map((line) => line.replace('address add', 'address del')));
      await expectInSync(router, 60_000);
    } finally {
      router.close();
    }
  });

  it('tells the route of a flow by rules (source, destination, fwmark/mask) and the longest prefix', async () => {
    const router = await Router.open({ netns: ns.name });
    try {
      await expectInSync(router);
      const name = (decision: ReturnType<Router['routeFor']>) => (decision.kind === 'interface' ? router.link(decision.index)!.name : decision.kind);
      const flow = (src: string, dst: string, mark = 0) => ({ family: parseAddress(dst)!.family, src: bytes(src), dst: bytes(dst), mark });
      // Main table: the default route (moved to wan2 above).
      expect(name(router.routeFor(flow('192.168.50.10', '192.0.2.10')))).toBe('wan2');
      // mwan3's mark 0x100 in the 0x3f00 bits selects table 102 (wan2); other bits of the mark do not matter.
      expect(router.routeFor(flow('192.168.50.10', '192.0.2.10', 0x40100))).toMatchObject({ kind: 'interface', table: 102 });
      expect(router.routeFor(flow('192.168.50.10', '192.0.2.10', 0x200))).toMatchObject({ kind: 'interface', table: 254 });
      // Source rule 900 selects table 101 (default via wan1).
      expect(router.routeFor(flow('192.168.50.200', '192.0.2.10'))).toMatchObject({ kind: 'interface', table: 101 });
      expect(name(router.routeFor(flow('192.168.50.200', '192.0.2.10')))).toBe('wan1');
      // The router's own address: local table.
      expect(router.routeFor(flow('192.0.2.10', '198.51.100.2'))).toMatchObject({ kind: 'local', table: 255 });
      expect(router.routeFor(flow('192.168.50.10', '10.99.1.1'))).toMatchObject({ kind: 'none' });
      expect(name(router.routeFor(flow('fd00:50::10', '2001:db8:ff::10')))).toBe('wan1');
      // A rule on something a conntrack entry does not carry: unknown.
      await ip('rule', 'add', 'iif', 'wan1', 'table', '101', 'priority', '800');
      await expectInSync(router);
      expect(router.routeFor(flow('192.168.50.10', '192.0.2.10'))).toMatchObject({ kind: 'unknown' });
      await ip('rule', 'del', 'priority', '800');
    } finally {
      router.close();
    }
  });
});
