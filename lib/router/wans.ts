// The uplinks (WANs): the interfaces that carry a default route in any table, or the ones configured by name.
// A WAN is its interface name, never its index (a PPPoE interface gets a new index on every reconnect). For each:
// link and carrier state, current addresses, whether it holds the main table's default route, and the addresses
// it held before, kept in SQLite for 30 days so they survive a restart.
import { EventEmitter } from 'node:events';
import { parseAddress } from '@/lib/netlink/address';
import { migrate, openMemoryStore, type Store } from '@/lib/store';
import { bytesKey, type Router } from './router';
import { ROUTER_MIGRATIONS } from './schema';
import { MAIN_TABLE, type Family } from './types';

/** Former addresses are forgotten this long after they left their WAN. */
export const FORMER_ADDRESS_DAYS = 30;
const DAY_MS = 86_400_000;
/** Scopes below RT_SCOPE_LINK: addresses NAT can use (not fe80::/10, not loopback). */
const RT_SCOPE_LINK = 253;

export interface WanConfig {
  name: string;
  interface: string;
}

export interface WanAddress {
  address: string;
  family: Family;
  prefixLength: number;
}

export interface FormerAddress {
  address: string;
  family: Family;
  since: Date;
  /** When the interface stopped holding it. */
  until: Date;
}

export interface WanState {
  name: string;
  interface: string;
  /** Whether the interface exists now (a PPPoE link is gone while it reconnects). */
  present: boolean;
  up: boolean;
  carrier: boolean;
  addresses: WanAddress[];
  former: FormerAddress[];
  /** Families whose main-table default route goes out of this WAN now. */
  defaultRoute: Family[];
  /** Tables (any) with a default route out of this WAN. */
  defaultRouteTables: number[];
}

/** What an address tells about its WAN: the one holding it now, or the one that held it. */
export interface AddressOwner {
  wan: string;
  current: boolean;
  /** When it left (former addresses only). */
  until?: Date;
}

/** Changes of a WAN, for whoever acts on them (the console's notices and policies). */
export type WanEvent =
  | { kind: 'address-removed'; wan: string; address: string; family: Family; at: Date }
  | { kind: 'address-added'; wan: string; address: string; family: Family; at: Date }
  | { kind: 'default-route-lost'; wan: string; family: Family; at: Date }
  | { kind: 'default-route-gained'; wan: string; family: Family; at: Date }
  | { kind: 'carrier-lost' | 'carrier-regained' | 'link-down' | 'link-up'; wan: string; at: Date };

interface EventMap {
  event: [WanEvent];
  /** The WAN states were recomputed (after any router change). */
  change: [];
}

interface AddressRow {
  wan: string;
  interface: string;
  family: Family;
  address: string;
  first_seen: number;
  last_seen: number;
  removed_at: number | null;
}

export interface WanTrackerOptions {
  router: Router;
  /** Configured WANs; empty or absent: every interface with a default route in any table. */
  wans?: readonly WanConfig[];
  /** Where former addresses are kept (default: an in-memory database). */
  store?: Store;
  now?: () => number;
}

export class WanTracker extends EventEmitter<EventMap> {
  private readonly router: Router;
  private readonly configured: readonly WanConfig[];
  private readonly db: Store;
  private readonly now: () => number;
  private states: WanState[] = [];
  private owners = new Map<number | string, AddressOwner>();
  private readonly onChange = () => this.update();
  /** Bumped whenever the WAN states change; callers cache derived values by it. */
  version = 0;

  constructor(options: WanTrackerOptions) {
    super();
    this.router = options.router;
    this.configured = options.wans ?? [];
    this.db = options.store ?? openMemoryStore();
    this.now = options.now ?? Date.now;
    migrate(this.db, 'router', ROUTER_MIGRATIONS);
    this.update();
    this.router.on('change', this.onChange);
  }

  wans(): WanState[] {
    return this.states;
  }

  wan(name: string): WanState | undefined {
    return this.states.find((w) => w.name === name);
  }

  /** The WAN that holds (or held, within 30 days) this address; 4 or 16 bytes at offset. */
  ownerOf(bytes: Uint8Array, offset = 0, length = bytes.length - offset): AddressOwner | undefined {
    return this.owners.get(bytesKey(bytes, offset, length));
  }

  /** ownerOf by a bytesKey() value. */
  ownerOfKey(key: number | string): AddressOwner | undefined {
    return this.owners.get(key);
  }

  /** The WAN whose interface is `index`. */
  wanOfInterface(index: number): string | undefined {
    const name = this.router.link(index)?.name;
    return name === undefined ? undefined : this.states.find((w) => w.interface === name)?.name;
  }

  close(): void {
    this.router.off('change', this.onChange);
    this.removeAllListeners();
  }

  private wanList(): WanConfig[] {
    if (this.configured.length > 0) return [...this.configured];
    const names = new Set<string>();
    for (const route of this.router.topology().routes) {
      if (route.dstLength !== 0 || route.type !== 'unicast' || route.oif === undefined) continue;
      const name = this.router.link(route.oif)?.name;
      if (name) names.add(name);
    }
    // An uplink that lost its default route is still an uplink: the ones with addresses on record stay.
    for (const row of this.db.prepare('SELECT DISTINCT wan FROM router_wan_addresses').all() as { wan: string }[]) names.add(row.wan);
    return [...names].sort().map((name) => ({ name, interface: name }));
  }

