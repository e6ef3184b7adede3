// The router view: the managed namespace's links, addresses, routes, rules and neighbours, read by a dump and kept
// current from the rtnetlink groups; a dump again when the kernel drops notifications (counted). Lookups on address
// bytes answer which interface holds an address and which route a flow would take.
import { EventEmitter } from 'node:events';
import { ChangeSocket, dumpDerived, dumpTopology, type RouterChange } from './netlink';
import type { Family, InterfaceAddress, Link, Neighbour, Route, Rule, Topology } from './types';

export interface RouterOptions {
  /** Network namespace (name under /var/run/netns, or a path) to read; default: our own. */
  netns?: string;
  /** SO_RCVBUF of the notification socket (default 1 MiB). A small one lets tests provoke an overflow. */
  receiveBufferBytes?: number;
}

export interface RouterStats {
  /** Notifications applied since start. */
  changes: number;
  /** Times the kernel reported dropped notifications (ENOBUFS). */
  overflows: number;
  /** Full dumps after the first (after an overflow, or a notification that did not parse). */
  resyncs: number;
  /**
   * Route and neighbour dumps after a link or address change: IPv4 removes the routes of a link going down, and
   * a carrier loss flushes neighbours, without a notification.
   */
  routeResyncs: number;
  lastResyncAt?: Date;
}

/** Where a flow would go, by the rules and routes. */
export type RouteDecision =
  | { kind: 'interface'; index: number; table: number; route: Route }
  /** To the router itself (a local, broadcast, anycast or multicast route). */
  | { kind: 'local'; table: number }
  /** Nowhere: no route, or a blackhole/unreachable/prohibit route or rule. */
  | { kind: 'none'; reason: string }
  /** A rule selects on something a conntrack entry does not say (iif, uid, ...): the route cannot be told. */
  | { kind: 'unknown'; rule: Rule };

export interface FlowKey {
  family: Family;
  src: Uint8Array;
  dst: Uint8Array;
  mark: number;
}

interface EventMap {
  /** Something changed (coalesced: at most one per tick of changes). */
  change: [];
  error: [Error];
}

const ROUTE_RESYNC_DELAY_MS = 50;
const FULL_RESYNC_DELAY_MS = 20;

const addressKey = (a: InterfaceAddress): string => `${a.index}/${a.family}/${a.address}/${a.prefixLength}`;
/** The key the kernel replaces a route by (IPv4: table, dst, tos, priority; IPv6 adds the source prefix). */
const routeIdentity = (r: Route): string => `${r.family}/${r.table}/${r.dst}/${r.dstLength}/${r.src ?? ''}/${r.srcLength}/${r.tos}/${r.metric}`;
const routeKey = (r: Route): string => `${routeIdentity(r)}/${r.type}/${r.oif ?? ''}/${r.gateway ?? ''}`;
const ruleKey = (r: Rule): string =>
  `${r.family}/${r.priority}/${r.action}/${r.table}/${r.src ?? ''}/${r.srcLength}/${r.dst ?? ''}/${r.dstLength}/${r.fwmark ?? ''}/${r.fwmask ?? ''}/${r.invert}/${r.otherSelectors.join(',')}`;
const neighbourKey = (n: Neighbour): string => `${n.index}/${n.family}/${n.address}`;

/** A compact map key for address bytes: IPv4 as a number, IPv6 as a 16-char string. */
export function bytesKey(bytes: Uint8Array, offset = 0, length = bytes.length): number | string {
  if (length === 4) return ((bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3]) >>> 0;
  let key = '';
  for (let i = 0; i < length; i += 2) key += String.fromCharCode((bytes[offset + i] << 8) | bytes[offset + i + 1]);
  return key;
}

function prefixMatches(prefix: Uint8Array | undefined, length: number, addr: Uint8Array): boolean {
  if (length === 0 || !prefix) return true;
  const full = length >> 3;
  for (let i = 0; i < full; i++) if (addr[i] !== prefix[i]) return false;
  const rest = length & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (addr[full] & mask) === (prefix[full] & mask);
}

interface Indexes {
  holders: Map<number | string, number>;
  rules: Record<Family, Rule[]>;
  /** Per family and table: routes longest prefix first, then lowest metric. */
  tables: Record<Family, Map<number, Route[]>>;
  /** Neighbour address (bytesKey) -> its link-layer address, where the kernel knows one. */
  macs: Map<number | string, string>;
}

