// The overview's groups of a snapshot: per source host, destination host, destination port, external address,
// zone, mark, UDP replied/unreplied (or any per-row key column the caller brings, such as the console's WAN
// column), entries and bytes both ways. Columnar, because a million rows must group in milliseconds: once per
// snapshot and grouping, each row's key becomes two integers and an open-addressing table of typed arrays gives
// it a group number (the group index, kept like the sort orders); each request then only adds up the matching
// rows per group number and picks the top N with a bounded heap (an unfiltered one reuses the whole snapshot's
// grouping and top N, kept with the index). Strings are made only for the groups shown.
// Protocol and state come from the summary's tallies (summary.ts), so the overview and the header count them the
// same way.
import { IPS, TCP_STATES } from '../constants';
import type { GroupKey, GroupMetric } from '../vocabulary';
import { FAMILY_V6, PORTED, SHAPE, type Columns } from './columns';
import { addressText } from './text';
import { inTurns, runAll, type Steps } from './order';
import { protocolName, tallySteps, UDP_REPLIED, UDP_UNREPLIED, wholeTallySteps, type Tallies } from './summary';

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
 * The distinct keys of a grouping as parallel typed arrays: the key as two integers (hi, lo) and the first row
 * that had it (to describe the group); an open-addressing hash of the key gives a group's number.
 */
class GroupKeys {
  size = 0;
  hi: Uint32Array;
  lo: Uint32Array;
  first: Uint32Array;
  /** Group number + 1 per hash slot (0: free). */
  private slots: Int32Array;
  private mask: number;

  constructor(capacity = 64) {
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
    this.first = new Uint32Array(capacity);
    this.slots = new Int32Array(capacity * 2);
    this.mask = capacity * 2 - 1;
  }

  /** The group number of key (hi, lo), a new one (first seen at `row`) when the key is new. */
  id(hi: number, lo: number, row: number): number {
    let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
    h = (h ^ (h >>> 15)) & this.mask;
    for (;;) {
      const s = this.slots[h];
      if (s === 0) return this.create(hi, lo, row);
      if (this.lo[s - 1] === lo && this.hi[s - 1] === hi) return s - 1;
      h = (h + 1) & this.mask;
    }
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
    const widen = (a: Uint32Array): Uint32Array => {
      const b = new Uint32Array(capacity);
      b.set(a);
      return b;
    };
    this.hi = widen(this.hi);
    this.lo = widen(this.lo);
    this.first = widen(this.first);
    this.slots = new Int32Array(capacity * 2);
    this.mask = capacity * 2 - 1;
    for (let g = 0; g < this.size; g++) this.insert(g);
  }
}

/** How a grouping's groups are compared in key order and turned into what the API shows. */
interface Describer {
  /** Key order for ties (< 0: a first). */
  compare(t: GroupKeys, a: number, b: number): number;
  describe(t: GroupKeys, g: number): Pick<Group, 'key' | 'filter'>;
}

/** A grouping's keys and, per row, its group number (-1: the grouping does not apply to the row). */
interface GroupIndex {
  keys: GroupKeys;
  of: Int32Array;
  describer: Describer;
  /**
   * The grouping of every row, once asked for (a snapshot never changes), keeping its top groups by limit and
   * metric: an unfiltered request adds up and picks nothing again.
   */
  whole?: SummedGrouping;
}

const byHiLo = (t: GroupKeys, a: number, b: number): number => t.hi[a] - t.hi[b] || t.lo[a] - t.lo[b];

/**
 * Per row, an id per distinct IPv6 address in address slot k (rows of the snapshot hold their own copy of each
 * address, so equal addresses have different slots).
 */
function v6Ids(c: Columns, k: number): Uint32Array {
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
  return ids;
}

/** Addresses in numeric order, IPv4 before IPv6; hi's bit 0 says IPv6 (then the first row's bytes decide). */
function compareAddresses(c: Columns, t: GroupKeys, a: number, b: number, slotOf: (g: number) => number): number {
  const ha = t.hi[a];
  const hb = t.hi[b];
  if (ha !== hb) return ha - hb;
  if (!(ha & 1)) return t.lo[a] - t.lo[b];
  const oa = c.addr[t.first[a] * 4 + slotOf(a)] * 16;
  const ob = c.addr[t.first[b] * 4 + slotOf(b)] * 16;
  for (let i = 0; i < 16; i++) if (c.v6[oa + i] !== c.v6[ob + i]) return c.v6[oa + i] - c.v6[ob + i];
  return 0;
}