  /** Recomputes the WAN states, records address arrivals and departures, and emits what changed. */
  update(): void {
    const now = this.now();
    const at = new Date(now);
    const before = new Map(this.states.map((w) => [w.name, w]));
    const topology = this.router.topology();
    const events: WanEvent[] = [];
    const states: WanState[] = [];
    const select = this.db.prepare('SELECT * FROM router_wan_addresses WHERE wan = ?');
    const upsert = this.db.prepare(
      `INSERT INTO router_wan_addresses (wan, interface, family, address, first_seen, last_seen, removed_at) VALUES (?, ?, ?, ?, ?, ?, NULL)
       ON CONFLICT (wan, address) DO UPDATE SET interface = excluded.interface, last_seen = excluded.last_seen,
         first_seen = CASE WHEN removed_at IS NULL THEN first_seen ELSE excluded.first_seen END, removed_at = NULL`,
    );
    const remove = this.db.prepare('UPDATE router_wan_addresses SET removed_at = ? WHERE wan = ? AND address = ? AND removed_at IS NULL');
    this.db.prepare('DELETE FROM router_wan_addresses WHERE removed_at IS NOT NULL AND removed_at < ?').run(now - FORMER_ADDRESS_DAYS * DAY_MS);

    this.db.transaction(() => {
      for (const { name, interface: ifname } of this.wanList()) {
        const link = this.router.linkByName(ifname);
        const addresses: WanAddress[] = link
          ? topology.addresses
              .filter((a) => a.index === link.index && a.scope < RT_SCOPE_LINK)
              .map((a) => ({ address: a.address, family: a.family, prefixLength: a.prefixLength }))
          : [];
        const current = new Set(addresses.map((a) => a.address));
        const rows = select.all(name) as AddressRow[];
        for (const row of rows) {
          if (row.removed_at === null && !current.has(row.address)) {
            remove.run(now, name, row.address);
            events.push({ kind: 'address-removed', wan: name, address: row.address, family: row.family, at });
          }
        }
        for (const a of addresses) {
          const row = rows.find((r) => r.address === a.address);
          if (!row || row.removed_at !== null) events.push({ kind: 'address-added', wan: name, address: a.address, family: a.family, at });
          upsert.run(name, ifname, a.family, a.address, now, now);
        }
        const former = (select.all(name) as AddressRow[])
          .filter((r) => r.removed_at !== null)
          .map((r) => ({ address: r.address, family: r.family, since: new Date(r.first_seen), until: new Date(r.removed_at!) }))
          .sort((a, b) => b.until.getTime() - a.until.getTime());
        const defaults = link ? topology.routes.filter((r) => r.dstLength === 0 && r.type === 'unicast' && r.oif === link.index) : [];
        const defaultRoute = (['ipv4', 'ipv6'] as const).filter((family) => defaults.some((r) => r.family === family && r.table === MAIN_TABLE));
        states.push({
          name,
          interface: ifname,
          present: link !== undefined,
          up: link?.up ?? false,
          carrier: link?.carrier ?? false,
          addresses,
          former,
          defaultRoute,
          defaultRouteTables: [...new Set(defaults.map((r) => r.table))].sort((a, b) => a - b),
        });
      }
    })();

    for (const state of states) {
      const old = before.get(state.name);
      if (!old) continue;
      for (const family of old.defaultRoute) if (!state.defaultRoute.includes(family)) events.push({ kind: 'default-route-lost', wan: state.name, family, at });
      for (const family of state.defaultRoute) if (!old.defaultRoute.includes(family)) events.push({ kind: 'default-route-gained', wan: state.name, family, at });
      if (old.carrier && !state.carrier) events.push({ kind: 'carrier-lost', wan: state.name, at });
      if (!old.carrier && state.carrier) events.push({ kind: 'carrier-regained', wan: state.name, at });
      if (old.up && !state.up) events.push({ kind: 'link-down', wan: state.name, at });
      if (!old.up && state.up) events.push({ kind: 'link-up', wan: state.name, at });
    }
    // On the first computation everything is "added": that is a start, not news.
    const first = before.size === 0 && this.version === 0;
    const changed = first || JSON.stringify(states) !== JSON.stringify(this.states);
    this.states = states;
    if (changed) {
      this.owners = this.buildOwners(states);
      this.version++;
    }
    if (!first) for (const event of events) if (event.kind !== 'address-added' || before.has(event.wan)) this.emit('event', event);
    if (changed) this.emit('change');
  }

  private buildOwners(states: WanState[]): Map<number | string, AddressOwner> {
    const owners = new Map<number | string, AddressOwner>();
    const keyOf = (text: string): number | string => bytesKey(parseAddress(text)!.bytes);
    // Former first, so an address that moved to another WAN ends up owned by the one holding it now.
    for (const w of states) for (const f of w.former) owners.set(keyOf(f.address), { wan: w.name, current: false, until: f.until });
    for (const w of states) for (const a of w.addresses) owners.set(keyOf(a.address), { wan: w.name, current: true });
    return owners;
  }
}
