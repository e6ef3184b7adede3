// The overview's groups of a snapshot: per source host, destination host, destination port, external address,
// zone, mark, UDP replied/unreplied (or any per-row key column the caller brings, such as the console's WAN
// column), entries and bytes both ways. Columnar, because a million rows must group in milliseconds: one pass
// turns each row's key into two integers, an open-addressing table of typed arrays maps them to a group, and the
// top N are picked by a bounded heap; strings are made only for the groups shown. Protocol and state come from the
// summary's tallies (summary.ts), so the overview and the header count them the same way.
import { IPS, TCP_STATES } from '../constants';
import type { GroupKey, GroupMetric } from '../vocabulary';
import { FAMILY_V6, PORTED, SHAPE, type Columns } from './columns';
import { addressText } from './text';
import { protocolName, tally, UDP_REPLIED, UDP_UNREPLIED } from './summary';

// Imported constants as module locals: a bundler reads an imported binding through a getter, which costs more
// than the rest of the work when it is read once per row.
const V6 = FAMILY_V6;
const COUNTERS = SHAPE.COUNTERS;
const SRC_NAT = IPS.SRC_NAT;
const DST_NAT = IPS.DST_NAT;
const PORTED_PROTOCOL = PORTED;

/** One group: what it is, and the filter fields (as the URL writes them) that select exactly its entries. */
export interface Group {
  key: string;
  count: number;
  bytes: { original: number; reply: number };
  filter: Record<string, string>;
}

/** A per-row key the caller computed (a WAN per row, say): the index into names, or < 0 for `negative[-index - 1]`. */
export interface KeyColumn {
  names: readonly string[];
  index: ArrayLike<number>;
  /** Names of the negative indices (-1, -2, ...): values the column has that are not in names ("none"). */
  negative?: readonly string[];
  /** The filter field that selects one name (wan=NAME). */
  field: string;
}

/** What the snapshot itself can group by: its own columns; the console brings its WAN as a KeyColumn. */
export type ColumnGroupKey = Exclude<GroupKey, 'wan'>;

/** The groups after the top ones, summed. */
export interface Others {
  groups: number;
  count: number;
  bytes: { original: number; reply: number };
}

/** A snapshot's entries in groups, kept as columns: the top N by either metric are picked from it on demand. */
export interface Grouping {
  /** Groups found. */
  readonly size: number;
  /** Entries in some group (matching entries the grouping does not apply to are left out). */
  readonly grouped: number;
  /** The top `limit` groups by `metric`, largest first (ties: more entries first, then in key order), and the rest summed. */
  top(limit: number, metric: GroupMetric): { groups: Group[]; others: Others };
}

/**
 * Groups as parallel typed arrays: the key as two integers (hi, lo), the first row that had it (to describe the
 * group), entries and bytes each way; an open-addressing hash of the key gives a group's index.
 */
class GroupTable {
  size = 0;
  hi: Uint32Array;
  lo: Uint32Array;
  first: Uint32Array;
  count: Uint32Array;
  original: Float64Array;
  reply: Float64Array;
  /** Group index + 1 per hash slot (0: free). */
  private slots: Int32Array;
  private mask: number;

  constructor(capacity = 64) {
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
    this.first = new Uint32Array(capacity);
    this.count = new Uint32Array(capacity);
    this.original = new Float64Array(capacity);
    this.reply = new Float64Array(capacity);
    this.slots = new Int32Array(capacity * 2);
    this.mask = capacity * 2 - 1;
  }

  /** Counts `row` (with its bytes) into the group of key (hi, lo). */
  add(hi: number, lo: number, row: number, original: number, reply: number): void {
    let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
    h = (h ^ (h >>> 15)) & this.mask;
    let g: number;
    for (;;) {
      const s = this.slots[h];
      if (s === 0) {
        g = this.create(hi, lo, row);
        break;
      }
      if (this.lo[s - 1] === lo && this.hi[s - 1] === hi) {
        g = s - 1;
        break;
      }
      h = (h + 1) & this.mask;
    }
    this.count[g]++;
    this.original[g] += original;
    this.reply[g] += reply;
  }