/** Rows between the points where a grouping lets the event loop run (a few milliseconds of hashing). */
const STEP_ROWS = 65536;

/** The group index of a grouping by an address slot, a port, NAT, zone or mark: one pass over every row. */
function* indexSteps(c: Columns, by: IndexedKey): Steps<GroupIndex> {
  const t = new GroupKeys();
  const of = new Int32Array(c.size).fill(-1);
  const n = c.size;
  const family = c.family;
  const addr = c.addr;
  if (by === 'src' || by === 'dst') {
    const k = by === 'src' ? 0 : 1;
    const ids = v6Ids(c, k);
    yield;
    for (let row = 0; row < n; row++) {
      if (row && row % STEP_ROWS === 0) yield;
      of[row] = family[row] === V6 ? t.id(1, ids[row], row) : t.id(0, addr[row * 4 + k], row);
    }
    return {
      keys: t,
      of,
      describer: {
        compare: (tt, a, b) => compareAddresses(c, tt, a, b, () => k),
        describe: (tt, g) => {
          const text = addressText(c, tt.first[g], k);
          return { key: text, filter: { [by]: text } };
        },
      },
    };
  }
  if (by === 'external') {
    // hi: bit 0 IPv6, bit 1 port forward (original destination) rather than source NAT (reply destination).
    const snat = v6Ids(c, 3);
    const dnat = v6Ids(c, 1);
    yield;
    for (let row = 0; row < n; row++) {
      if (row && row % STEP_ROWS === 0) yield;
      const status = c.status[row];
      const v6 = family[row] === V6 ? 1 : 0;
      if (status & SRC_NAT) of[row] = t.id(v6, v6 ? snat[row] : addr[row * 4 + 3], row);
      else if (status & DST_NAT) of[row] = t.id(2 | v6, v6 ? dnat[row] : addr[row * 4 + 1], row);
    }
    const slotOf = (tt: GroupKeys, g: number): number => (tt.hi[g] & 2 ? 1 : 3);
    return {
      keys: t,
      of,
      describer: {
        compare: (tt, a, b) => compareAddresses(c, tt, a, b, (g) => slotOf(tt, g)),
        describe: (tt, g): Pick<Group, 'key' | 'filter'> => {
          const address = addressText(c, tt.first[g], slotOf(tt, g));
          // Source NAT and port forwards of one address are two groups: each has a filter that selects it exactly.
          return tt.hi[g] & 2 ? { key: `${address} (port forward)`, filter: { status: 'DST_NAT', dst: address } } : { key: address, filter: { status: 'SRC_NAT', replyDst: address } };
        },
      },
    };
  }
  if (by === 'dport') {
    for (let row = 0; row < n; row++) {
      if (row && row % STEP_ROWS === 0) yield;
      const protocol = c.protocol[row];
      if (PORTED_PROTOCOL[protocol]) of[row] = t.id(protocol, c.ports[row * 4 + 1], row);
    }
    return {
      keys: t,
      of,
      describer: {
        compare: byHiLo,
        describe: (tt, g) => {
          const protocol = protocolName(tt.hi[g]);
          const port = String(tt.lo[g]);
          return { key: `${protocol}/${port}`, filter: { protocol, dport: port } };
        },
      },
    };
  }
  const column = by === 'zone' ? c.zone : c.mark;
  for (let row = 0; row < n; row++) {
    if (row && row % STEP_ROWS === 0) yield;
    of[row] = t.id(0, column[row], row);
  }
  return {
    keys: t,
    of,
    describer: {
      compare: byHiLo,
      describe: (tt, g) => {
        const value = by === 'zone' ? String(tt.lo[g]) : `0x${tt.lo[g].toString(16)}`;
        return { key: value, filter: { [by]: value } };
      },
    },
  };
}

