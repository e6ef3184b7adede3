// The router around the table, as the console uses it: one Router and WanTracker for the managed namespace, and
// per snapshot the WAN and stale columns composed from router lookups (the snapshot itself knows no router).
// Both columns are evaluated at query time: they follow the router's current state, not the snapshot's moment.
// A page without a WAN or stale filter has them decided for its own rows only (uplinkOfRows), with the same
// decisions the whole columns are made of: only a filter, the WAN grouping or an export pays for every row.
import { FAMILY_V6, IPS, blocks, externalSlot, inTurns, runAll, type Columns, type Connection, type RowMask, type Snapshot } from '@/lib/conntrack';
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

/**
 * A memo from a key of `words` u32 words to a small integer, in typed arrays (no string or boxed number per
 * row): a table has few distinct external addresses and routes, and many entries each. The caller writes the key
 * into `key`, then get() (MISSING when absent) or set().
 */
class WordsMemo {
  static readonly MISSING = -0x8000_0000;
  readonly key: Uint32Array;
  size = 0;
  private keys: Uint32Array;
  private values: Int32Array;
  /** Entry + 1 per hash slot (0: free). */
  private slots: Int32Array;
  private mask: number;

  constructor(readonly words: number, capacity = 64) {
    this.key = new Uint32Array(words);
    this.keys = new Uint32Array(capacity * words);
    this.values = new Int32Array(capacity);
    this.slots = new Int32Array(capacity * 2);
    this.mask = capacity * 2 - 1;
  }

  private hash(keys: ArrayLike<number>, at: number): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < this.words; i++) h = Math.imul(h ^ keys[at + i], 0x01000193);
    return (h ^ (h >>> 15)) & this.mask;
  }

  private same(e: number): boolean {
    const at = e * this.words;
    for (let i = 0; i < this.words; i++) if (this.keys[at + i] !== this.key[i]) return false;
    return true;
  }

  get(): number {
    for (let h = this.hash(this.key, 0); ; h = (h + 1) & this.mask) {
      const s = this.slots[h];
      if (s === 0) return WordsMemo.MISSING;
      if (this.same(s - 1)) return this.values[s - 1];
    }
  }

  /** get() of a one-word memo (IPv4 addresses, the most common key) without the scratch key and the loops. */
  get1(key: number): number {
    let h = Math.imul(0x811c9dc5 ^ key, 0x01000193);
    const keys = this.keys;
    for (h = (h ^ (h >>> 15)) & this.mask; ; h = (h + 1) & this.mask) {
      const s = this.slots[h];
      if (s === 0) return WordsMemo.MISSING;
      if (keys[s - 1] === key) return this.values[s - 1];
    }
  }

  /** Adds the key in `key` (not present: get() said MISSING) with its value. */
  set(value: number): void {
    if (this.size === this.values.length) this.grow();
    const e = this.size++;
    this.keys.set(this.key, e * this.words);
    this.values[e] = value;
    this.insert(e);
  }

  private insert(e: number): void {
    let h = this.hash(this.keys, e * this.words);
    while (this.slots[h] !== 0) h = (h + 1) & this.mask;
    this.slots[h] = e + 1;
  }

  private grow(): void {
    const capacity = this.values.length * 2;
    const keys = new Uint32Array(capacity * this.words);
    keys.set(this.keys);
    this.keys = keys;
    const values = new Int32Array(capacity);
    values.set(this.values);
    this.values = values;
    this.slots = new Int32Array(capacity * 2);
    this.mask = capacity * 2 - 1;
    for (let e = 0; e < this.size; e++) this.insert(e);
  }
}

/** The router and WAN lookups the columns are composed from (a Router and WanTracker, or anything alike). */
export interface UplinkLookups {
  router: Pick<Router, 'version' | 'flowSelectors' | 'routeFor' | 'holderOfKey'>;
  wans: Pick<WanTracker, 'version' | 'wans' | 'ownerOfKey' | 'wanOfInterface'>;
}