/** A MAC of all zeros is what noarp and point-to-point neighbours carry: no hardware address at all. */
const NO_MAC = /^(00:)+00$/;

export class Router extends EventEmitter<EventMap> {
  readonly netns: string | undefined;
  private readonly links = new Map<number, Link>();
  private readonly addresses = new Map<string, InterfaceAddress>();
  private readonly routes = new Map<string, Route>();
  private readonly rules = new Map<string, Rule>();
  private readonly neighbours = new Map<string, Neighbour>();
  private indexes: Indexes | undefined;
  private socket: ChangeSocket | undefined;
  private routeTimer: NodeJS.Timeout | undefined;
  private fullTimer: NodeJS.Timeout | undefined;
  private changeTimer: NodeJS.Timeout | undefined;
  private resyncing: Promise<void> | undefined;
  /** Dumps running now, and whether a notification they may predate arrived meanwhile. */
  private fullDumps = 0;
  private routeDumps = 0;
  private changedDuringFull = false;
  private changedDuringRoutes = false;
  private closed = false;
  /** Bumped on every change; consumers cache derived values by it. */
  version = 0;
  readonly stats: RouterStats = { changes: 0, overflows: 0, resyncs: 0, routeResyncs: 0 };

  private constructor(options: RouterOptions) {
    super();
    this.netns = options.netns;
  }

  /** Subscribes to changes, then dumps (so nothing between the two is missed), and keeps the view current. */
  static async open(options: RouterOptions = {}): Promise<Router> {
    const router = new Router(options);
    router.socket = new ChangeSocket({
      netns: options.netns,
      receiveBufferBytes: options.receiveBufferBytes ?? 1024 * 1024,
      listener: {
        change: (change) => router.apply(change),
        overflow: () => {
          router.stats.overflows++;
          router.scheduleFullResync();
        },
        error: (error) => {
          if (router.listenerCount('error')) router.emit('error', error);
        },
      },
    });
    try {
      await router.load();
    } catch (error) {
      router.close();
      throw error;
    }
    return router;
  }

  /** Everything, as arrays (copies of the current view). */
  topology(): Topology {
    return {
      links: [...this.links.values()].sort((a, b) => a.index - b.index),
      addresses: [...this.addresses.values()],
      routes: [...this.routes.values()],
      rules: [...this.rules.values()].sort((a, b) => a.priority - b.priority),
      neighbours: [...this.neighbours.values()],
    };
  }

  link(index: number): Link | undefined {
    return this.links.get(index);
  }

  linkByName(name: string): Link | undefined {
    for (const link of this.links.values()) if (link.name === name) return link;
    return undefined;
  }

  addressesOf(index: number): InterfaceAddress[] {
    return [...this.addresses.values()].filter((a) => a.index === index);
  }

  /** The interface that holds this address now (4 or 16 bytes at offset), or undefined. */
  holderOf(bytes: Uint8Array, offset = 0, length = bytes.length - offset): number | undefined {
    return this.built().holders.get(bytesKey(bytes, offset, length));
  }

  /** holderOf by a bytesKey() value (callers that keep addresses as numbers or key strings). */
  holderOfKey(key: number | string): number | undefined {
    return this.built().holders.get(key);
  }

  /** The MAC the neighbour table has for this address (4 or 16 bytes), or undefined (not a neighbour, or unresolved). */
  macOf(bytes: Uint8Array): string | undefined {
    return this.built().macs.get(bytesKey(bytes));
  }

  /**
   * What of a flow routeFor() reads besides its family and destination: the source when some rule selects on it,
   * and the mark bits some rule's fwmark/mask tests (0: none). Flows equal in these get the same decision, so a
   * caller can decide once per distinct (destination, source?, mark & markMask).
   */
  get flowSelectors(): { source: boolean; markMask: number } {
    const { rules } = this.built();
    let source = false;
    let markMask = 0;
    for (const r of [...rules.ipv4, ...rules.ipv6]) {
      if (r.srcLength > 0) source = true;
      if (r.fwmark !== undefined) markMask |= r.fwmask ?? 0xffffffff;
    }
    return { source, markMask: markMask >>> 0 };
  }