/** A key column's index: its values are group numbers already (names first, then the negative values). */
function keyColumnIndex(c: Columns, column: KeyColumn): GroupIndex {
  const t = new GroupKeys();
  const negative = column.negative ?? [];
  column.names.forEach((_, i) => t.id(0, i, 0));
  negative.forEach((_, i) => t.id(1, i, 0));
  const of = new Int32Array(c.size);
  const values = column.index;
  const names = column.names.length;
  for (let row = 0; row < c.size; row++) {
    const value = values[row];
    of[row] = value >= 0 ? value : -value <= negative.length ? names - value - 1 : -1;
  }
  const nameOf = (tt: GroupKeys, g: number): string => (tt.hi[g] ? negative[tt.lo[g]] : column.names[tt.lo[g]]);
  return {
    keys: t,
    of,
    describer: {
      compare: (tt, a, b) => {
        const x = nameOf(tt, a);
        const y = nameOf(tt, b);
        return x < y ? -1 : x > y ? 1 : 0;
      },
      describe: (tt, g) => {
        const name = nameOf(tt, g);
        return { key: name, filter: { [column.field]: name } };
      },
    },
  };
}

/** Entries and bytes per group of the rows (default: all): the per-request pass, no hashing. */
function* addUpSteps(c: Columns, index: GroupIndex, rows: Uint32Array | undefined): Steps<Sums> {
  const size = index.keys.size;
  const sums: Sums = { count: new Uint32Array(size), original: new Float64Array(size), reply: new Float64Array(size) };
  const { count, original, reply } = sums;
  const of = index.of;
  const shape = c.shape;
  const counters = c.counters;
  const n = rows ? rows.length : c.size;
  for (let i = 0; i < n; i++) {
    if (i && i % (STEP_ROWS * 2) === 0) yield;
    const row = rows ? rows[i] : i;
    const g = of[row];
    if (g < 0) continue;
    count[g]++;
    if (shape[row] & COUNTERS) {
      const k = row * 8;
      original[g] += counters[k + 2] * 0x1_0000_0000 + counters[k + 3];
      reply[g] += counters[k + 6] * 0x1_0000_0000 + counters[k + 7];
    }
  }
  return sums;
}

interface Sums {
  count: Uint32Array;
  original: Float64Array;
  reply: Float64Array;
}

const talliesOfSteps = (c: Columns, rows: Uint32Array | undefined): Steps<Tallies> => (rows ? tallySteps(c, rows) : wholeTallySteps(c));

/** Protocol, state and UDP replied/unreplied groups from the summary's one-pass tallies. */
function* tallyGroupingSteps(c: Columns, by: 'protocol' | 'state' | 'udp', rows: Uint32Array | undefined): Steps<Grouping> {
  const tallies = yield* talliesOfSteps(c, rows);
  const counts = by === 'protocol' ? tallies.protocols : tallies.states;
  const bytes = by === 'protocol' ? tallies.protocolBytes : tallies.stateBytes;
  const t = new GroupKeys();
  const sums: Sums = { count: new Uint32Array(256), original: new Float64Array(256), reply: new Float64Array(256) };
  for (let slot = 0; slot < 256; slot++) {
    if (!counts[slot]) continue;
    const udp = slot === UDP_REPLIED || slot === UDP_UNREPLIED;
    if (by === 'udp' && !udp) continue;
    // Neither TCP nor UDP: no state to group by.
    if (by === 'state' && !udp && slot >= TCP_STATES.length) continue;
    const g = t.id(0, slot, 0);
    sums.count[g] = counts[slot];
    sums.original[g] = bytes[slot * 2];
    sums.reply[g] = bytes[slot * 2 + 1];
  }
  return new SummedGrouping(t, sums, {
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
  });
}

const stateOrder = (slot: number): number => (slot === UDP_REPLIED ? 1000 : slot === UDP_UNREPLIED ? 1001 : slot);

/** Groups with their sums; groups without a matching row are left out. */
class SummedGrouping implements Grouping {
  readonly grouped: number;
  readonly size: number;
  private readonly totals = { original: 0, reply: 0 };
  private readonly tops: Map<string, { groups: Group[]; others: Others }> | undefined;