/** Computes (or reuses, while the router has not changed) the WAN and stale columns of a snapshot, in one go. */
export const uplinkColumns = (snapshot: Snapshot, service: UplinkLookups): UplinkColumns => runAll(uplinkSteps(snapshot, service));

/**
 * uplinkColumns with the event loop let run between blocks of rows once a turn has lasted a few milliseconds, for
 * a server's first query of a big snapshot. Steps of a fixed 65,536 rows held the first export of a million rows
 * for 35-90 ms: the first rows meet every distinct key (each a router lookup) while the code is still unoptimised.
 */
export const uplinkColumnsInTurns = (snapshot: Snapshot, service: UplinkLookups): Promise<UplinkColumns> => inTurns(uplinkSteps(snapshot, service));

/** Rows between looks at the clock: 4,096 rows took up to 26 ms in a new process (cold code, every key a miss). */
const BLOCK_ROWS = 512;

// Imported constants as module locals: a bundler reads an imported binding through a getter, once per row here.
const V6 = FAMILY_V6;
const SRC_NAT = IPS.SRC_NAT;
const DST_NAT = IPS.DST_NAT;

/** Four u32 words of the IPv6 address at byte offset o of the v6 column, into out[at..at+3]. */
function v6Words(v6: Columns['v6'], o: number, out: Uint32Array, at: number): void {
  for (let i = 0; i < 4; i++, o += 4) out[at + i] = (v6[o] << 24) | (v6[o + 1] << 16) | (v6[o + 2] << 8) | v6[o + 3];
}

/** The bytes of address words (1 word: IPv4, 4: IPv6) from key[at..]. */
function wordBytes(key: Uint32Array, at: number, words: number): Uint8Array {
  const bytes = new Uint8Array(words * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < words; i++) view.setUint32(i * 4, key[at + i]);
  return bytes;
}

/**
 * The decisions behind the WAN and stale values at one router and WAN version: per distinct key, decided once
 * (methods, not per-call closures: one call target, so the optimised loop stays optimised). Kept per snapshot
 * while the versions hold, shared by its page rows and its whole columns.
 */
class Decisions {
  readonly source: boolean;
  readonly markMask: number;
  /** Per distinct key, decided once: external address -> WAN << 1 | stale (IPv4, IPv6). */
  readonly external4 = new WordsMemo(1);
  readonly external6 = new WordsMemo(4);
  /** Routed: (destination, source when a rule reads it, the mark bits rules test) -> WAN (IPv4: one word when neither). */
  readonly routed4 = new WordsMemo(1);
  readonly routed4Words: WordsMemo;
  readonly routed6: WordsMemo;
  private readonly nameIndex: Map<string, number>;

  constructor(
    readonly c: Columns,
    private readonly lookups: UplinkLookups,
    readonly names: readonly string[],
    readonly version: string,
  ) {
    this.nameIndex = new Map(names.map((name, i) => [name, i]));
    const { source, markMask } = lookups.router.flowSelectors;
    this.source = source;
    this.markMask = markMask;
    // Key words: the destination, then the source when a rule reads it, then the mark when a rule tests it.
    this.routed4Words = new WordsMemo(1 + (source ? 1 : 0) + (markMask ? 1 : 0));
    this.routed6 = new WordsMemo(4 + (source ? 4 : 0) + (markMask ? 1 : 0));
  }

  /** Decides the key fillSlice() stopped at `row` for (left in its memo's scratch key) and adds it. */
  decideMiss(row: number): void {
    const isV6 = this.c.family[row] === V6;
    if (this.c.status[row] & (SRC_NAT | DST_NAT)) {
      const memo = isV6 ? this.external6 : this.external4;
      memo.set(this.external(memo.key));
      return;
    }
    const memo = isV6 ? this.routed6 : !this.source && this.markMask === 0 ? this.routed4 : this.routed4Words;
    memo.set(this.routed(isV6 ? 'ipv6' : 'ipv4', memo.key));
  }