  /** The route a packet of this flow would take: the rules in priority order, then the longest match in the table. */
  routeFor(flow: FlowKey): RouteDecision {
    const { rules, tables } = this.built();
    for (const rule of rules[flow.family]) {
      let selected = prefixMatches(rule.srcBytes, rule.srcLength, flow.src) && prefixMatches(rule.dstBytes, rule.dstLength, flow.dst);
      if (selected && rule.fwmark !== undefined) {
        const mask = rule.fwmask ?? 0xffffffff;
        selected = ((flow.mark & mask) >>> 0) === ((rule.fwmark & mask) >>> 0);
      }
      if (rule.invert) selected = !selected;
      if (!selected) continue;
      if (rule.otherSelectors.length > 0 || rule.action === 'goto' || rule.action === 'other') return { kind: 'unknown', rule };
      if (rule.action === 'nop') continue;
      if (rule.action !== 'lookup') return { kind: 'none', reason: `rule ${rule.priority}: ${rule.action}` };
      const decision = this.lookup(tables[flow.family].get(rule.table), rule.table, flow);
      // No match or a throw route: the kernel goes on with the next rule.
      if (decision) return decision;
    }
    return { kind: 'none', reason: 'no route' };
  }

  private lookup(routes: Route[] | undefined, table: number, flow: FlowKey): RouteDecision | undefined {
    if (!routes) return undefined;
    for (const route of routes) {
      if (!prefixMatches(route.dstBytes, route.dstLength, flow.dst)) continue;
      switch (route.type) {
        case 'unicast':
          return route.oif === undefined ? { kind: 'none', reason: `route ${route.dst}/${route.dstLength} has no interface` } : { kind: 'interface', index: route.oif, table, route };
        case 'local':
        case 'broadcast':
        case 'anycast':
        case 'multicast':
          return { kind: 'local', table };
        case 'throw':
          return undefined;
        default:
          return { kind: 'none', reason: `${route.type} route ${route.dst}/${route.dstLength}` };
      }
    }
    return undefined;
  }

  private built(): Indexes {
    if (this.indexes) return this.indexes;
    const holders = new Map<number | string, number>();
    for (const a of this.addresses.values()) if (!holders.has(bytesKey(a.bytes))) holders.set(bytesKey(a.bytes), a.index);
    const rules: Record<Family, Rule[]> = { ipv4: [], ipv6: [] };
    for (const rule of this.rules.values()) rules[rule.family].push(rule);
    for (const list of Object.values(rules)) list.sort((a, b) => a.priority - b.priority);
    const tables: Record<Family, Map<number, Route[]>> = { ipv4: new Map(), ipv6: new Map() };
    for (const route of this.routes.values()) {
      // IPv6 source-specific routes need the source too; the console's flows are matched on destination only.
      if (route.srcLength > 0) continue;
      const table = tables[route.family];
      const list = table.get(route.table) ?? [];
      list.push(route);
      table.set(route.table, list);
    }
    for (const table of Object.values(tables)) for (const list of table.values()) list.sort((a, b) => b.dstLength - a.dstLength || a.metric - b.metric);
    const macs = new Map<number | string, string>();
    for (const n of this.neighbours.values()) {
      // A failed or incomplete entry keeps no address worth showing; one address on two links: the first wins.
      if (!n.mac || NO_MAC.test(n.mac) || n.state.includes('failed') || n.state.includes('incomplete')) continue;
      const key = bytesKey(n.bytes);
      if (!macs.has(key)) macs.set(key, n.mac);
    }
    this.indexes = { holders, rules, tables, macs };
    return this.indexes;
  }

  private apply(change: RouterChange): void {
    if (this.closed) return;
    this.stats.changes++;
    if (this.fullDumps > 0) this.changedDuringFull = true;
    if (this.routeDumps > 0 && change.kind !== 'rule') this.changedDuringRoutes = true;
    switch (change.kind) {
      case 'link':
        if (change.removed) {
          this.links.delete(change.link.index);
          this.dropIndex(change.link.index);
        } else {
          this.links.set(change.link.index, change.link);
        }
        this.scheduleRouteResync();
        break;
      case 'address':
        if (change.removed) this.addresses.delete(addressKey(change.address));
        else this.addresses.set(addressKey(change.address), change.address);
        this.scheduleRouteResync();
        break;
      case 'route': {
        const route = change.route;
        if (change.replaced && !change.removed) {
          const identity = routeIdentity(route);
          for (const [key, existing] of this.routes) if (routeIdentity(existing) === identity) this.routes.delete(key);
        }
        if (change.removed) this.routes.delete(routeKey(route));
        else this.routes.set(routeKey(route), route);
        break;
      }
      case 'rule':
        if (change.removed) this.rules.delete(ruleKey(change.rule));
        else this.rules.set(ruleKey(change.rule), change.rule);
        break;
      case 'neighbour':
        if (change.removed) this.neighbours.delete(neighbourKey(change.neighbour));
        else this.neighbours.set(neighbourKey(change.neighbour), change.neighbour);
        break;
    }
    this.changed();
  }