  private create(hi: number, lo: number, row: number): number {
    if (this.size === this.hi.length) this.grow();
    const g = this.size++;
    this.hi[g] = hi;
    this.lo[g] = lo;
    this.first[g] = row;
    this.insert(g);
    return g;
  }

  private insert(g: number): void {
    let h = Math.imul(this.lo[g] ^ Math.imul(this.hi[g], 0x9e3779b1), 0x85ebca6b);
    h = (h ^ (h >>> 15)) & this.mask;
    while (this.slots[h] !== 0) h = (h + 1) & this.mask;
    this.slots[h] = g + 1;
  }

  private grow(): void {
    const capacity = this.hi.length * 2;
    const widen = <T extends Uint32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(capacity);
      b.set(a);
      return b;
    };
    this.hi = widen(this.hi, (n) => new Uint32Array(n));
    this.lo = widen(this.lo, (n) => new Uint32Array(n));
    this.first = widen(this.first, (n) => new Uint32Array(n));
    this.count = widen(this.count, (n) => new Uint32Array(n));
    this.original = widen(this.original, (n) => new Float64Array(n));
    this.reply = widen(this.reply, (n) => new Float64Array(n));
    this.slots = new Int32Array(capacity * 2);
    this.mask = capacity * 2 - 1;
    for (let g = 0; g < this.size; g++) this.insert(g);
  }
}

/** How a grouping's groups are compared in key order and turned into what the API shows. */
interface Describer {
  /** Key order for ties (< 0: a first). */
  compare(t: GroupTable, a: number, b: number): number;
  describe(t: GroupTable, g: number): Pick<Group, 'key' | 'filter'>;
}

const byHiLo = (t: GroupTable, a: number, b: number): number => t.hi[a] - t.hi[b] || t.lo[a] - t.lo[b];

/**
 * Per row and address slot k, an id per distinct IPv6 address (rows of the snapshot hold their own copy of each
 * address, so equal addresses have different slots); computed once per snapshot and slot.
 */
const v6IdCache = new WeakMap<Columns, (Uint32Array | undefined)[]>();
function v6Ids(c: Columns, k: number): Uint32Array {
  let perSlot = v6IdCache.get(c);
  if (!perSlot) v6IdCache.set(c, (perSlot = []));
  const cached = perSlot[k];
  if (cached) return cached;
  const ids = new Uint32Array(c.size);
  const v6 = c.v6;
  let capacity = 1024;
  let table = new Int32Array(capacity);
  /** The v6 slot of each id's first occurrence. */
  let reps = new Uint32Array(capacity / 2);
  let next = 0;
  const hashAt = (o: number): number => {
    let h = 0x811c9dc5;
    for (let i = 0; i < 16; i += 4) h = Math.imul(h ^ ((v6[o + i] << 24) | (v6[o + i + 1] << 16) | (v6[o + i + 2] << 8) | v6[o + i + 3]), 0x01000193);
    return (h ^ (h >>> 13)) >>> 0;
  };
  const same = (a: number, b: number): boolean => {
    for (let i = 0; i < 16; i++) if (v6[a + i] !== v6[b + i]) return false;
    return true;
  };
  for (let row = 0; row < c.size; row++) {
    if (c.family[row] !== V6) continue;
    const o = c.addr[row * 4 + k] * 16;
    let h = hashAt(o) & (capacity - 1);
    let id = -1;
    for (;;) {
      const s = table[h];
      if (s === 0) break;
      if (same(reps[s - 1] * 16, o)) {
        id = s - 1;
        break;
      }
      h = (h + 1) & (capacity - 1);
    }
    if (id < 0) {
      id = next++;
      if (next * 2 > capacity) {
        capacity *= 2;
        const grown = new Uint32Array(capacity / 2);
        grown.set(reps);
        reps = grown;
        table = new Int32Array(capacity);
        for (let i = 0; i < id; i++) {
          let j = hashAt(reps[i] * 16) & (capacity - 1);
          while (table[j] !== 0) j = (j + 1) & (capacity - 1);
          table[j] = i + 1;
        }
        h = hashAt(o) & (capacity - 1);
        while (table[h] !== 0) h = (h + 1) & (capacity - 1);
      }
      reps[id] = o / 16;
      table[h] = id + 1;
    }
    ids[row] = id;
  }
  perSlot[k] = ids;
  return ids;
}