  private indexOfWan(name: string | undefined): number {
    return name === undefined ? NONE : (this.nameIndex.get(name) ?? NONE);
  }

  /** An external address (its words) -> WAN << 1 | stale. */
  private external(words: Uint32Array): number {
    const { router, wans } = this.lookups;
    const key = bytesKey(wordBytes(words, 0, words.length));
    const owner = wans.ownerOfKey(key);
    const holder = router.holderOfKey(key);
    const index = owner ? this.indexOfWan(owner.wan) : holder === undefined ? NONE : this.indexOfWan(wans.wanOfInterface(holder));
    return (index << 1) | (holder === undefined ? 1 : 0);
  }

  /** A routed key (destination, source?, mark?) -> WAN. */
  private routed(family: FlowKey['family'], words: Uint32Array): number {
    const { router, wans } = this.lookups;
    const n = family === 'ipv6' ? 4 : 1;
    // What the key leaves out no rule reads: a zero source, a zero mark.
    const src = this.source ? wordBytes(words, n, n) : new Uint8Array(n * 4);
    const decision = router.routeFor({ family, dst: wordBytes(words, 0, n), src, mark: this.markMask ? words[words.length - 1] : 0 });
    return decision.kind === 'unknown' ? UNKNOWN : decision.kind === 'interface' ? this.indexOfWan(wans.wanOfInterface(decision.index)) : NONE;
  }
}

const decisionsBySnapshot = new WeakMap<Snapshot, Decisions>();

const versionOf = (service: UplinkLookups): string => `${service.router.version}/${service.wans.version}`;

/** The snapshot's decisions at this version of the lookups (new ones once the router or the WANs changed). */
function decisionsOf(snapshot: Snapshot, service: UplinkLookups, version: string): Decisions {
  let decisions = decisionsBySnapshot.get(snapshot);
  if (!decisions || decisions.version !== version) {
    decisions = new Decisions(snapshot.columns, service, service.wans.wans().map((w) => w.name), version);
    decisionsBySnapshot.set(snapshot, decisions);
  }
  return decisions;
}

/** What the slices of rows write: the values at positions (rows, or the given rows' places), the stale counts. */
class Fill {
  readonly wan: Int16Array;
  readonly stale: Uint8Array;
  readonly staleByWan: number[];
  staleCount = 0;

  constructor(
    readonly d: Decisions,
    size: number,
  ) {
    this.wan = new Int16Array(size);
    this.stale = new Uint8Array(size);
    this.staleByWan = d.names.map(() => 0);
  }
}

/**
 * Positions from..to, each the row itself or `rows[position]`, up to the first memo miss: the position it stops
 * at (to when none), its key left in the memo's scratch key. A plain function, not the generator, with the
 * decisions left to the caller: the optimised loop never meets code it has no type feedback for (the first misses
 * run before V8 keeps any).
 */
