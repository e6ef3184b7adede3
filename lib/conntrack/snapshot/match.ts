// What a filter means: the one evaluator. It runs over columns, one condition at a time in table order
// (sequential column reads, no per-row closures), on a range of rows. Everything else that filters is this
// evaluator (matches() on one Connection, the snapshot's queries, the builder's chunks) or a translation of it
// tested against it (the kernel plan in kernel-filter.ts, the history store's SQL).
import { ipv4PrefixMask, prefixContains, type Prefix } from '@/lib/netlink/address';
import { TCP_STATES } from '../constants';
import { hasLabel, type Filter, type HostMatch, type PortRange } from '../filter';
import { FAMILY_V6, PORTED, type Columns } from './columns';

function table(values: readonly number[]): Uint8Array {
  const wanted = new Uint8Array(256);
  for (const v of values) if (v >= 0) wanted[v] = 1;
  return wanted;
}

/** 16 address bytes as one string key. */
function v6Key(bytes: ArrayLike<number>, offset: number): string {
  let key = '';
  for (let i = 0; i < 16; i++) key += String.fromCharCode(bytes[offset + i]);
  return key;
}

/** A host's addresses as an IPv4 set (the column's uint32 values) and an IPv6 set (v6Key). */
function hostSets(host: HostMatch): { v4: Set<number>; v6: Set<string> } {
  const v4 = new Set<number>();
  const v6 = new Set<string>();
  for (const prefix of host.addresses) {
    if (prefix.family === 'ipv4') v4.add(ipv4PrefixMask(prefix).network);
    else v6.add(v6Key(prefix.bytes, 0));
  }
  return { v4, v6 };
}

// Module-local copies: an imported binding can compile to a getter (CommonJS interop), called per row otherwise.
const V6 = FAMILY_V6;
const HAS_PORTS = PORTED;

// One plain function per kind of condition, each a simple loop over [from, from + n) clearing mask[i] of the rows
// that fail: a server evaluates a fresh filter over a million rows once, so the loops must reach optimised code
// within that one call (no closures made per call, no iterators per row).

function keepBytes(column: Columns['family'], wanted: Uint8Array, from: number, n: number, mask: Uint8Array): void {
  for (let i = 0; i < n; i++) if (mask[i] && !wanted[column[from + i]]) mask[i] = 0;
}

function keepMasked(column: Columns['status'], value: number, bits: number, from: number, n: number, mask: Uint8Array): void {
  for (let i = 0; i < n; i++) if (mask[i] && ((column[from + i] & bits) >>> 0) !== value) mask[i] = 0;
}

function keepZone(column: Columns['zone'], zone: number, from: number, n: number, mask: Uint8Array): void {
  for (let i = 0; i < n; i++) if (mask[i] && column[from + i] !== zone) mask[i] = 0;
}

/** IPv4 prefix on address slots [k, k + slots) (one slot, or all four). */
function keepIPv4(c: Columns, network: number, bits: number, k: number, slots: number, from: number, n: number, mask: Uint8Array): void {
  const family = c.family;
  const addr = c.addr;
  for (let i = 0; i < n; i++) {
    if (!mask[i]) continue;
    const r = from + i;
    let hit = false;
    if (family[r] !== V6) for (let s = 0; s < slots && !hit; s++) hit = ((addr[r * 4 + k + s] & bits) >>> 0) === network;
    if (!hit) mask[i] = 0;
  }
}

function keepIPv6(c: Columns, prefix: Prefix, k: number, slots: number, from: number, n: number, mask: Uint8Array): void {
  const family = c.family;
  for (let i = 0; i < n; i++) {
    if (!mask[i]) continue;
    const r = from + i;
    let hit = false;
    if (family[r] === V6) for (let s = 0; s < slots && !hit; s++) hit = prefixContains(prefix, c.v6, c.addr[r * 4 + k + s] * 16);
    if (!hit) mask[i] = 0;
  }
}

function keepPrefix(c: Columns, prefix: Prefix, k: number, slots: number, from: number, n: number, mask: Uint8Array): void {
  if (prefix.family === 'ipv4') {
    const { network, mask: bits } = ipv4PrefixMask(prefix);
    keepIPv4(c, network, bits, k, slots, from, n, mask);
  } else {
    keepIPv6(c, prefix, k, slots, from, n, mask);
  }
}