/** Addresses in numeric order, IPv4 before IPv6; hi's bit 0 says IPv6 (then the first row's bytes decide). */
function compareAddresses(c: Columns, t: GroupTable, a: number, b: number, slotOf: (g: number) => number): number {
  const ha = t.hi[a];
  const hb = t.hi[b];
  if (ha !== hb) return ha - hb;
  if (!(ha & 1)) return t.lo[a] - t.lo[b];
  const oa = c.addr[t.first[a] * 4 + slotOf(a)] * 16;
  const ob = c.addr[t.first[b] * 4 + slotOf(b)] * 16;
  for (let i = 0; i < 16; i++) if (c.v6[oa + i] !== c.v6[ob + i]) return c.v6[oa + i] - c.v6[ob + i];
  return 0;
}

/** The bytes of a row's two directions, when accounting recorded them. */
function bytesAt(c: Columns, row: number, out: Float64Array): void {
  if (c.shape[row] & COUNTERS) {
    const k = row * 8;
    out[0] = c.counters[k + 2] * 0x1_0000_0000 + c.counters[k + 3];
    out[1] = c.counters[k + 6] * 0x1_0000_0000 + c.counters[k + 7];
  } else {
    out[0] = 0;
    out[1] = 0;
  }
}

/** Fills `t` with the groups of `rows` (default: all) by an address slot, a port, NAT, zone, mark or a key column. */
function fill(c: Columns, by: Exclude<ColumnGroupKey, 'protocol' | 'state' | 'udp'> | KeyColumn, t: GroupTable, rows: Uint32Array | undefined): Describer {
  const n = rows ? rows.length : c.size;
  const bytes = new Float64Array(2);
  const family = c.family;
  const addr = c.addr;
  if (by === 'src' || by === 'dst') {
    const k = by === 'src' ? 0 : 1;
    const ids = v6Ids(c, k);
    for (let i = 0; i < n; i++) {
      const row = rows ? rows[i] : i;
      bytesAt(c, row, bytes);
      if (family[row] === V6) t.add(1, ids[row], row, bytes[0], bytes[1]);
      else t.add(0, addr[row * 4 + k], row, bytes[0], bytes[1]);
    }
    return {
      compare: (tt, a, b) => compareAddresses(c, tt, a, b, () => k),
      describe: (tt, g) => {
        const text = addressText(c, tt.first[g], k);
        return { key: text, filter: { [by]: text } };
      },
    };
  }
  if (by === 'external') {
    // hi: bit 0 IPv6, bit 1 port forward (original destination) rather than source NAT (reply destination).
    const snat = v6Ids(c, 3);
    const dnat = v6Ids(c, 1);
    for (let i = 0; i < n; i++) {
      const row = rows ? rows[i] : i;
      const status = c.status[row];
      const v6 = family[row] === V6 ? 1 : 0;
      let hi: number;
      let lo: number;
      if (status & SRC_NAT) {
        hi = v6;
        lo = v6 ? snat[row] : addr[row * 4 + 3];
      } else if (status & DST_NAT) {
        hi = 2 | v6;
        lo = v6 ? dnat[row] : addr[row * 4 + 1];
      } else continue;
      bytesAt(c, row, bytes);
      t.add(hi, lo, row, bytes[0], bytes[1]);
    }
    const slotOf = (tt: GroupTable, g: number): number => (tt.hi[g] & 2 ? 1 : 3);
    return {
      compare: (tt, a, b) => compareAddresses(c, tt, a, b, (g) => slotOf(tt, g)),
      describe: (tt, g): Pick<Group, 'key' | 'filter'> => {
        const address = addressText(c, tt.first[g], slotOf(tt, g));
        // Source NAT and port forwards of one address are two groups: each has a filter that selects it exactly.
        return tt.hi[g] & 2 ? { key: `${address} (port forward)`, filter: { status: 'DST_NAT', dst: address } } : { key: address, filter: { status: 'SRC_NAT', replyDst: address } };
      },
    };
  }
  if (by === 'dport') {
    for (let i = 0; i < n; i++) {
      const row = rows ? rows[i] : i;
      const protocol = c.protocol[row];
      if (!PORTED_PROTOCOL[protocol]) continue;
      bytesAt(c, row, bytes);
      t.add(protocol, c.ports[row * 4 + 1], row, bytes[0], bytes[1]);
    }
    return {
      compare: byHiLo,
      describe: (tt, g) => {
        const protocol = protocolName(tt.hi[g]);
        const port = String(tt.lo[g]);
        return { key: `${protocol}/${port}`, filter: { protocol, dport: port } };
      },
    };
  }
  if (by === 'zone' || by === 'mark') {
    const column = by === 'zone' ? c.zone : c.mark;
    for (let i = 0; i < n; i++) {
      const row = rows ? rows[i] : i;
      bytesAt(c, row, bytes);
      t.add(0, column[row], row, bytes[0], bytes[1]);
    }
    return {
      compare: byHiLo,
      describe: (tt, g) => {
        const value = by === 'zone' ? String(tt.lo[g]) : `0x${tt.lo[g].toString(16)}`;
        return { key: value, filter: { [by]: value } };
      },
    };
  }
  // A key column: lo is the index, hi says negative (a value outside names).
  const column = by;
  const negative = column.negative ?? [];
  const index = column.index;
  const nameOf = (tt: GroupTable, g: number): string => (tt.hi[g] ? negative[tt.lo[g]] : column.names[tt.lo[g]]);
  for (let i = 0; i < n; i++) {
    const row = rows ? rows[i] : i;
    const value = index[row];
    if (value < 0 && -value > negative.length) continue;
    bytesAt(c, row, bytes);
    if (value >= 0) t.add(0, value, row, bytes[0], bytes[1]);
    else t.add(1, -value - 1, row, bytes[0], bytes[1]);
  }
  return {
    compare: (tt, a, b) => {
      const x = nameOf(tt, a);
      const y = nameOf(tt, b);
      return x < y ? -1 : x > y ? 1 : 0;
    },
    describe: (tt, g) => {
      const name = nameOf(tt, g);
      return { key: name, filter: { [column.field]: name } };
    },
  };
}

