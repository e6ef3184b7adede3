// The router around the table, as the console uses it: one Router and WanTracker for the managed namespace, and
// per snapshot the WAN and stale columns composed from router lookups (the snapshot itself knows no router).
// Both columns are evaluated at query time: they follow the router's current state, not the snapshot's moment.
import { FAMILY_V6, externalSlot, inTurns, runAll, type Columns, type Connection, type RowMask, type Snapshot } from '@/lib/conntrack';
import { parseAddress } from '@/lib/netlink/address';
import { config } from '@/lib/config';
import { bytesKey, Router, WanTracker, type FlowKey } from '@/lib/router';
import { sharedStore } from '@/lib/store';

export interface UplinkService {
  router: Router;
  wans: WanTracker;
}

/** The WAN column's two values that are not a WAN's name. */
export const NO_WAN = 'none';
export const UNKNOWN_WAN = 'unknown';

const KEY = Symbol.for('conntrack-console.uplinks');
type Holder = typeof globalThis & { [KEY]?: Promise<UplinkService> };

/** The process's router view of the managed namespace, opened on first use and kept current from then on. */
export function uplinkService(): Promise<UplinkService> {
  const holder = globalThis as Holder;
  holder[KEY] ??= (async () => {
    const router = await Router.open({ netns: config().netns });
    const wans = new WanTracker({ router, wans: config().wans, store: sharedStore() });
    return { router, wans };
  })().catch((error: unknown) => {
    // Next time, try again (the namespace may come up later).
    delete holder[KEY];
    throw error;
  });
  return holder[KEY];
}

/** Per row: the WAN (index into names; -1 none, -2 unknown) and whether its external address is on no interface. */
export interface UplinkColumns {
  names: string[];
  wan: Int16Array;
  stale: Uint8Array;
  staleCount: number;
  /** Stale rows per WAN (indexed like names). */
  staleByWan: number[];
  /** The router and WAN versions they were computed at. */
  version: string;
}

const NONE = -1;
const UNKNOWN = -2;
const cache = new WeakMap<Snapshot, UplinkColumns>();

function v6Key(v6: Columns['v6'], offset: number): string {
  let key = '';
  for (let i = 0; i < 16; i += 2) key += String.fromCharCode((v6[offset + i] << 8) | v6[offset + i + 1]);
  return key;
}

/** Rows per step of uplinkSteps(): a few milliseconds of map lookups. */
const STEP_ROWS = 32768;

/** Computes (or reuses, while the router has not changed) the WAN and stale columns of a snapshot, in one go. */
export const uplinkColumns = (snapshot: Snapshot, service: UplinkService): UplinkColumns => runAll(uplinkSteps(snapshot, service));

/** uplinkColumns with the event loop let run every STEP_ROWS rows, for a server's first query of a big snapshot. */
export const uplinkColumnsInTurns = (snapshot: Snapshot, service: UplinkService): Promise<UplinkColumns> => inTurns(uplinkSteps(snapshot, service));

