// GET /api/router: the router around the table as the Router page shows it - interfaces, WANs (state, current
// and former addresses, default route), and from the latest snapshot the connections per WAN and per external
// address, and how many are stale.
import { externalSlot } from '@/lib/conntrack';
import { snapshotSummary, type ApiSnapshot } from './connection';
import { demoEnabled } from './demo';
import type { Notice } from './notices';
import { listPolicies, type ApiPolicy } from './policies';
import { consoleService } from './service';
import { uplinkColumnsInTurns, uplinkService, wanName } from './uplinks';
import type { Family, RouterStats } from '@/lib/router';

export interface ApiInterface {
  index: number;
  name: string;
  up: boolean;
  carrier: boolean;
  kind?: string;
  mac?: string;
  addresses: { address: string; family: Family; prefixLength: number }[];
  /** The WAN this interface is, if any. */
  wan?: string;
}

export interface ApiWan {
  name: string;
  interface: string;
  present: boolean;
  up: boolean;
  carrier: boolean;
  /** up, no-carrier, down or absent. */
  state: 'up' | 'no-carrier' | 'down' | 'absent';
  addresses: { address: string; family: Family; prefixLength: number; connections: number }[];
  former: { address: string; family: Family; since: string; until: string; connections: number }[];
  /** Families whose main-table default route uses this WAN now. */
  defaultRoute: Family[];
  defaultRouteTables: number[];
  connections: number;
  stale: number;
}

export interface ApiRouter {
  snapshot: ApiSnapshot;
  interfaces: ApiInterface[];
  wans: ApiWan[];
  /** Connections per WAN column value (names, none, unknown). */
  connectionsPerWan: Record<string, number>;
  /** Connections per external address (SNAT and DNAT). */
  connectionsPerAddress: { address: string; family: Family; connections: number; stale: boolean; wan: string }[];
  stale: number;
  stats: RouterStats;
  /** The cleanup policies (configuration, read-only) with their last runs. */
  policies: ApiPolicy[];
  /** The demo controls are on (the console manages a demo lab). */
  demo: boolean;
}

export async function routerOverview(): Promise<ApiRouter> {
  const service = await uplinkService();
  const snapshot = await consoleService().snapshots.current();
  const columns = await uplinkColumnsInTurns(snapshot, service);
  const { router, wans } = service;
  const perWan: Record<string, number> = {};
  const staleByWan: Record<string, number> = {};
  const perAddress = new Map<string, { address: string; family: Family; connections: number; stale: boolean; wan: string }>();
  const c = snapshot.columns;
  for (let row = 0; row < c.size; row++) {
    const wan = wanName(columns, row);
    perWan[wan] = (perWan[wan] ?? 0) + 1;
    if (columns.stale[row]) staleByWan[wan] = (staleByWan[wan] ?? 0) + 1;
    const slot = externalSlot(c.status[row]);
    if (slot < 0) continue;
    const address = snapshot.address(row, slot);
    const seen = perAddress.get(address);
    if (seen) seen.connections++;
    else perAddress.set(address, { address, family: snapshot.familyOf(row), connections: 1, stale: columns.stale[row] === 1, wan });
  }
  const count = (address: string) => perAddress.get(address)?.connections ?? 0;
  const topology = router.topology();
  const interfaces: ApiInterface[] = topology.links.map((link) => {
    const out: ApiInterface = {
      index: link.index,
      name: link.name,
      up: link.up,
      carrier: link.carrier,
      addresses: topology.addresses.filter((a) => a.index === link.index).map((a) => ({ address: a.address, family: a.family, prefixLength: a.prefixLength })),
    };
    if (link.kind) out.kind = link.kind;
    if (link.mac) out.mac = link.mac;
    const wan = wans.wanOfInterface(link.index);
    if (wan) out.wan = wan;
    return out;
  });
  const apiWans: ApiWan[] = wans.wans().map((w) => ({
    name: w.name,
    interface: w.interface,
    present: w.present,
    up: w.up,
    carrier: w.carrier,
    state: !w.present ? 'absent' : !w.up ? 'down' : !w.carrier ? 'no-carrier' : 'up',
    addresses: w.addresses.map((a) => ({ ...a, connections: count(a.address) })),
    former: w.former.map((f) => ({ address: f.address, family: f.family, since: f.since.toISOString(), until: f.until.toISOString(), connections: count(f.address) })),
    defaultRoute: w.defaultRoute,
    defaultRouteTables: w.defaultRouteTables,
    connections: perWan[w.name] ?? 0,
    stale: staleByWan[w.name] ?? 0,
  }));
  return {
    snapshot: snapshotSummary(snapshot),
    interfaces,
    wans: apiWans,
    connectionsPerWan: perWan,
    connectionsPerAddress: [...perAddress.values()].sort((a, b) => b.connections - a.connections || a.address.localeCompare(b.address)),
    stale: columns.staleCount,
    stats: { ...router.stats },
    policies: listPolicies(),
    demo: demoEnabled(),
  };
}

/**
 * The notice every page shows while entries of the latest snapshot use an address no interface holds (staleness
 * follows the router now, not the snapshot's moment), with one click to the cleanup by uplink: the Router page
 * opens it, preselecting the WAN when all stale entries are on one.
 */
export async function staleNotices(): Promise<Notice[]> {
  const snapshot = consoleService().snapshots.peek();
  if (!snapshot) return [];
  const columns = await uplinkColumnsInTurns(snapshot, await uplinkService());
  if (columns.staleCount === 0) return [];
  const wans = columns.names.filter((_, i) => columns.staleByWan[i] > 0);
  const one = wans.length === 1 && columns.staleByWan.reduce((a, b) => a + b, 0) === columns.staleCount ? wans[0] : undefined;
  const n = columns.staleCount;
  return [
    {
      id: 'router:stale',
      level: 'warning',
      title: `${n.toLocaleString('en-US')} connection${n === 1 ? ' uses' : 's use'} an address no interface holds any more`,
      text: `Their traffic has no way back${wans.length ? ` (${wans.join(', ')})` : ''}.`,
      link: { href: `/router?cleanup=${encodeURIComponent(one ?? '')}`, label: 'Clean up by uplink' },
    },
  ];
}