/** A port range on port slots [k, k + slots) of the rows whose protocol has ports. */
function keepPorts(c: Columns, min: number, max: number, k: number, slots: number, from: number, n: number, mask: Uint8Array): void {
  const protocol = c.protocol;
  const ports = c.ports;
  for (let i = 0; i < n; i++) {
    if (!mask[i]) continue;
    const r = from + i;
    let hit = false;
    if (HAS_PORTS[protocol[r]]) {
      for (let s = 0; s < slots && !hit; s++) {
        const port = ports[r * 4 + k + s];
        hit = port >= min && port <= max;
      }
    }
    if (!hit) mask[i] = 0;
  }
}

function keepHost(c: Columns, host: HostMatch, from: number, n: number, mask: Uint8Array): void {
  // A set lookup per address slot: a "*.lan" host may stand for hundreds of addresses.
  const { v4, v6 } = hostSets(host);
  for (let i = 0; i < n; i++) {
    if (!mask[i]) continue;
    const r = from + i;
    let hit = false;
    if (c.family[r] === V6) {
      if (v6.size) for (let k = 0; k < 4 && !hit; k++) hit = v6.has(v6Key(c.v6, c.addr[r * 4 + k] * 16));
    } else if (v4.size) {
      for (let k = 0; k < 4 && !hit; k++) hit = v4.has(c.addr[r * 4 + k]);
    }
    if (!hit) mask[i] = 0;
  }
}

const keepRange = (c: Columns, range: PortRange, k: number, slots: number, from: number, n: number, mask: Uint8Array): void =>
  keepPorts(c, range.min, range.max, k, slots, from, n, mask);

/**
 * Marks in `mask` (index 0 is row `from`) the rows of [from, to) that satisfy every condition of the filter
 * with 1, the others with 0, and returns how many match.
 */
export function evaluate(c: Columns, filter: Filter, from: number, to: number, mask: Uint8Array): number {
  const n = to - from;
  mask.fill(1, 0, n);
  if (filter.family) keepBytes(c.family, table([filter.family === 'ipv6' ? V6 : 0]), from, n, mask);
  if (filter.protocol !== undefined) keepBytes(c.protocol, table([filter.protocol]), from, n, mask);
  if (filter.states) keepBytes(c.state, table(filter.states.map((state) => TCP_STATES.indexOf(state))), from, n, mask);
  if (filter.status) keepMasked(c.status, filter.status.value, filter.status.mask, from, n, mask);
  if (filter.mark) keepMasked(c.mark, filter.mark.value, filter.mark.mask, from, n, mask);
  if (filter.id !== undefined) keepMasked(c.id, filter.id >>> 0, 0xffffffff, from, n, mask);
  if (filter.zone !== undefined) keepZone(c.zone, filter.zone, from, n, mask);
  // Helpers and labels are sparse (maps by row): most rows have neither.
  if (filter.helper !== undefined) {
    const helper = filter.helper;
    for (let i = 0; i < n; i++) if (mask[i] && c.helpers.get(from + i) !== helper) mask[i] = 0;
  }
  if (filter.labels) {
    const bits = filter.labels;
    for (let i = 0; i < n; i++) {
      if (!mask[i]) continue;
      const bitmap = c.labels.get(from + i);
      if (!bits.every((bit) => hasLabel(bitmap, bit))) mask[i] = 0;
    }
  }
  if (filter.src) keepPrefix(c, filter.src, 0, 1, from, n, mask);
  if (filter.dst) keepPrefix(c, filter.dst, 1, 1, from, n, mask);
  if (filter.replySrc) keepPrefix(c, filter.replySrc, 2, 1, from, n, mask);
  if (filter.replyDst) keepPrefix(c, filter.replyDst, 3, 1, from, n, mask);
  if (filter.ip) keepPrefix(c, filter.ip, 0, 4, from, n, mask);
  if (filter.host) keepHost(c, filter.host, from, n, mask);
  if (filter.sport) keepRange(c, filter.sport, 0, 1, from, n, mask);
  if (filter.dport) keepRange(c, filter.dport, 1, 1, from, n, mask);
  if (filter.port) keepRange(c, filter.port, 0, 4, from, n, mask);
  let count = 0;
  for (let i = 0; i < n; i++) count += mask[i];
  return count;
}
