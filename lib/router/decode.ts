// From the rtnetlink messages the npm package `netlink` parses to the router's plain types. The package decodes
// the structs and attribute tables; this module decides what they mean for the console (canonical addresses,
// table ids, which rule selectors it can evaluate).
import type { rt } from 'netlink';
import { formatIPv4, formatIPv6 } from '@/lib/netlink/address';
import type { Family, InterfaceAddress, Link, Neighbour, Route, RouteType, Rule, RuleAction } from './types';

// AF_INET, AF_INET6 (linux/socket.h)
const AF_INET = 2;
const AF_INET6 = 10;
// IFLA_INFO_KIND inside IFLA_LINKINFO (linux/if_link.h)
const IFLA_INFO_KIND = 1;
// "no suppression": the kernel reports suppress_prefixlen -1 on every rule.
const NO_SUPPRESS = 0xffffffff;

export function familyOf(af: number | undefined): Family | undefined {
  return af === AF_INET ? 'ipv4' : af === AF_INET6 ? 'ipv6' : undefined;
}

export function formatAddressBytes(bytes: Uint8Array): string {
  return bytes.length === 4 ? formatIPv4(bytes, 0) : formatIPv6(bytes, 0);
}

const copy = (buf: Uint8Array): Uint8Array => new Uint8Array(buf);