function* uplinkSteps(snapshot: Snapshot, service: UplinkService): Generator<void, UplinkColumns, void> {
  const { router, wans } = service;
  const version = `${router.version}/${wans.version}`;
  const cached = cache.get(snapshot);
  if (cached && cached.version === version) return cached;
  const names = wans.wans().map((w) => w.name);
  const nameIndex = new Map(names.map((name, i) => [name, i]));
  const c = snapshot.columns;
  const size = c.size;
  const wan = new Int16Array(size);
  const stale = new Uint8Array(size);
  let staleCount = 0;
  const staleByWan = names.map(() => 0);
  // One answer per external address: a table has few of them and many entries each.
  const byExternal = new Map<number | string, number>();
  const byDestination = new Map<number | string, number>();
  const destinationOnly = !router.rulesSelectOnSourceOrMark;
  const src4 = new Uint8Array(4);
  const dst4 = new Uint8Array(4);
  const wanOfDecision = (flow: FlowKey): number => {
    const decision = router.routeFor(flow);
    if (decision.kind === 'unknown') return UNKNOWN;
    if (decision.kind !== 'interface') return NONE;
    const name = wans.wanOfInterface(decision.index);
    return name === undefined ? NONE : (nameIndex.get(name) ?? NONE);
  };
  for (let row = 0; row < size; row++) {
    if (row && row % STEP_ROWS === 0) yield;
    const v6 = c.family[row] === FAMILY_V6;
    const slot = externalSlot(c.status[row]);
    if (slot >= 0) {
      const value = c.addr[row * 4 + slot];
      const key = v6 ? v6Key(c.v6, value * 16) : value;
      let packed = byExternal.get(key);
      if (packed === undefined) {
        const owner = wans.ownerOfKey(key);
        const holder = router.holderOfKey(key);
        let index = owner ? (nameIndex.get(owner.wan) ?? NONE) : NONE;
        if (!owner && holder !== undefined) {
          const name = wans.wanOfInterface(holder);
          if (name !== undefined) index = nameIndex.get(name) ?? NONE;
        }
        packed = (index << 1) | (holder === undefined ? 1 : 0);
        byExternal.set(key, packed);
      }
      wan[row] = packed >> 1;
      if (packed & 1) {
        stale[row] = 1;
        staleCount++;
        if (wan[row] >= 0) staleByWan[wan[row]]++;
      }
      continue;
    }
    // Routed: where the original direction's packets go.
    const srcValue = c.addr[row * 4];
    const dstValue = c.addr[row * 4 + 1];
    const dKey = destinationOnly ? (v6 ? v6Key(c.v6, dstValue * 16) : dstValue) : undefined;
    const known = dKey === undefined ? undefined : byDestination.get(dKey);
    if (known !== undefined) {
      wan[row] = known;
      continue;
    }
    let flow: FlowKey;
    if (v6) {
      flow = { family: 'ipv6', src: c.v6.slice(srcValue * 16, srcValue * 16 + 16), dst: c.v6.slice(dstValue * 16, dstValue * 16 + 16), mark: c.mark[row] };
    } else {
      new DataView(src4.buffer).setUint32(0, srcValue);
      new DataView(dst4.buffer).setUint32(0, dstValue);
      flow = { family: 'ipv4', src: src4, dst: dst4, mark: c.mark[row] };
    }
    const index = wanOfDecision(flow);
    wan[row] = index;
    if (dKey !== undefined) byDestination.set(dKey, index);
  }
  const columns = { names, wan, stale, staleCount, staleByWan, version };
  cache.set(snapshot, columns);
  return columns;
}

/** The console's own filter fields (not the kernel's vocabulary): wan=NAME|none|unknown, stale=true|false. */
export interface UplinkFilter {
  wan?: string;
  stale?: boolean;
}

export const hasUplinkFilter = (f: UplinkFilter): boolean => f.wan !== undefined || f.stale !== undefined;

/** The value of a WAN cell: a name, 'none' or 'unknown'. */
export function wanName(columns: UplinkColumns, row: number): string {
  const index = columns.wan[row];
  return index === UNKNOWN ? UNKNOWN_WAN : index === NONE ? NO_WAN : columns.names[index];
}

/** The row mask of an uplink filter, for Snapshot.query's `where`. */
export function uplinkMask(columns: UplinkColumns, filter: UplinkFilter): RowMask {
  const size = columns.wan.length;
  const mask = new Uint8Array(size);
  const want = filter.wan === undefined ? undefined : filter.wan === NO_WAN ? NONE : filter.wan === UNKNOWN_WAN ? UNKNOWN : columns.names.indexOf(filter.wan);
  for (let row = 0; row < size; row++) {
    if (want !== undefined && columns.wan[row] !== want) continue;
    if (filter.stale !== undefined && (columns.stale[row] === 1) !== filter.stale) continue;
    mask[row] = 1;
  }
  return { key: `uplink ${columns.version} ${filter.wan ?? ''} ${filter.stale ?? ''}`, mask };
}

/** The same two values for one Connection (a live dump's entries, which have no snapshot row). */
export function connectionUplink(connection: Connection, service: UplinkService): { wan: string; stale: boolean } {
  const { router, wans } = service;
  const slot = externalSlot(connection.status);
  if (slot >= 0) {
    const text = slot === 3 ? connection.reply.dst : connection.original.dst;
    const key = bytesKey(parseAddress(text)!.bytes);
    const owner = wans.ownerOfKey(key);
    const holder = router.holderOfKey(key);
    const name = owner?.wan ?? (holder === undefined ? undefined : wans.wanOfInterface(holder));
    return { wan: name ?? NO_WAN, stale: holder === undefined };
  }
  const decision = router.routeFor({ family: connection.family, src: parseAddress(connection.original.src)!.bytes, dst: parseAddress(connection.original.dst)!.bytes, mark: connection.mark ?? 0 });
  if (decision.kind === 'unknown') return { wan: UNKNOWN_WAN, stale: false };
  const name = decision.kind === 'interface' ? wans.wanOfInterface(decision.index) : undefined;
  return { wan: name ?? NO_WAN, stale: false };
}

export function matchesUplink(value: { wan: string; stale: boolean }, filter: UplinkFilter): boolean {
  return (filter.wan === undefined || value.wan === filter.wan) && (filter.stale === undefined || value.stale === filter.stale);
}