  constructor(
    private readonly t: GroupKeys,
    private readonly sums: Sums,
    private readonly describer: Describer,
    /** Whether to keep top()'s answers by limit and metric (sums that never change: a whole snapshot's). */
    keepTops = false,
  ) {
    if (keepTops) this.tops = new Map();
    let grouped = 0;
    let size = 0;
    for (let g = 0; g < t.size; g++) {
      if (!sums.count[g]) continue;
      size++;
      grouped += sums.count[g];
      this.totals.original += sums.original[g];
      this.totals.reply += sums.reply[g];
    }
    this.grouped = grouped;
    this.size = size;
  }

  top(limit: number, metric: GroupMetric): { groups: Group[]; others: Others } {
    const key = `${limit} ${metric}`;
    let answer = this.tops?.get(key);
    if (!answer) {
      answer = this.pick(limit, metric);
      this.tops?.set(key, answer);
    }
    // Copies: the caller may change what it is given.
    return structuredClone(answer);
  }

  private pick(limit: number, metric: GroupMetric): { groups: Group[]; others: Others } {
    const t = this.t;
    const { count, original, reply } = this.sums;
    const weight = metric === 'count' ? (g: number) => count[g] : (g: number) => original[g] + reply[g];
    /** a ranks before b. */
    const before = (a: number, b: number): boolean => {
      const wa = weight(a);
      const wb = weight(b);
      if (wa !== wb) return wa > wb;
      if (count[a] !== count[b]) return count[a] > count[b];
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
      if (!count[g]) continue;
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
    const others: Others = { groups: this.size - heap.length, count: this.grouped, bytes: { original: this.totals.original, reply: this.totals.reply } };
    const groups = heap.map((g): Group => {
      others.count -= count[g];
      others.bytes.original -= original[g];
      others.bytes.reply -= reply[g];
      return { ...this.describer.describe(t, g), count: count[g], bytes: { original: original[g], reply: reply[g] } };
    });
    // Byte sums are whole numbers far below 2^53: the subtraction is exact.
    return { groups, others };
  }
}

type IndexedKey = Exclude<ColumnGroupKey, 'protocol' | 'state' | 'udp'>;

/** Group indices per snapshot (its Columns) and grouping, and per key column (its array of values). */
const indices = new WeakMap<Columns, Map<IndexedKey, GroupIndex>>();
const keyColumnIndices = new WeakMap<object, GroupIndex>();

function* indexOfSteps(c: Columns, by: IndexedKey | KeyColumn): Steps<GroupIndex> {
  if (typeof by !== 'string') {
    const values = by.index as object;
    let index = keyColumnIndices.get(values);
    if (!index) keyColumnIndices.set(values, (index = keyColumnIndex(c, by)));
    return index;
  }
  let perSnapshot = indices.get(c);
  if (!perSnapshot) indices.set(c, (perSnapshot = new Map()));
  const cached = perSnapshot.get(by);
  if (cached) return cached;
  const index = yield* indexSteps(c, by);
  perSnapshot.set(by, index);
  return index;
}

function* groupSteps(c: Columns, by: ColumnGroupKey | KeyColumn, rows: Uint32Array | undefined): Steps<Grouping> {
  if (by === 'protocol' || by === 'state' || by === 'udp') return yield* tallyGroupingSteps(c, by, rows);
  const index = yield* indexOfSteps(c, by);
  if (!rows && index.whole) return index.whole;
  const sums = yield* addUpSteps(c, index, rows);
  const grouping = new SummedGrouping(index.keys, sums, index.describer, !rows);
  if (!rows) index.whole = grouping;
  return grouping;
}

/**
 * Groups of `rows` (default: all) by one of the column keys, or by a per-row key column. The first grouping of a
 * snapshot by a key builds its group index (kept while the snapshot lives; a key column's while its array does).
 */
export const groupRows = (c: Columns, by: ColumnGroupKey | KeyColumn, rows?: Uint32Array): Grouping => runAll(groupSteps(c, by, rows));

/** groupRows with the event loop let run every few milliseconds of work, for a server: the same groups. */
export const groupRowsInTurns = (c: Columns, by: ColumnGroupKey | KeyColumn, rows?: Uint32Array): Promise<Grouping> => inTurns(groupSteps(c, by, rows));
