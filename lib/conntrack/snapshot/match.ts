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

/**
 * Marks in `mask` (index 0 is row `from`) the rows of [from, to) that satisfy every condition of the filter
 * with 1, the others with 0, and returns how many match.
 */
export function evaluate(c: Columns, filter: Filter, from: number, to: number, mask: Uint8Array): number {
  const n = to - from;
  mask.fill(1, 0, n);
  const byByte = (column: Columns['family'], wanted: Uint8Array) => {
    for (let i = 0; i < n; i++) if (mask[i] && !wanted[column[from + i]]) mask[i] = 0;
  };
  if (filter.family) byByte(c.family, table([filter.family === 'ipv6' ? FAMILY_V6 : 0]));
  if (filter.protocol !== undefined) byByte(c.protocol, table([filter.protocol]));
  if (filter.states) byByte(c.state, table(filter.states.map((state) => TCP_STATES.indexOf(state))));
  const masked = (column: Columns['status'], value: number, bits: number) => {
    for (let i = 0; i < n; i++) if (mask[i] && ((column[from + i] & bits) >>> 0) !== value) mask[i] = 0;
  };
  if (filter.status) masked(c.status, filter.status.value, filter.status.mask);
  if (filter.mark) masked(c.mark, filter.mark.value, filter.mark.mask);
  if (filter.id !== undefined) masked(c.id, filter.id >>> 0, 0xffffffff);
  if (filter.zone !== undefined) {
    const zone = filter.zone;
    for (let i = 0; i < n; i++) if (mask[i] && c.zone[from + i] !== zone) mask[i] = 0;
  }
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
  const slots = (prefix: Prefix, ks: readonly number[]) => {
    if (prefix.family === 'ipv4') {
      const { network, mask: bits } = ipv4PrefixMask(prefix);
      for (let i = 0; i < n; i++) {
        if (!mask[i]) continue;
        const r = from + i;
        if (c.family[r] === FAMILY_V6) {
          mask[i] = 0;
          continue;
        }
        let hit = false;
        for (const k of ks) if (((c.addr[r * 4 + k] & bits) >>> 0) === network) hit = true;
        if (!hit) mask[i] = 0;
      }
    } else {
      for (let i = 0; i < n; i++) {
        if (!mask[i]) continue;
        const r = from + i;
        let hit = false;
        if (c.family[r] === FAMILY_V6) for (const k of ks) if (prefixContains(prefix, c.v6, c.addr[r * 4 + k] * 16)) hit = true;
        if (!hit) mask[i] = 0;
      }
    }
  };
  if (filter.src) slots(filter.src, [0]);
  if (filter.dst) slots(filter.dst, [1]);
  if (filter.replySrc) slots(filter.replySrc, [2]);
  if (filter.replyDst) slots(filter.replyDst, [3]);
  if (filter.ip) slots(filter.ip, [0, 1, 2, 3]);
  if (filter.host) {
    // A set lookup per address slot: a "*.lan" host may stand for hundreds of addresses.
    const { v4, v6 } = hostSets(filter.host);
    for (let i = 0; i < n; i++) {
      if (!mask[i]) continue;
      const r = from + i;
      let hit = false;
      if (c.family[r] === FAMILY_V6) {
        if (v6.size) for (let k = 0; k < 4 && !hit; k++) hit = v6.has(v6Key(c.v6, c.addr[r * 4 + k] * 16));
      } else if (v4.size) {
        for (let k = 0; k < 4 && !hit; k++) hit = v4.has(c.addr[r * 4 + k]);
      }
      if (!hit) mask[i] = 0;
    }
  }
  const ports = (range: PortRange, ks: readonly number[]) => {
    for (let i = 0; i < n; i++) {
      if (!mask[i]) continue;
      const r = from + i;
      if (!PORTED[c.protocol[r]]) {
        mask[i] = 0;
        continue;
      }
      let hit = false;
      for (const k of ks) {
        const port = c.ports[r * 4 + k];
        if (port >= range.min && port <= range.max) hit = true;
      }
      if (!hit) mask[i] = 0;
    }
  };
  if (filter.sport) ports(filter.sport, [0]);
  if (filter.dport) ports(filter.dport, [1]);
  if (filter.port) ports(filter.port, [0, 1, 2, 3]);
  let count = 0;
  for (let i = 0; i < n; i++) count += mask[i];
  return count;
}