function formatMac(buf: Buffer | undefined): string | undefined {
  if (!buf || buf.length === 0) return undefined;
  return [...buf].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The IFLA_INFO_KIND string inside an IFLA_LINKINFO nest (which the package leaves as bytes). */
function linkKind(linkinfo: Buffer | undefined): string | undefined {
  if (!linkinfo) return undefined;
  for (let offset = 0; offset + 4 <= linkinfo.length; ) {
    const length = linkinfo.readUInt16LE(offset);
    const type = linkinfo.readUInt16LE(offset + 2) & 0x3fff;
    if (length < 4 || offset + length > linkinfo.length) return undefined;
    if (type === IFLA_INFO_KIND) return linkinfo.subarray(offset + 4, offset + length).toString('utf8').replace(/\0+$/, '');
    offset += (length + 3) & ~3;
  }
  return undefined;
}

export function decodeLink(message: rt.LinkMessage): Link | undefined {
  const { data, attrs } = message;
  if (data.index === undefined || attrs.ifname === undefined) return undefined;
  const link: Link = { index: data.index, name: attrs.ifname, up: Boolean(data.flags?.up), carrier: Boolean(data.flags?.lowerUp) };
  const kind = linkKind(attrs.linkinfo);
  if (kind) link.kind = kind;
  const mac = formatMac(attrs.address);
  if (mac) link.mac = mac;
  if (attrs.mtu !== undefined) link.mtu = attrs.mtu;
  return link;
}

export function decodeAddress(message: rt.AddressMessage): InterfaceAddress | undefined {
  const { data, attrs } = message;
  const family = familyOf(data.family);
  // IFA_LOCAL is the interface's own address; IFA_ADDRESS the prefix address (the peer on point-to-point links).
  const local = attrs.local ?? attrs.address;
  if (!family || data.index === undefined || !local) return undefined;
  const address: InterfaceAddress = { index: data.index, family, address: formatAddressBytes(local), bytes: copy(local), prefixLength: data.prefixlen ?? 0, scope: data.scope ?? 0 };
  if (attrs.local && attrs.address && !attrs.local.equals(attrs.address)) address.peer = formatAddressBytes(attrs.address);
  return address;
}

const ROUTE_TYPES: Record<string, RouteType> = {
  UNICAST: 'unicast',
  LOCAL: 'local',
  BROADCAST: 'broadcast',
  ANYCAST: 'anycast',
  MULTICAST: 'multicast',
  BLACKHOLE: 'blackhole',
  UNREACHABLE: 'unreachable',
  PROHIBIT: 'prohibit',
  THROW: 'throw',
  NAT: 'nat',
};

const enumName = (value: string | number | undefined): string => (value === undefined ? '' : String(value));

/** The first next hop's interface of an RTA_MULTIPATH array (struct rtnexthop: len u16, flags u8, hops u8, ifindex i32). */
function firstMultipathOif(multipath: Buffer | undefined): number | undefined {
  return multipath && multipath.length >= 8 ? multipath.readInt32LE(4) : undefined;
}

export function decodeRoute(message: rt.RouteMessage): Route | undefined {
  const { data, attrs } = message;
  const family = familyOf(data.family);
  if (!family) return undefined;
  const size = family === 'ipv4' ? 4 : 16;
  const dstBytes = attrs.dst ? copy(attrs.dst) : new Uint8Array(size);
  const route: Route = {
    family,
    // RTA_TABLE carries tables above 255; rtm_table is only the low byte.
    table: attrs.table ?? data.table ?? 0,
    type: ROUTE_TYPES[enumName(data.type)] ?? 'other',
    dst: formatAddressBytes(dstBytes),
    dstBytes,
    dstLength: data.dstLen ?? 0,
    srcLength: data.srcLen ?? 0,
    tos: data.tos ?? 0,
    metric: attrs.priority ?? 0,
    protocol: typeof data.protocol === 'number' ? data.protocol : 0,
    scope: typeof data.scope === 'number' ? data.scope : 0,
  };
  if (attrs.src) route.src = formatAddressBytes(attrs.src);
  const oif = attrs.oif ?? firstMultipathOif(attrs.multipath);
  if (oif !== undefined) route.oif = oif;
  if (attrs.gateway) route.gateway = formatAddressBytes(attrs.gateway);
  if (attrs.prefsrc) route.prefsrc = formatAddressBytes(attrs.prefsrc);
  return route;
}

const RULE_ACTIONS: Record<string, RuleAction> = { toTbl: 'lookup', goto: 'goto', nop: 'nop', blackhole: 'blackhole', unreachable: 'unreachable', prohibit: 'prohibit' };

export function decodeRule(message: rt.RuleMessage): Rule | undefined {
  const { data, attrs } = message;
  const family = familyOf(data.family);
  if (!family) return undefined;
  const other: string[] = [];
  if (attrs.iifname !== undefined) other.push('iif');
  if (attrs.oifname !== undefined) other.push('oif');
  if (data.tos) other.push('tos');
  if (attrs.ipProto !== undefined) other.push('ipproto');
  if (attrs.sportRange !== undefined) other.push('sport');
  if (attrs.dportRange !== undefined) other.push('dport');
  if (attrs.uidRange !== undefined) other.push('uidrange');
  if (attrs.l3Mdev) other.push('l3mdev');
  if (attrs.tunId !== undefined) other.push('tun_id');
  if (attrs.suppressIfgroup !== undefined && attrs.suppressIfgroup.readUInt32LE(0) !== NO_SUPPRESS) other.push('suppress_ifgroup');
  if (attrs.suppressPrefixlen !== undefined && attrs.suppressPrefixlen.readUInt32LE(0) !== NO_SUPPRESS) other.push('suppress_prefixlen');
  const rule: Rule = {
    family,
    priority: attrs.priority ?? 0,
    action: RULE_ACTIONS[enumName(data.action)] ?? 'other',
    table: attrs.table ?? data.table ?? 0,
    srcLength: data.srcLen ?? 0,
    dstLength: data.dstLen ?? 0,
    invert: Boolean(data.flags?.invert),
    otherSelectors: other,
  };
  if (attrs.src && rule.srcLength > 0) {
    rule.srcBytes = copy(attrs.src);
    rule.src = formatAddressBytes(attrs.src);
  }
  if (attrs.dst && rule.dstLength > 0) {
    rule.dstBytes = copy(attrs.dst);
    rule.dst = formatAddressBytes(attrs.dst);
  }
  if (attrs.fwmark !== undefined) rule.fwmark = attrs.fwmark >>> 0;
  if (attrs.fwmask !== undefined) rule.fwmask = attrs.fwmask >>> 0;
  return rule;
}

export function decodeNeighbour(message: rt.NeighborMessage): Neighbour | undefined {
  const { data, attrs } = message;
  const family = familyOf(data.family);
  if (!family || data.ifindex === undefined || !attrs.dst) return undefined;
  const state = Object.entries(data.state ?? {})
    .filter(([name, set]) => name !== '__unknown' && set === true)
    .map(([name]) => name);
  const neighbour: Neighbour = { index: data.ifindex, family, address: formatAddressBytes(attrs.dst), bytes: copy(attrs.dst), state };
  const mac = formatMac(attrs.lladdr);
  if (mac) neighbour.mac = mac;
  return neighbour;
}
