// Row orders: the rows sorted by one column, ascending, ties by table order (descending is that order backwards).
// A sort key's values are first written as 32-bit words per row (sortColumnsSteps); from them, a full order by
// LSD radix sort (16-bit digits, a counting pass each: orderSteps), or only the first rows of a filtered order by
// MSD radix selection (selectSteps: a histogram pass or two over the matching rows, then a sort of about as many
// rows as the page needs), which is what a first page asks for. All of it in steps of a few milliseconds (a
// generator whose passes go a block of rows at a time and end the step once the turn has run a few ms): runAll()
// runs them in one go, inTurns() lets the event loop run between them, so a server's first sort of a million rows
// stalls no other request. The loops over rows are plain functions called per block, not loops in the generators:
// V8 optimises a generator's own loops poorly (no on-stack replacement), and a first sort runs each pass once.
import { processValue } from '../../process';
import { SORT_KEYS, type SortKey } from '../vocabulary';
import { FAMILY_V6, NO_STATE, SHAPE, type Columns, type ReadonlyColumn } from './columns';

/** Module-local copies: an imported binding can compile to a getter, called per row otherwise. */
const V6 = FAMILY_V6;
const NONE = NO_STATE;

/** Rows per block: the clock is read between blocks (a block takes well under a millisecond once optimised). */
const BLOCK_ROWS = 4096;