  private dropIndex(index: number): void {
    for (const [key, a] of this.addresses) if (a.index === index) this.addresses.delete(key);
    for (const [key, n] of this.neighbours) if (n.index === index) this.neighbours.delete(key);
    for (const [key, r] of this.routes) if (r.oif === index) this.routes.delete(key);
  }

  private changed(): void {
    this.indexes = undefined;
    this.version++;
    this.changeTimer ??= setTimeout(() => {
      this.changeTimer = undefined;
      if (!this.closed) this.emit('change');
    }, 0);
  }

  private async load(): Promise<void> {
    this.fullDumps++;
    this.changedDuringFull = false;
    let topology: Topology;
    try {
      topology = await dumpTopology(this.netns);
    } finally {
      this.fullDumps--;
    }
    if (this.closed) return;
    this.links.clear();
    this.addresses.clear();
    this.routes.clear();
    this.rules.clear();
    this.neighbours.clear();
    for (const link of topology.links) this.links.set(link.index, link);
    for (const a of topology.addresses) this.addresses.set(addressKey(a), a);
    for (const r of topology.routes) this.routes.set(routeKey(r), r);
    for (const r of topology.rules) this.rules.set(ruleKey(r), r);
    for (const n of topology.neighbours) this.neighbours.set(neighbourKey(n), n);
    this.changed();
    // A notification that arrived during the dump may describe a state older than the dump's: read again.
    if (this.changedDuringFull) this.scheduleFullResync();
  }

  /** Reads everything again now (also what an overflow triggers). */
  resync(): Promise<void> {
    this.resyncing ??= this.load()
      .then(() => {
        this.stats.resyncs++;
        this.stats.lastResyncAt = new Date();
      })
      .catch((error: unknown) => {
        if (this.listenerCount('error')) this.emit('error', error instanceof Error ? error : new Error(String(error)));
        // Try again later: the view is known to be incomplete.
        if (!this.closed) this.fullTimer ??= setTimeout(() => this.runFullResync(), 1000);
      })
      .finally(() => {
        this.resyncing = undefined;
      });
    return this.resyncing;
  }

  private runFullResync(): void {
    this.fullTimer = undefined;
    if (!this.closed) void this.resync();
  }

  private scheduleFullResync(): void {
    if (this.closed) return;
    this.fullTimer ??= setTimeout(() => this.runFullResync(), FULL_RESYNC_DELAY_MS);
  }

  private scheduleRouteResync(): void {
    if (this.closed || this.routeTimer) return;
    this.routeTimer = setTimeout(() => {
      this.routeTimer = undefined;
      if (this.closed) return;
      this.routeDumps++;
      this.changedDuringRoutes = false;
      dumpDerived(this.netns)
        .then(({ routes, neighbours }) => {
          if (this.closed) return;
          this.routes.clear();
          for (const r of routes) this.routes.set(routeKey(r), r);
          this.neighbours.clear();
          for (const n of neighbours) this.neighbours.set(neighbourKey(n), n);
          this.stats.routeResyncs++;
          this.changed();
        })
        .catch((error: unknown) => {
          if (this.listenerCount('error')) this.emit('error', error instanceof Error ? error : new Error(String(error)));
          this.scheduleFullResync();
        })
        .finally(() => {
          this.routeDumps--;
          if (this.changedDuringRoutes) this.scheduleRouteResync();
        });
    }, ROUTE_RESYNC_DELAY_MS);
  }

  /** Whether every pending resync has run (tests wait for this before comparing with `ip`). */
  get settled(): boolean {
    return !this.routeTimer && !this.fullTimer && !this.resyncing && this.fullDumps === 0 && this.routeDumps === 0;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.routeTimer);
    clearTimeout(this.fullTimer);
    clearTimeout(this.changeTimer);
    this.socket?.close();
    this.removeAllListeners();
  }
}
