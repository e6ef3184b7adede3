// The overview's groups of a snapshot: per source host, destination host, destination port, external address,
// zone or mark (or any per-row key column the caller brings, such as the console's WAN column), entries and bytes
// both ways, in one pass over the matching rows. Protocol and state come from the summary's tallies (summary.ts),
// so the overview and the header count them the same way.
import { IPS, PORTED_PROTOCOLS, TCP_STATES } from '../constants';
import type { GroupKey } from '../vocabulary';
import { FAMILY_V6, type Columns } from './columns';
import { addressText } from './text';
import { bytesOf, protocolName, tally, UDP_REPLIED, UDP_UNREPLIED } from './summary';

/** One group: what it is, and the filter fields (as the URL writes them) that select exactly its entries. */
export interface Group {
  key: string;
  count: number;
  bytes: { original: number; reply: number };
  filter: Record<string, string>;
}

/** A per-row key the caller computed (a WAN per row, say): the index into names, or < 0 for rows without one. */
export interface KeyColumn {
  names: readonly string[];
  index: ArrayLike<number>;
  /** The filter field that selects one name (wan=NAME). */
  field: string;
}

const PORTED = new Set(PORTED_PROTOCOLS);

/** 16 IPv6 bytes as a compact string key. */
function v6Key(c: Columns, slot: number): string {
  const o = slot * 16;
  let key = '';
  for (let i = 0; i < 16; i += 2) key += String.fromCharCode((c.v6[o + i] << 8) | c.v6[o + i + 1]);
  return key;
}

/** An address slot's key: the IPv4 number, or the IPv6 bytes as a string. */
const addressKey = (c: Columns, row: number, k: number): number | string => (c.family[row] === FAMILY_V6 ? v6Key(c, c.addr[row * 4 + k]) : c.addr[row * 4 + k]);

interface Keyed {
  /** The row's key, or undefined when the grouping does not apply to it (a port of ICMP, the external address of a routed entry). */
  key: (row: number) => number | string | undefined;
  /** The group of a key, from the first row that had it. */
  describe: (row: number) => Pick<Group, 'key' | 'filter'>;
}

/** The external address: the reply destination of a source-NATed entry, else the original destination of a port forward. */
function externalOf(c: Columns, row: number): { slot: number; nat: 'source' | 'destination' } | undefined {
  const status = c.status[row];
  if (status & IPS.SRC_NAT) return { slot: 3, nat: 'source' };
  if (status & IPS.DST_NAT) return { slot: 1, nat: 'destination' };
  return undefined;
}

function keyed(c: Columns, by: Exclude<GroupKey, 'protocol' | 'state'>): Keyed {
  switch (by) {
    case 'src':
    case 'dst': {
      const k = by === 'src' ? 0 : 1;
      return { key: (row) => addressKey(c, row, k), describe: (row) => ({ key: addressText(c, row, k), filter: { [by]: addressText(c, row, k) } }) };
    }
    case 'dport':
      return {
        key: (row) => (PORTED.has(c.protocol[row]) ? c.protocol[row] * 65536 + c.ports[row * 4 + 1] : undefined),
        describe: (row) => {
          const protocol = protocolName(c.protocol[row]);
          const port = String(c.ports[row * 4 + 1]);
          return { key: `${protocol}/${port}`, filter: { protocol, dport: port } };
        },
      };
    case 'external':
      return {
        key: (row) => {
          const external = externalOf(c, row);
          if (!external) return undefined;
          const address = addressKey(c, row, external.slot);
          // Source NAT and port forwards of one address are two groups: each has a filter that selects it exactly.
          return external.nat === 'source' ? address : `>${String(address)}`;
        },
        describe: (row): Pick<Group, 'key' | 'filter'> => {
          const external = externalOf(c, row) ?? { slot: 3, nat: 'source' as const };
          const address = addressText(c, row, external.slot);
          return external.nat === 'source'
            ? { key: address, filter: { status: 'SRC_NAT', replyDst: address } }
            : { key: `${address} (port forward)`, filter: { status: 'DST_NAT', dst: address } };
        },
      };
    case 'zone':
      return { key: (row) => c.zone[row], describe: (row) => ({ key: String(c.zone[row]), filter: { zone: String(c.zone[row]) } }) };
    case 'mark':
      return {
        key: (row) => c.mark[row],
        describe: (row) => {
          const mark = `0x${c.mark[row].toString(16)}`;
          return { key: mark, filter: { mark } };
        },
      };
  }
}

/** Groups of `rows` (default: all) by one of the column keys, or by a per-row key column. Unordered. */
export function groupRows(c: Columns, by: GroupKey | KeyColumn, rows?: Uint32Array): Group[] {
  if (by === 'protocol' || by === 'state') return tallyGroups(c, by, rows);
  const spec: Keyed =
    typeof by === 'string'
      ? keyed(c, by)
      : { key: (row) => (by.index[row] >= 0 ? by.index[row] : undefined), describe: (row) => ({ key: by.names[by.index[row]], filter: { [by.field]: by.names[by.index[row]] } }) };
  const slots = new Map<number | string, number>();
  const firstRow: number[] = [];
  const counts: number[] = [];
  const original: number[] = [];
  const reply: number[] = [];
  const n = rows ? rows.length : c.size;
  for (let i = 0; i < n; i++) {
    const row = rows ? rows[i] : i;
    const key = spec.key(row);
    if (key === undefined) continue;
    let slot = slots.get(key);
    if (slot === undefined) {
      slot = counts.length;
      slots.set(key, slot);
      firstRow.push(row);
      counts.push(0);
      original.push(0);
      reply.push(0);
    }
    counts[slot]++;
    original[slot] += bytesOf(c, row, 0);
    reply[slot] += bytesOf(c, row, 1);
  }
  return counts.map((count, slot) => ({ ...spec.describe(firstRow[slot]), count, bytes: { original: original[slot], reply: reply[slot] } }));
}

/** Protocol and state groups from the summary's one-pass tallies. */
function tallyGroups(c: Columns, by: 'protocol' | 'state', rows?: Uint32Array): Group[] {
  const t = tally(c, rows);
  const groups: Group[] = [];
  const counts = by === 'protocol' ? t.protocols : t.states;
  const bytes = by === 'protocol' ? t.protocolBytes : t.stateBytes;
  for (let slot = 0; slot < 256; slot++) {
    if (!counts[slot]) continue;
    let key: string;
    let filter: Record<string, string>;
    if (by === 'protocol') {
      key = protocolName(slot);
      filter = { protocol: key };
    } else if (slot === UDP_REPLIED || slot === UDP_UNREPLIED) {
      const replied = slot === UDP_REPLIED;
      key = replied ? 'UDP replied' : 'UDP unreplied';
      filter = { protocol: 'udp', status: replied ? 'SEEN_REPLY' : 'UNREPLIED' };
    } else if (slot < TCP_STATES.length) {
      key = TCP_STATES[slot];
      filter = { protocol: 'tcp', state: key };
    } else continue; // neither TCP nor UDP: no state to group by
    groups.push({ key, count: counts[slot], bytes: { original: bytes[slot * 2], reply: bytes[slot * 2 + 1] }, filter });
  }
  return groups;
}
