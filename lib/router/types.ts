// The router around the conntrack table, in plain words: its interfaces (links), the addresses they hold, its
// routes (every table), policy rules and neighbours. Addresses are canonical strings at the edges, with their
// bytes kept beside them for lookups.
import type { Family } from '@/lib/netlink/address';

export type { Family };

export interface Link {
  index: number;
  name: string;
  /** IFF_UP: the administrator has set it up. */
  up: boolean;
  /** IFF_LOWER_UP: the physical (or peer) side is there. */
  carrier: boolean;
  /** IFLA_INFO_KIND (veth, ppp, wireguard, vlan, ...); undefined for plain hardware interfaces. */
  kind?: string;
  /** Link-layer address as aa:bb:..., when the link has one. */
  mac?: string;
  mtu?: number;
}

export interface InterfaceAddress {
  index: number;
  family: Family;
  address: string;
  bytes: Uint8Array;
  prefixLength: number;
  /** RT_SCOPE_*: 0 global, 253 link (IPv6 fe80::/10), 254 host (loopback). */
  scope: number;
  /** Point-to-point links (PPP): the peer's address (IFA_ADDRESS when it differs from IFA_LOCAL). */
  peer?: string;
}

/** RTN_* names of route types. */
export type RouteType = 'unicast' | 'local' | 'broadcast' | 'anycast' | 'multicast' | 'blackhole' | 'unreachable' | 'prohibit' | 'throw' | 'nat' | 'other';

export interface Route {
  family: Family;
  /** Table id: 254 main, 255 local, 253 default, or a number the administrator chose. */
  table: number;
  type: RouteType;
  /** Destination prefix; length 0 is the default route. */
  dst: string;
  dstBytes: Uint8Array;
  dstLength: number;
  /** Source prefix (IPv6 source routing). */
  src?: string;
  srcLength: number;
  tos: number;
  /** RTA_PRIORITY: the metric. */
  metric: number;
  /** Output interface (the first next hop's, for multipath routes). */
  oif?: number;
  gateway?: string;
  prefsrc?: string;
  protocol: number;
  scope: number;
}

/** FR_ACT_* names of rule actions. */
export type RuleAction = 'lookup' | 'goto' | 'nop' | 'blackhole' | 'unreachable' | 'prohibit' | 'other';

export interface Rule {
  family: Family;
  priority: number;
  action: RuleAction;
  /** The table `lookup` uses. */
  table: number;
  /** Source and destination selectors (length 0: any). */
  src?: string;
  srcBytes?: Uint8Array;
  srcLength: number;
  dst?: string;
  dstBytes?: Uint8Array;
  dstLength: number;
  fwmark?: number;
  fwmask?: number;
  /** FIB_RULE_INVERT: `not`. */
  invert: boolean;
  /**
   * Selectors the console cannot evaluate for a conntrack entry (iif, oif, tos, ip proto, ports, uid range,
   * l3mdev, suppress_prefixlen/ifgroup, goto target), by name; a flow such a rule could select gets `unknown`.
   */
  otherSelectors: string[];
}

export interface Neighbour {
  index: number;
  family: Family;
  address: string;
  bytes: Uint8Array;
  mac?: string;
  /** NUD_* names (reachable, stale, permanent, noarp, failed, ...). */
  state: string[];
}

/** Everything the router knows at one moment. */
export interface Topology {
  links: Link[];
  addresses: InterfaceAddress[];
  routes: Route[];
  rules: Rule[];
  neighbours: Neighbour[];
}

/** The main routing table (RT_TABLE_MAIN). */
export const MAIN_TABLE = 254;