/** A run of inTurns(): its steps, what holds it back, and its promise's settlers. */
interface Job {
  steps: Steps<unknown>;
  wait?: () => boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * The process's turns, one whichever copy of this module asks (Next bundles it once for instrumentation and once
 * for the routes, and both copies' steps share one event loop): the step limit, when the running step's turn
 * started (blocks() measures from it), the step-runs of inTurns() not finished (in the order they next get a step),
 * whether a pump is scheduled, and the pages being answered.
 */
const turns = processValue('snapshot-turns', () => ({ limit: { ms: 4 }, started: 0, jobs: [] as Job[], pumping: false, pagesAnswering: 0 }));

/** A step ends once the turn it runs in has lasted `ms` (a test sets 0 to see every block as a step of its own). */
export const stepLimit = turns.limit;
const DIGITS = 65536;
const WORD = 4294967296;
/** A selection stops narrowing the boundary digit once this few rows share it: sorting them costs less than a pass. */
const SMALL_BUCKET = 2048;

export type Steps<T> = Generator<void, T, void>;

/**
 * work(lo, hi) over rows [0, n) a block (`rows`) at a time, the step ended (a yield) whenever the turn has run
 * stepLimit.ms: steps of a fixed size took 10-40 ms each while the code was still unoptimised, a millisecond once
 * it was.
 */
export function* blocks(n: number, work: (lo: number, hi: number) => void, rows = BLOCK_ROWS): Steps<void> {
  for (let lo = 0; lo < n; lo += rows) {
    work(lo, Math.min(n, lo + rows));
    if (performance.now() - turns.started >= stepLimit.ms) yield;
  }
}

/**
 * A sort key's values, ready to order by: per row, unsigned 32-bit words, the most significant first (rows compare
 * by them in turn, then by row), and per word the bits that differ between rows (OR ^ AND of every row's word):
 * a digit where no row differs tells nothing and is skipped. An address key has no words of its own: its values
 * are the family (0 IPv4, 1 IPv6), then the address as four words (an IPv4 row's in the first, the rest 0), read
 * from the address column and the IPv6 slots a word at a time (addressDigits); varies has those five words.
 */
export interface SortColumns {
  /** Indexed by row (a word may be a snapshot column itself, longer than size: never written). */
  readonly words: readonly Word[];
  readonly varies: readonly number[];
  /** Rows. */
  readonly size: number;
  /** An address key: the columns and the address slot (0-3) its digits are read from. */
  readonly address?: { readonly c: Columns; readonly k: number };
}

type Word = ReadonlyColumn<Uint32Array>;

/**
 * A 16-bit digit of each row: (keys[row] >>> shift) & 0xffff. An address key's words are written into keys (an
 * array of the sort's own) by fill before a pass reads them, one word at a time (its two digits in a row): a first
 * sort of a million rows kept 20 MB of address words otherwise.
 */
interface Digit {
  readonly keys: Word;
  readonly shift: number;
  readonly fill?: WordFill;
}

/** Writes keys[row] for the rows rows[lo..hi) (rows lo..hi when rows is undefined). */
type WordFill = (rows: Uint32Array | undefined, lo: number, hi: number) => void;

/**
 * The fill a digit needs before a pass over `rows` (if not `filled` already: the rows a sort or a selection reads
 * only ever shrink, so a word written for them still holds), run in steps: over the whole table in row order when
 * the rows are a good part of it (no random reads), else over the rows. Returns what is filled now.
 */
function* fillFor(digit: Digit, rows: Uint32Array | undefined, filled: WordFill | undefined): Steps<WordFill | undefined> {
  const fill = digit.fill;
  if (!fill || fill === filled) return filled;
  const all = !rows || rows.length * 8 >= digit.keys.length;
  yield* blocks(all ? digit.keys.length : rows.length, (lo, hi) => fill(all ? undefined : rows, lo, hi));
  return fill;
}

/** The digits of a key where rows differ, the most significant first; an address key's written into keys. */
function digitsOf(k: SortColumns, keys?: Uint32Array): Digit[] {
  if (k.address) return addressDigits(k, keys!, 0, 4);
  const digits: Digit[] = [];
  k.words.forEach((word, w) => {
    for (const shift of [16, 0]) if ((k.varies[w] >>> shift) & 0xffff) digits.push({ keys: word, shift });
  });
  return digits;
}


/**
 * One stable counting-sort pass of LSD radix sort: `order` (rows) into `out`, by the 16-bit digit
 * (keys[row] >>> shift) & 0xffff. Returns false (and leaves `out` alone) when every row has the same digit.
 */
function* radixPass(order: Uint32Array, out: Uint32Array, keys: Word, shift: number, counts: Uint32Array): Steps<boolean> {
  const n = order.length;
  counts.fill(0);
  yield* blocks(n, (lo, hi) => countDigits(order, keys, shift, counts, lo, hi));
  let sum = 0;
  for (let d = 0; d < DIGITS; d++) {
    const count = counts[d];
    if (count === n) return false;
    counts[d] = sum;
    sum += count;
  }
  yield* blocks(n, (lo, hi) => scatter(order, out, keys, shift, counts, lo, hi));
  return true;
}

/** counts[digit]++ for the rows order[lo..hi). */
function countDigits(order: Uint32Array, keys: Word, shift: number, counts: Uint32Array, lo: number, hi: number): void {
  for (let i = lo; i < hi; i++) counts[(keys[order[i]] >>> shift) & 0xffff]++;
}

/** The rows order[lo..hi) to their places in out (counts: each digit's next place). */
function scatter(order: Uint32Array, out: Uint32Array, keys: Word, shift: number, counts: Uint32Array, lo: number, hi: number): void {
  for (let i = lo; i < hi; i++) {
    const row = order[i];
    out[counts[(keys[row] >>> shift) & 0xffff]++] = row;
  }
}

/**
 * Arrays a sort wrote and no longer needs, kept for the next sort of as many rows (a few): a first sort of a
 * million rows allocates megabytes of them, and V8 answers that much external memory with full collections,
 * pauses of tens of milliseconds on a server's heap.
 */
const spare: Uint32Array[] = [];
const SPARE_ARRAYS = 4;

/** A Uint32Array of n entries, of any content: a spare one when there is one. */
function scratch(n: number): Uint32Array {
  const at = spare.findIndex((a) => a.length === n);
  return at < 0 ? new Uint32Array(n) : spare.splice(at, 1)[0];
}

/** An array no one reads any more, kept as a spare (the oldest spare dropped past SPARE_ARRAYS). */
function giveBack(array: Uint32Array): void {
  if (array.length < 2 * BLOCK_ROWS) return;
  spare.push(array);
  if (spare.length > SPARE_ARRAYS) spare.shift();
}

/**
 * `rows` ordered by the digits (the most significant first; LSD radix sort: stable, so ties keep the order of
 * `rows`). `rows` is the caller's no more: the answer is written over it or over a scratch array (the other given back).
 */
function* radixSteps(rows: Uint32Array, digits: readonly Digit[]): Steps<Uint32Array> {
  let order: Uint32Array = rows;
  if (rows.length < 2) return order;
  let out: Uint32Array = scratch(rows.length);
  const counts = new Uint32Array(DIGITS);
  let filled: WordFill | undefined;
  for (let d = digits.length - 1; d >= 0; d--) {
    filled = yield* fillFor(digits[d], order, filled);
    if (yield* radixPass(order, out, digits[d].keys, digits[d].shift, counts)) [order, out] = [out, order];
  }
  giveBack(out);
  return order;
}

function fillIdentity(rows: Uint32Array, lo: number, hi: number): void {
  for (let row = lo; row < hi; row++) rows[row] = row;
}

/** Rows [0, n) in table order, written a block at a time (a million in one go held a turn 3-10 ms before V8 optimised it). */
function* identitySteps(n: number): Steps<Uint32Array> {
  const rows = scratch(n);
  yield* blocks(n, (lo, hi) => fillIdentity(rows, lo, hi));
  return rows;
}

/** Writes the sort values of rows [lo, hi) into out[0, hi - lo) (a block's scratch). */
type Fill = (out: Float64Array, lo: number, hi: number) => void;

/**
 * How a key's sort values are read: a uint32 column that is its own sort value, the address slot (0-3) of the
 * address keys, or a Fill (one loop per kind of column: no call per row).
 */
function sortValues(c: Columns, key: SortKey): ReadonlyColumn<Uint32Array> | number | Fill {
  // The columns read once, not per row: the loops below run once per first sort, often before V8 optimises them.
  const shape = c.shape;
  // A u64 column pair at row * stride + at (high, low) as a number; -1 when the row lacks it (`bit` clear).
  const u64 = (column: Columns['counters'], stride: number, at: number, bit: number): Fill => (out, lo, hi) => {
    for (let r = lo; r < hi; r++) out[r - lo] = shape[r] & bit ? column[r * stride + at] * WORD + column[r * stride + at + 1] : -1;
  };
  // The sum of two counters (original and reply); -1 without counters.
  const counted = SHAPE.COUNTERS;
  const both = (at: number): Fill => (out, lo, hi) => {
    const k = c.counters;
    for (let r = lo; r < hi; r++) out[r - lo] = shape[r] & counted ? k[r * 8 + at] * WORD + k[r * 8 + at + 1] + (k[r * 8 + at + 4] * WORD + k[r * 8 + at + 5]) : -1;
  };
  const small = (column: ReadonlyColumn<Uint8Array> | ReadonlyColumn<Uint16Array>, stride: number, at: number): Fill => (out, lo, hi) => {
    for (let r = lo; r < hi; r++) out[r - lo] = column[r * stride + at];
  };
  switch (key) {
    case 'id':
    case 'status':
    case 'timeout':
    case 'mark':
    case 'use':
      return c[key];
    case 'family':
    case 'protocol':
      return small(c[key], 1, 0);
    case 'zone':
      return small(c.zone, 1, 0);
    case 'src':
      return 0;
    case 'dst':
      return 1;
    case 'replySrc':
      return 2;
    case 'replyDst':
      return 3;
    case 'sport':
      return small(c.ports, 4, 0);
    case 'dport':
      return small(c.ports, 4, 1);
    case 'replySport':
      return small(c.ports, 4, 2);
    case 'replyDport':
      return small(c.ports, 4, 3);
    case 'state':
      return (out, lo, hi) => {
        const state = c.state;
        for (let r = lo; r < hi; r++) out[r - lo] = state[r] === NONE ? -1 : state[r];
      };
    case 'packetsOriginal':
      return u64(c.counters, 8, 0, SHAPE.COUNTERS);
    case 'bytesOriginal':
      return u64(c.counters, 8, 2, SHAPE.COUNTERS);
    case 'packetsReply':
      return u64(c.counters, 8, 4, SHAPE.COUNTERS);
    case 'bytesReply':
      return u64(c.counters, 8, 6, SHAPE.COUNTERS);
    case 'packets':
      return both(0);
    case 'bytes':
      return both(2);
    case 'startedAt':
      return u64(c.started, 2, 0, SHAPE.TIMESTAMP);
  }
}

/**
 * An address key's columns: no words, only what differs (the family word, then the four address words; an IPv4
 * row's address in the first), seen in one pass over the address column and the IPv6 slots.
 */
function* addressColumnsSteps(c: Columns, k: number, n: number): Steps<SortColumns> {
  // What differs: IPv4 rows have 0 in the last three words, and the families differ if both are there.
  // seen: the OR of each word (0-3), their AND (4-7), the IPv4 rows (8).
  const seen = new Int32Array([0, 0, 0, 0, -1, -1, -1, -1, 0]);
  yield* blocks(n, (lo, hi) => addressSeen(c, k, seen, lo, hi));
  const v4 = seen[8];
  const both = v4 > 0 && v4 < n;
  const varies = [0, 1, 2, 3].map((w) => (w && v4 ? seen[w] : (seen[w] ^ seen[4 + w]) >>> 0));
  return { words: [], varies: [both ? 1 : 0, ...varies], size: n, address: { c, k } };
}

/** Rows [lo, hi) of addressColumnsSteps: what the four address words have seen. */
function addressSeen(c: Columns, k: number, seen: Int32Array, lo: number, hi: number): void {
  const bytes = c.v6;
  const addr = c.addr;
  const families = c.family;
  let v4 = seen[8];
  let or0 = seen[0];
  let and0 = seen[4];
  for (let row = lo; row < hi; row++) {
    const value = addr[row * 4 + k];
    if (families[row] !== V6) {
      or0 |= value;
      and0 &= value;
      v4++;
      continue;
    }
    const at = value * 16;
    const a = (bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3];
    const b = (bytes[at + 4] << 24) | (bytes[at + 5] << 16) | (bytes[at + 6] << 8) | bytes[at + 7];
    const d = (bytes[at + 8] << 24) | (bytes[at + 9] << 16) | (bytes[at + 10] << 8) | bytes[at + 11];
    const e = (bytes[at + 12] << 24) | (bytes[at + 13] << 16) | (bytes[at + 14] << 8) | bytes[at + 15];
    or0 |= a;
    and0 &= a;
    seen[1] |= b;
    seen[5] &= b;
    seen[2] |= d;
    seen[6] &= d;
    seen[3] |= e;
    seen[7] &= e;
  }
  seen[0] = or0;
  seen[4] = and0;
  seen[8] = v4;
}

/**
 * The digits of an address key's words `first` to `last` where rows differ, written into keys: word 0 is the
 * family, words 1-4 the address, the most significant first (an IPv4 row's address in word 1, the rest 0).
 */
function addressDigits(k: SortColumns, keys: Uint32Array, first: number, last: number): Digit[] {
  const { c, k: slot } = k.address!;
  const digits: Digit[] = [];
  for (let word = first; word <= last; word++) {
    const fill: WordFill = word === 0 ? (rows, lo, hi) => familyWord(c, keys, rows, lo, hi) : (rows, lo, hi) => addressWord(c, slot, word - 1, keys, rows, lo, hi);
    for (const shift of [16, 0]) if ((k.varies[word] >>> shift) & 0xffff) digits.push({ keys, shift, fill });
  }
  return digits;
}

/** keys[row] = the family (1 IPv6) of the rows rows[lo..hi) (rows lo..hi without rows). */
function familyWord(c: Columns, keys: Uint32Array, rows: Uint32Array | undefined, lo: number, hi: number): void {
  const families = c.family;
  for (let i = lo; i < hi; i++) {
    const row = rows ? rows[i] : i;
    keys[row] = families[row] === V6 ? 1 : 0;
  }
}

/** keys[row] = word w (0-3) of address slot k of the rows rows[lo..hi) (rows lo..hi without rows): an IPv4 address is word 0. */
function addressWord(c: Columns, k: number, w: number, keys: Uint32Array, rows: Uint32Array | undefined, lo: number, hi: number): void {
  const addr = c.addr;
  const families = c.family;
  const bytes = c.v6;
  const v4 = w === 0 ? -1 : 0;
  const at = 4 * w;
  for (let i = lo; i < hi; i++) {
    const row = rows ? rows[i] : i;
    const value = addr[row * 4 + k];
    if (families[row] !== V6) keys[row] = value & v4;
    else {
      const b = value * 16 + at;
      keys[row] = (bytes[b] << 24) | (bytes[b + 1] << 16) | (bytes[b + 2] << 8) | bytes[b + 3];
    }
  }
}

/** A uint32 column as the one word of its sort columns (its first n rows), with the bits that differ (OR ^ AND). */
function* columnAsWord(word: Word, n: number): Steps<SortColumns> {
  const seen = new Int32Array([0, -1]);
  yield* blocks(n, (lo, hi) => orAnd(word, seen, lo, hi));
  return { words: [word], varies: [(seen[0] ^ seen[1]) >>> 0], size: n };
}

/** seen[0] |= and seen[1] &= each of word[lo..hi). */
function orAnd(word: Word, seen: Int32Array, lo: number, hi: number): void {
  let or = seen[0];
  let and = seen[1];
  for (let i = lo; i < hi; i++) {
    or |= word[i];
    and &= word[i];
  }
  seen[0] = or;
  seen[1] = and;
}

/** Whether this platform's typed arrays are little-endian (a double's low word first). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * A sort key's columns (see SortColumns): rows compare as their sort values do as numbers. A uint32 column is its
 * own word. Other values that are whole numbers from -1 to 2^53 - 2 (the kernel's fields, except start times in ns)
 * are stored as value + 1, high and low 32 bits; the rest (those start times: above 2^53, they compare as the
 * doubles they round to) as the bits of the double, sign-flipped so they compare as unsigned words the way the
 * numbers do (no value is NaN or -0).
 */
export function* sortColumnsSteps(c: Columns, key: SortKey, n = c.size): Steps<SortColumns> {
  const fill = sortValues(c, key);
  if (typeof fill === 'number') return yield* addressColumnsSteps(c, fill, n);
  if (typeof fill !== 'function') return yield* columnAsWord(fill, n);
  const low = new Uint32Array(n);
  const high = new Uint32Array(n);
  // seen: the OR and the AND of the high words, then of the low words.
  const seen = new Int32Array([0, -1, 0, -1]);
  // A block's values at a time, written straight into words (no array of every row's value, no pass to check them
  // first): as whole numbers until one is not (start times in ns), then every row again as the double's bits.
  const values = new Float64Array(BLOCK_ROWS);
  let whole = true;
  yield* blocks(n, (lo, hi) => {
    if (!whole) return;
    fill(values, lo, hi);
    whole = wholeWords(values, high, low, seen, lo, hi);
  });
  if (!whole) {
    seen.set([0, -1, 0, -1]);
    const bits = new Uint32Array(values.buffer);
    yield* blocks(n, (lo, hi) => {
      fill(values, lo, hi);
      doubleWords(bits, high, low, seen, lo, hi);
    });
  }
  const varies = [(seen[0] ^ seen[1]) >>> 0, (seen[2] ^ seen[3]) >>> 0];
  return varies[0] ? { words: [high, low], varies, size: n } : { words: [low], varies: [varies[1]], size: n };
}

/**
 * Rows [lo, hi) (their values from values[0]): value + 1 as its high and low 32 bits, with the OR and AND of each
 * (seen); false, with the rest left, at the first that is not a whole number from 0 to 2^53 - 1.
 */
function wholeWords(values: Float64Array, high: Uint32Array, low: Uint32Array, seen: Int32Array, lo: number, hi: number): boolean {
  let orHigh = seen[0];
  let andHigh = seen[1];
  let orLow = seen[2];
  let andLow = seen[3];
  for (let row = lo; row < hi; row++) {
    const v = values[row - lo] + 1;
    if (!(v >= 0 && v <= Number.MAX_SAFE_INTEGER && v === Math.floor(v))) return false;
    const high32 = Math.floor(v / WORD);
    const low32 = v - high32 * WORD;
    high[row] = high32;
    low[row] = low32;
    orHigh |= high32;
    andHigh &= high32;
    orLow |= low32;
    andLow &= low32;
  }
  seen[0] = orHigh;
  seen[1] = andHigh;
  seen[2] = orLow;
  seen[3] = andLow;
  return true;
}

const [LOW_HALF, HIGH_HALF] = LITTLE_ENDIAN ? [0, 1] : [1, 0];

/** Rows [lo, hi) (their values' bits from bits[0]): the bits of the double, sign-flipped to compare as unsigned words, with the OR and AND (seen). */
function doubleWords(bits: Uint32Array, high: Uint32Array, low: Uint32Array, seen: Int32Array, lo: number, hi: number): void {
  let orHigh = seen[0];
  let andHigh = seen[1];
  let orLow = seen[2];
  let andLow = seen[3];
  for (let row = lo; row < hi; row++) {
    const h = bits[(row - lo) * 2 + HIGH_HALF];
    const l = bits[(row - lo) * 2 + LOW_HALF];
    const negative = h >>> 31;
    const high32 = negative ? ~h : h | 0x80000000;
    const low32 = negative ? ~l : l;
    high[row] = high32;
    low[row] = low32;
    orHigh |= high32;
    andHigh &= high32;
    orLow |= low32;
    andLow &= low32;
  }
  seen[0] = orHigh;
  seen[1] = andHigh;
  seen[2] = orLow;
  seen[3] = andLow;
}

/** Every row ordered by the columns: IPv4 rows (numerically) before IPv6 rows (bytewise) for the address keys. */
export function* orderSteps(k: SortColumns): Steps<Uint32Array> {
  if (!k.address) return yield* radixSteps(yield* identitySteps(k.size), digitsOf(k));
  const n = k.size;
  const keys = scratch(n);
  // One family (IPv4 rows: only word 1 differs): one sort of every row.
  if (!k.varies[0]) {
    const order = yield* radixSteps(yield* identitySteps(n), addressDigits(k, keys, 1, 4));
    giveBack(keys);
    return order;
  }
  const families = k.address.c.family;
  const v6count = new Uint32Array(1);
  yield* blocks(n, (lo, hi) => countV6(families, v6count, lo, hi));
  const n4 = n - v6count[0];
  const v4rows = scratch(n4);
  const v6rows = scratch(n - n4);
  const placed = new Uint32Array(2);
  yield* blocks(n, (lo, hi) => splitFamilies(families, v4rows, v6rows, placed, lo, hi));
  // The families apart: an IPv4 row's address is its first word.
  const v4 = yield* radixSteps(v4rows, addressDigits(k, keys, 1, 1));
  const v6 = yield* radixSteps(v6rows, addressDigits(k, keys, 1, 4));
  giveBack(keys);
  const order = scratch(n);
  order.set(v4, 0);
  order.set(v6, n4);
  giveBack(v4);
  giveBack(v6);
  return order;
}

/** counted[0] += the IPv6 rows of [lo, hi). */
function countV6(families: ReadonlyColumn<Uint8Array>, counted: Uint32Array, lo: number, hi: number): void {
  let v6 = 0;
  for (let row = lo; row < hi; row++) if (families[row] === V6) v6++;
  counted[0] += v6;
}

/** The rows of [lo, hi) appended to v4rows or v6rows (placed: how many each holds so far). */
function splitFamilies(families: ReadonlyColumn<Uint8Array>, v4rows: Uint32Array, v6rows: Uint32Array, placed: Uint32Array, lo: number, hi: number): void {
  let i = placed[0];
  let j = placed[1];
  for (let row = lo; row < hi; row++) {
    if (families[row] === V6) v6rows[j++] = row;
    else v4rows[i++] = row;
  }
  placed[0] = i;
  placed[1] = j;
}

/** `want` of the candidate rows (undefined: the rows whose mask is set), in table order: the first, or the last ones. */
function maskRows(mask: Uint8Array, rows: Uint32Array | undefined, want: number, fromEnd: boolean): Uint32Array {
  const out = new Uint32Array(want);
  if (rows) return fromEnd ? rows.slice(rows.length - want) : rows.slice(0, want);
  if (fromEnd) {
    for (let row = mask.length - 1, i = want - 1; i >= 0; row--) if (mask[row]) out[i--] = row;
  } else {
    for (let row = 0, i = 0; i < want; row++) if (mask[row]) out[i++] = row;
  }
  return out;
}

/**
 * The first rows of the filtered order: of the `count` rows whose mask is set, ordered as orderSteps orders every
 * row (ascending, ties by row; `desc` backwards), at least the first min(take, count). MSD radix selection: a
 * histogram of the candidates' next digit finds the digit the take-th row has; rows before it are in, rows after
 * it out, rows with it are the next candidates, until they are few (or tie on the whole key: then the first ones
 * in table order, or the last ones for `desc`). What is in is then sorted like a full order.
 */
export function* selectSteps(k: SortColumns, mask: Uint8Array, count: number, take: number, desc: boolean): Steps<Uint32Array> {
  take = Math.min(take, count);
  if (take === 0) return new Uint32Array(0);
  const keys = k.address ? scratch(k.size) : undefined;
  const digits = digitsOf(k, keys);
  const counts = new Uint32Array(DIGITS);
  /** Rows known to be in (before the candidates' digits), fewer than take. */
  const sure = new Uint32Array(take);
  let nSure = 0;
  /** The rows still undecided (undefined: every row whose mask is set), in table order. */
  let candidates: Uint32Array | undefined;
  let left = count;
  let filled: WordFill | undefined;
  let d = 0;
  for (; d < digits.length && left > SMALL_BUCKET && left > 2 * (take - nSure); d++) {
    const { keys: digit, shift } = digits[d];
    counts.fill(0);
    const from = candidates;
    const n = from ? from.length : mask.length;
    filled = yield* fillFor(digits[d], from, filled);
    yield* blocks(n, (lo, hi) => (from ? countDigits(from, digit, shift, counts, lo, hi) : countMasked(mask, digit, shift, counts, lo, hi)));
    // The boundary digit: where the rows before it (in the order's direction) stop being fewer than needed.
    const need = take - nSure;
    let boundary = desc ? DIGITS - 1 : 0;
    for (let before = 0; before + counts[boundary] < need; boundary += desc ? -1 : 1) before += counts[boundary];
    if (counts[boundary] === left) continue;
    const next = new Uint32Array(counts[boundary]);
    // placed: the rows in next, the rows in sure.
    const placed = new Uint32Array([0, nSure]);
    const at = boundary;
    yield* blocks(n, (lo, hi) => (from ? partition(from, digit, shift, at, desc, next, sure, placed, lo, hi) : partitionMasked(mask, digit, shift, at, desc, next, sure, placed, lo, hi)));
    nSure = placed[1];
    candidates = next;
    left = placed[0];
  }
  // Candidates that tie on every digit are in table order: the first needed ones come first (the last for desc).
  const tail = d === digits.length ? maskRows(mask, candidates, take - nSure, desc) : maskRows(mask, candidates, left, false);
  const rows = new Uint32Array(nSure + tail.length);
  rows.set(sure.subarray(0, nSure), 0);
  rows.set(tail, nSure);
  const sorted = yield* radixSteps(rows, digits);
  if (keys) giveBack(keys);
  return desc ? sorted.reverse() : sorted;
}

/** counts[digit]++ for the rows of [lo, hi) whose mask is set. */
function countMasked(mask: Uint8Array, keys: Word, shift: number, counts: Uint32Array, lo: number, hi: number): void {
  for (let row = lo; row < hi; row++) if (mask[row]) counts[(keys[row] >>> shift) & 0xffff]++;
}

/** The rows rows[lo..hi): those with the boundary digit to next, those before it (in the order's direction) to sure. */
function partition(rows: Uint32Array, keys: Word, shift: number, boundary: number, desc: boolean, next: Uint32Array, sure: Uint32Array, placed: Uint32Array, lo: number, hi: number): void {
  let nNext = placed[0];
  let nSure = placed[1];
  for (let i = lo; i < hi; i++) {
    const row = rows[i];
    const digit = (keys[row] >>> shift) & 0xffff;
    if (digit === boundary) next[nNext++] = row;
    else if (desc ? digit > boundary : digit < boundary) sure[nSure++] = row;
  }
  placed[0] = nNext;
  placed[1] = nSure;
}

/** partition() of the rows of [lo, hi) whose mask is set. */
function partitionMasked(mask: Uint8Array, keys: Word, shift: number, boundary: number, desc: boolean, next: Uint32Array, sure: Uint32Array, placed: Uint32Array, lo: number, hi: number): void {
  let nNext = placed[0];
  let nSure = placed[1];
  for (let row = lo; row < hi; row++) {
    if (!mask[row]) continue;
    const digit = (keys[row] >>> shift) & 0xffff;
    if (digit === boundary) next[nNext++] = row;
    else if (desc ? digit > boundary : digit < boundary) sure[nSure++] = row;
  }
  placed[0] = nNext;
  placed[1] = nSure;
}

/** Rows warmSteps() sorts: below what giveBack() keeps, so the spares stay arrays of whole tables. */
const WARM_ROWS = 2 * BLOCK_ROWS - 1;

/**
 * Every pass of a first sort, of a first page's selection (both directions) and of a full order, for every sort
 * key, over the first WARM_ROWS rows of a table, results dropped: V8 optimises a loop only once it has run a
 * while, so the first sort of a fresh server ran its passes over a million rows 5-10 times slower than a later one
 * (an address key's words: 159 ms against 16 ms; its selection 241 ms) - on that first table, these few thousand
 * rows run them first. What is built from them is the table's own rows: nothing of the table is written.
 */
export function* warmSteps(c: Columns): Steps<void> {
  const n = Math.min(c.size, WARM_ROWS);
  // Every other row: the masked passes of a selection, and more candidates than it sorts outright.
  const mask = new Uint8Array(n);
  for (let row = 0; row < n; row += 2) mask[row] = 1;
  const count = (n + 1) >> 1;
  for (const key of SORT_KEYS) {
    const k = yield* sortColumnsSteps(c, key, n);
    yield* selectSteps(k, mask, count, 100, false);
    yield* selectSteps(k, mask, count, 100, true);
    yield* orderSteps(k);
  }
}

/** Whether a page is being answered now (in this process: Snapshot.page(), of any snapshot, or a route's answerPage()). */
export const answeringPage = (): boolean => turns.pagesAnswering > 0;

/** Runs a page's answer, background work waiting (backgroundTurn(), inTurns()' wait) while it runs. */
export async function answerPage<T>(work: () => Promise<T>): Promise<T> {
  turns.pagesAnswering++;
  try {
    return await work();
  } finally {
    turns.pagesAnswering--;
  }
}

/** A run with no steps: it ends in the pump's turn, so the awaiting work runs there, the only step of that turn. */
function* noSteps(): Steps<void> {}

/**
 * A turn of the event loop of its own for a piece of work that is not a run of steps (an export's next piece):
 * the work goes on in the microtasks of a pump's turn, so it shares the turns with the runs of inTurns() instead of
 * running in the same check phase as one of their steps. `wait()` holds it back as inTurns()' does.
 */
export const ownTurn = (wait?: () => boolean): Promise<void> => inTurns(noSteps(), wait);

/**
 * A turn of the event loop for work in the background (the history's dumps, reconciles and storage check, the
 * export warm-up): ownTurn(), held back while a page is being answered, for up to `maxWaitMs` (the work still
 * moves on under a steady stream of pages).
 */
export function backgroundTurn(maxWaitMs: number): Promise<void> {
  const called = performance.now();
  return ownTurn(() => turns.pagesAnswering > 0 && performance.now() - called < maxWaitMs);
}

/** Runs every step of a generator at once; its result. */
export function runAll<T>(steps: Steps<T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * One step of the first job not waiting, then the event loop runs (setImmediate; a millisecond while every job
 * waits). One step per turn for all the jobs together: when each inTurns() had its own immediate, the runs
 * resumed in the same check phase, one after the other, and a run that a finished one's answer started (a page's
 * order for later pages, the page after its text index) took its first step in that answer's turn: a first sort
 * at 1M entries held the server 42 ms (26 ms of it CPU: the page's last step, its rows, its order's first step).
 */
function pump(): void {
  const { jobs } = turns;
  const at = jobs.findIndex((job) => !job.wait?.());
  if (at < 0) {
    setTimeout(pump, 1);
    return;
  }
  const [job] = jobs.splice(at, 1);
  turns.started = performance.now();
  try {
    const step = job.steps.next();
    if (step.done) job.resolve(step.value);
    else jobs.push(job);
  } catch (error) {
    job.reject(error);
  }
  if (jobs.length) setImmediate(pump);
  else turns.pumping = false;
}

/**
 * Runs a generator's steps with the event loop let run between them, one step per turn of the event loop shared
 * by every inTurns() (round robin), the first in a later turn than the call; a step is not run while `wait()`
 * says so (work in the background gives way). Its result.
 */
export function inTurns<T>(steps: Steps<T>, wait?: () => boolean): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    turns.jobs.push({ steps, wait, resolve: resolve as (value: unknown) => void, reject });
    if (!turns.pumping) {
      turns.pumping = true;
      setImmediate(pump);
    }
  });
}

/** Row indices sorted ascending by key (ties by table order). */
export const orderBy = (c: Columns, key: SortKey): Uint32Array => runAll(orderSteps(runAll(sortColumnsSteps(c, key))));