/** Protocol, state and UDP replied/unreplied groups from the summary's one-pass tallies. */
function fillFromTally(c: Columns, by: 'protocol' | 'state' | 'udp', t: GroupTable, rows: Uint32Array | undefined): Describer {
  const tallies = tally(c, rows);
  const counts = by === 'protocol' ? tallies.protocols : tallies.states;
  const bytes = by === 'protocol' ? tallies.protocolBytes : tallies.stateBytes;
  for (let slot = 0; slot < 256; slot++) {
    if (!counts[slot]) continue;
    const udp = slot === UDP_REPLIED || slot === UDP_UNREPLIED;
    if (by === 'udp' && !udp) continue;
    // Neither TCP nor UDP: no state to group by.
    if (by === 'state' && !udp && slot >= TCP_STATES.length) continue;
    const g = t.size;
    t.add(0, slot, 0, 0, 0);
    t.count[g] = counts[slot];
    t.original[g] = bytes[slot * 2];
    t.reply[g] = bytes[slot * 2 + 1];
  }
  return {
    // Replied before unreplied; TCP states in the kernel's order.
    compare: (tt, a, b) => (by === 'protocol' ? tt.lo[a] - tt.lo[b] : stateOrder(tt.lo[a]) - stateOrder(tt.lo[b])),
    describe: (tt, g): Pick<Group, 'key' | 'filter'> => {
      const slot = tt.lo[g];
      if (by === 'protocol') {
        const key = protocolName(slot);
        return { key, filter: { protocol: key } };
      }
      if (slot === UDP_REPLIED || slot === UDP_UNREPLIED) {
        const replied = slot === UDP_REPLIED;
        return { key: replied ? 'UDP replied' : 'UDP unreplied', filter: { protocol: 'udp', status: replied ? 'SEEN_REPLY' : 'UNREPLIED' } };
      }
      const key = TCP_STATES[slot];
      return { key, filter: { protocol: 'tcp', state: key } };
    },
  };
}