function fillSlice(f: Fill, from: number, to: number, rows: ArrayLike<number> | undefined): number {
  const { family, status, addr, mark, v6 } = f.d.c;
  const { source, markMask, external4, external6, routed4, routed4Words, routed6 } = f.d;
  const { wan, stale, staleByWan } = f;
  const MISSING = WordsMemo.MISSING;
  const e4 = external4.key;
  const e6 = external6.key;
  const r4 = routed4.key;
  const r4w = routed4Words.key;
  const r6 = routed6.key;
  const simple4 = !source && markMask === 0;
  let staleCount = 0;
  let at = from;
  for (; at < to; at++) {
    const row = rows === undefined ? at : rows[at];
    const isV6 = family[row] === V6;
    const s = status[row];
    const slot = s & SRC_NAT ? 3 : s & DST_NAT ? 1 : -1;
    if (slot >= 0) {
      const value = addr[row * 4 + slot];
      let packed: number;
      if (isV6) {
        v6Words(v6, value * 16, e6, 0);
        packed = external6.get();
        if (packed === MISSING) break;
      } else {
        e4[0] = value;
        packed = external4.get1(value);
        if (packed === MISSING) break;
      }
      const index = packed >> 1;
      wan[at] = index;
      if (packed & 1) {
        stale[at] = 1;
        staleCount++;
        if (index >= 0) staleByWan[index]++;
      }
      continue;
    }
    // Routed: where the original direction's packets go.
    let index: number;
    if (isV6) {
      v6Words(v6, addr[row * 4 + 1] * 16, r6, 0);
      if (source) v6Words(v6, addr[row * 4] * 16, r6, 4);
      if (markMask) r6[r6.length - 1] = mark[row] & markMask;
      index = routed6.get();
      if (index === MISSING) break;
    } else if (simple4) {
      const dst = addr[row * 4 + 1];
      r4[0] = dst;
      index = routed4.get1(dst);
      if (index === MISSING) break;
    } else {
      r4w[0] = addr[row * 4 + 1];
      if (source) r4w[1] = addr[row * 4];
      if (markMask) r4w[r4w.length - 1] = mark[row] & markMask;
      index = routed4Words.get();
      if (index === MISSING) break;
    }
    wan[at] = index;
  }
  f.staleCount += staleCount;
  return at;
}

/** Positions from..to of f filled, each miss decided and added to its memo (the slice goes on there, which now finds it). */
function fillRange(f: Fill, from: number, to: number, rows: ArrayLike<number> | undefined): void {
  for (let at = fillSlice(f, from, to, rows); at < to; at = fillSlice(f, at, to, rows)) f.d.decideMiss(rows === undefined ? at : rows[at]);
}

function* uplinkSteps(snapshot: Snapshot, service: UplinkLookups): Generator<void, UplinkColumns, void> {
  const version = versionOf(service);
  const cached = cache.get(snapshot);
  if (cached && cached.version === version) return cached;
  const d = decisionsOf(snapshot, service, version);
  const size = snapshot.columns.size;
  const f = new Fill(d, size);
  yield* blocks(size, (from, to) => fillRange(f, from, to, undefined), BLOCK_ROWS);
  const columns = { names: [...d.names], wan: f.wan, stale: f.stale, staleCount: f.staleCount, staleByWan: f.staleByWan, version: d.version };
  cache.set(snapshot, columns);
  // The columns answer from now on: the memos (up to a key per row) are not kept beside them.
  decisionsBySnapshot.delete(snapshot);
  return columns;
}

/** The WAN and staleness of a few rows (a page's), in their order: read off the columns when they are current, else decided for these rows alone. */
export function uplinkOfRows(snapshot: Snapshot, service: UplinkLookups, rows: readonly number[]): { wan: string; stale: boolean }[] {
  const version = versionOf(service);
  const cached = cache.get(snapshot);
  if (cached && cached.version === version) return rows.map((row) => ({ wan: wanName(cached, row), stale: cached.stale[row] === 1 }));
  const d = decisionsOf(snapshot, service, version);
  const f = new Fill(d, rows.length);
  fillRange(f, 0, rows.length, rows);
  return rows.map((_, at) => ({ wan: nameOfIndex(d.names, f.wan[at]), stale: f.stale[at] === 1 }));
}

/** The console's own filter fields (not the kernel's vocabulary): wan=NAME|none|unknown, stale=true|false. */
export interface UplinkFilter {
  wan?: string;
  stale?: boolean;
}

export const hasUplinkFilter = (f: UplinkFilter): boolean => f.wan !== undefined || f.stale !== undefined;

/** The value of a WAN cell: a name, 'none' or 'unknown'. */
export const wanName = (columns: UplinkColumns, row: number): string => nameOfIndex(columns.names, columns.wan[row]);

const nameOfIndex = (names: readonly string[], index: number): string => (index === UNKNOWN ? UNKNOWN_WAN : index === NONE ? NO_WAN : names[index]);

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
export function connectionUplink(connection: Connection, service: UplinkLookups): { wan: string; stale: boolean } {
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