const stateOrder = (slot: number): number => (slot === UDP_REPLIED ? 1000 : slot === UDP_UNREPLIED ? 1001 : slot);

class TableGrouping implements Grouping {
  readonly grouped: number;
  private readonly totals = { count: 0, original: 0, reply: 0 };

  constructor(
    private readonly t: GroupTable,
    private readonly describer: Describer,
  ) {
    for (let g = 0; g < t.size; g++) {
      this.totals.count += t.count[g];
      this.totals.original += t.original[g];
      this.totals.reply += t.reply[g];
    }
    this.grouped = this.totals.count;
  }

  get size(): number {
    return this.t.size;
  }

  top(limit: number, metric: GroupMetric): { groups: Group[]; others: Others } {
    const t = this.t;
    const weight = metric === 'count' ? (g: number) => t.count[g] : (g: number) => t.original[g] + t.reply[g];
    /** a ranks before b. */
    const before = (a: number, b: number): boolean => {
      const wa = weight(a);
      const wb = weight(b);
      if (wa !== wb) return wa > wb;
      if (t.count[a] !== t.count[b]) return t.count[a] > t.count[b];
      return this.describer.compare(t, a, b) < 0;
    };
    // A bounded heap whose root is the last of the top so far: most groups are turned away by one comparison.
    const heap: number[] = [];
    const siftDown = (i: number): void => {
      for (;;) {
        const l = i * 2 + 1;
        const r = l + 1;
        let worst = i;
        if (l < heap.length && before(heap[worst], heap[l])) worst = l;
        if (r < heap.length && before(heap[worst], heap[r])) worst = r;
        if (worst === i) return;
        [heap[i], heap[worst]] = [heap[worst], heap[i]];
        i = worst;
      }
    };
    for (let g = 0; g < t.size; g++) {
      if (heap.length < limit) {
        heap.push(g);
        for (let i = heap.length - 1; i > 0; ) {
          const parent = (i - 1) >> 1;
          if (!before(heap[parent], heap[i])) break;
          [heap[i], heap[parent]] = [heap[parent], heap[i]];
          i = parent;
        }
      } else if (limit > 0 && before(g, heap[0])) {
        heap[0] = g;
        siftDown(0);
      }
    }
    heap.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
    const others: Others = { groups: t.size - heap.length, count: this.totals.count, bytes: { original: this.totals.original, reply: this.totals.reply } };
    const groups = heap.map((g): Group => {
      others.count -= t.count[g];
      others.bytes.original -= t.original[g];
      others.bytes.reply -= t.reply[g];
      return { ...this.describer.describe(t, g), count: t.count[g], bytes: { original: t.original[g], reply: t.reply[g] } };
    });
    // Byte sums are whole numbers far below 2^53: the subtraction is exact.
    return { groups, others };
  }
}

/** Groups of `rows` (default: all) by one of the column keys, or by a per-row key column. */
export function groupRows(c: Columns, by: ColumnGroupKey | KeyColumn, rows?: Uint32Array): Grouping {
  const t = new GroupTable();
  const describer = by === 'protocol' || by === 'state' || by === 'udp' ? fillFromTally(c, by, t, rows) : fill(c, by, t, rows);
  return new TableGrouping(t, describer);
}

