// Row orders: the rows sorted by one column, ascending, ties by table order (descending is that order backwards).
// A sort key's values are first written as 32-bit words per row (sortColumnsSteps); from them, a full order by
// LSD radix sort (16-bit digits, a counting pass each: orderSteps), or only the first rows of a filtered order by
// MSD radix selection (selectSteps: a histogram pass or two over the matching rows, then a sort of about as many
// rows as the page needs), which is what a first page asks for. All of it in steps of a millisecond or two (a
// generator): runAll() runs them in one go, inTurns() lets the event loop run between them, so a server's first
// sort of a million rows stalls no other request.
import type { SortKey } from '../vocabulary';
import { FAMILY_V6, NO_STATE, SHAPE, type Columns } from './columns';

/** Rows of work per step: one counting or scattering pass over this many rows takes a millisecond or two. */
const STEP_ROWS = 65536;
const DIGITS = 65536;
const WORD = 4294967296;
/** A selection stops narrowing the boundary digit once this few rows share it: sorting them costs less than a pass. */
const SMALL_BUCKET = 2048;

export type Steps<T> = Generator<void, T, void>;

/**
 * A sort key's values, ready to order by: per row, unsigned 32-bit words, the most significant first (rows compare
 * by them in turn, then by row), and per word the bits that differ between rows (OR ^ AND of every row's word):
 * a digit where no row differs tells nothing and is skipped. For the address keys the first word is the family
 * (0 IPv4, 1 IPv6) and an IPv4 row's address is its only other word (the rest are 0).
 */
export interface SortColumns {
  readonly words: readonly Uint32Array[];
  readonly varies: readonly number[];
  readonly addresses: boolean;
}

/** A 16-bit digit: the word and the shift (16 for the high half, 0 for the low). */
type Digit = readonly [word: Uint32Array, shift: number];

/** The digits of words where rows differ, the most significant first. */
function digitsOf(words: readonly Uint32Array[], varies: readonly number[]): Digit[] {
  const digits: Digit[] = [];
  words.forEach((word, w) => {
    for (const shift of [16, 0]) if ((varies[w] >>> shift) & 0xffff) digits.push([word, shift]);
  });
  return digits;
}

/** The bits that differ between the values of a word column (OR ^ AND). */
function variesOf(word: Uint32Array): number {
  let or = 0;
  let and = -1;
  for (let i = 0; i < word.length; i++) {
    or |= word[i];
    and &= word[i];
  }
  return (or ^ and) >>> 0;
}

/**
 * One stable counting-sort pass of LSD radix sort: `order` (rows) into `out`, by the 16-bit digit
 * (keys[row] >>> shift) & 0xffff. Returns false (and leaves `out` alone) when every row has the same digit.
 */
function* radixPass(order: Uint32Array, out: Uint32Array, keys: Uint32Array, shift: number, counts: Uint32Array): Steps<boolean> {
  const n = order.length;
  counts.fill(0);
  for (let lo = 0; lo < n; lo += STEP_ROWS) {
    const hi = Math.min(n, lo + STEP_ROWS);
    for (let i = lo; i < hi; i++) counts[(keys[order[i]] >>> shift) & 0xffff]++;
    yield;
  }
  let sum = 0;
  for (let d = 0; d < DIGITS; d++) {
    const count = counts[d];
    if (count === n) return false;
    counts[d] = sum;
    sum += count;
  }
  for (let lo = 0; lo < n; lo += STEP_ROWS) {
    const hi = Math.min(n, lo + STEP_ROWS);
    for (let i = lo; i < hi; i++) {
      const row = order[i];
      out[counts[(keys[row] >>> shift) & 0xffff]++] = row;
    }
    yield;
  }
  return true;
}

/** `rows` ordered by the digits (the most significant first; LSD radix sort: stable, so ties keep the order of `rows`). */
function* radixSteps(rows: Uint32Array, digits: readonly Digit[]): Steps<Uint32Array> {
  let order: Uint32Array = rows;
  if (rows.length < 2) return order;
  let out: Uint32Array = new Uint32Array(rows.length);
  const counts = new Uint32Array(DIGITS);
  for (let d = digits.length - 1; d >= 0; d--) {
    if (yield* radixPass(order, out, digits[d][0], digits[d][1], counts)) [order, out] = [out, order];
  }
  return order;
}

const identity = (n: number): Uint32Array => {
  const rows = new Uint32Array(n);
  for (let row = 0; row < n; row++) rows[row] = row;
  return rows;
};

/** A u64 column value (high, low halves at k) as a number; -1 when the row lacks it (`bit` clear). */
function u64(c: Columns, column: Columns['counters'], row: number, k: number, bit: number): number {
  return c.shape[row] & bit ? column[k] * WORD + column[k + 1] : -1;
}

/** The sort value of a row for key, or the address slot (0-3) for the address keys. */
function sortValue(c: Columns, key: SortKey): ((row: number) => number) | number {
  const counter = (r: number, i: number) => u64(c, c.counters, r, r * 8 + i * 2, SHAPE.COUNTERS);
  switch (key) {
    case 'id':
      return (r) => c.id[r];
    case 'family':
      return (r) => c.family[r];
    case 'protocol':
      return (r) => c.protocol[r];
    case 'src':
      return 0;
    case 'dst':
      return 1;
    case 'replySrc':
      return 2;
    case 'replyDst':
      return 3;
    case 'sport':
      return (r) => c.ports[r * 4];
    case 'dport':
      return (r) => c.ports[r * 4 + 1];
    case 'replySport':
      return (r) => c.ports[r * 4 + 2];
    case 'replyDport':
      return (r) => c.ports[r * 4 + 3];
    case 'state':
      return (r) => (c.state[r] === NO_STATE ? -1 : c.state[r]);
    case 'status':
      return (r) => c.status[r];
    case 'timeout':
      return (r) => c.timeout[r];
    case 'mark':
      return (r) => c.mark[r];
    case 'zone':
      return (r) => c.zone[r];
    case 'use':
      return (r) => c.use[r];
    case 'packetsOriginal':
      return (r) => counter(r, 0);
    case 'bytesOriginal':
      return (r) => counter(r, 1);
    case 'packetsReply':
      return (r) => counter(r, 2);
    case 'bytesReply':
      return (r) => counter(r, 3);
    case 'packets':
      return (r) => (c.shape[r] & SHAPE.COUNTERS ? counter(r, 0) + counter(r, 2) : -1);
    case 'bytes':
      return (r) => (c.shape[r] & SHAPE.COUNTERS ? counter(r, 1) + counter(r, 3) : -1);
    case 'startedAt':
      return (r) => u64(c, c.started, r, r * 2, SHAPE.TIMESTAMP);
  }
}

/** The family word, then the address of slot k as four words (an IPv4 address in the first, most significant first). */
function* addressColumnsSteps(c: Columns, k: number): Steps<SortColumns> {
  const n = c.size;
  const family = new Uint32Array(n);
  const words = [0, 1, 2, 3].map(() => new Uint32Array(n));
  const bytes = c.v6;
  for (let lo = 0; lo < n; lo += STEP_ROWS) {
    for (let row = lo, hi = Math.min(n, lo + STEP_ROWS); row < hi; row++) {
      const value = c.addr[row * 4 + k];
      if (c.family[row] !== FAMILY_V6) {
        words[0][row] = value;
        continue;
      }
      family[row] = 1;
      for (let w = 0; w < 4; w++) {
        const at = value * 16 + w * 4;
        words[w][row] = ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
      }
    }
    yield;
  }
  return yield* wordColumns([family, ...words], true);
}

/** The columns of words: what differs in each, a step per word. */
function* wordColumns(words: Uint32Array[], addresses: boolean): Steps<SortColumns> {
  const varies: number[] = [];
  for (const word of words) {
    varies.push(variesOf(word));
    yield;
  }
  return { words, varies, addresses };
}

/** Whether this platform's typed arrays are little-endian (a double's low word first). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * A sort key's columns (see SortColumns): rows compare as their sort values do as numbers. Whole numbers from -1 to
 * 2^53 - 2 (the kernel's fields, except start times in ns) are stored as value + 1, high and low 32 bits; other
 * values (those start times: above 2^53, they compare as the doubles they round to) as the bits of the double,
 * sign-flipped so they compare as unsigned words the way the numbers do (no value is NaN or -0).
 */
export function* sortColumnsSteps(c: Columns, key: SortKey): Steps<SortColumns> {
  const value = sortValue(c, key);
  if (typeof value === 'number') return yield* addressColumnsSteps(c, value);
  const n = c.size;
  const low = new Uint32Array(n);
  const high = new Uint32Array(n);
  let whole = true;
  for (let lo = 0; whole && lo < n; lo += STEP_ROWS) {
    for (let row = lo, hi = Math.min(n, lo + STEP_ROWS); row < hi; row++) {
      const v = value(row) + 1;
      if (!(v >= 0 && v <= Number.MAX_SAFE_INTEGER && v === Math.floor(v))) whole = false;
      const h = Math.floor(v / WORD);
      high[row] = h;
      low[row] = v - h * WORD;
    }
    yield;
  }
  if (!whole) {
    const double = new Float64Array(1);
    const bits = new Uint32Array(double.buffer);
    const [l, h] = LITTLE_ENDIAN ? [0, 1] : [1, 0];
    for (let lo = 0; lo < n; lo += STEP_ROWS) {
      for (let row = lo, hi = Math.min(n, lo + STEP_ROWS); row < hi; row++) {
        double[0] = value(row);
        const negative = bits[h] >>> 31;
        high[row] = negative ? ~bits[h] : bits[h] | 0x80000000;
        low[row] = negative ? ~bits[l] : bits[l];
      }
      yield;
    }
  }
  const columns = yield* wordColumns([high, low], false);
  return columns.varies[0] ? columns : { words: [low], varies: [columns.varies[1]], addresses: false };
}

/** Every row ordered by the columns: IPv4 rows (numerically) before IPv6 rows (bytewise) for the address keys. */
export function* orderSteps(k: SortColumns): Steps<Uint32Array> {
  if (!k.addresses) return yield* radixSteps(identity(k.words[0].length), digitsOf(k.words, k.varies));
  const [family, ...words] = k.words;
  const n = family.length;
  let n4 = 0;
  for (let row = 0; row < n; row++) n4 += family[row] ^ 1;
  const v4rows = new Uint32Array(n4);
  const v6rows = new Uint32Array(n - n4);
  for (let row = 0, i = 0, j = 0; row < n; row++) {
    if (family[row]) v6rows[j++] = row;
    else v4rows[i++] = row;
  }
  yield;
  const varies = k.varies.slice(1);
  const v4 = yield* radixSteps(v4rows, digitsOf(words.slice(0, 1), varies));
  const v6 = yield* radixSteps(v6rows, digitsOf(words, varies));
  const order = new Uint32Array(n);
  order.set(v4, 0);
  order.set(v6, n4);
  return order;
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
  const digits = digitsOf(k.words, k.varies);
  const counts = new Uint32Array(DIGITS);
  /** Rows known to be in (before the candidates' digits), fewer than take. */
  const sure = new Uint32Array(take);
  let nSure = 0;
  /** The rows still undecided (undefined: every row whose mask is set), in table order. */
  let candidates: Uint32Array | undefined;
  let left = count;
  let d = 0;
  for (; d < digits.length && left > SMALL_BUCKET && left > 2 * (take - nSure); d++) {
    const [keys, shift] = digits[d];
    counts.fill(0);
    const n = candidates ? candidates.length : mask.length;
    for (let lo = 0; lo < n; lo += STEP_ROWS) {
      const hi = Math.min(n, lo + STEP_ROWS);
      if (candidates) for (let i = lo; i < hi; i++) counts[(keys[candidates[i]] >>> shift) & 0xffff]++;
      else for (let row = lo; row < hi; row++) if (mask[row]) counts[(keys[row] >>> shift) & 0xffff]++;
      yield;
    }
    // The boundary digit: where the rows before it (in the order's direction) stop being fewer than needed.
    const need = take - nSure;
    let boundary = desc ? DIGITS - 1 : 0;
    for (let before = 0; before + counts[boundary] < need; boundary += desc ? -1 : 1) before += counts[boundary];
    if (counts[boundary] === left) continue;
    const next = new Uint32Array(counts[boundary]);
    let nNext = 0;
    for (let lo = 0; lo < n; lo += STEP_ROWS) {
      const hi = Math.min(n, lo + STEP_ROWS);
      for (let i = lo; i < hi; i++) {
        const row = candidates ? candidates[i] : i;
        if (candidates || mask[row]) {
          const digit = (keys[row] >>> shift) & 0xffff;
          if (digit === boundary) next[nNext++] = row;
          else if (desc ? digit > boundary : digit < boundary) sure[nSure++] = row;
        }
      }
      yield;
    }
    candidates = next;
    left = nNext;
  }
  // Candidates that tie on every digit are in table order: the first needed ones come first (the last for desc).
  const tail = d === digits.length ? maskRows(mask, candidates, take - nSure, desc) : maskRows(mask, candidates, left, false);
  const rows = new Uint32Array(nSure + tail.length);
  rows.set(sure.subarray(0, nSure), 0);
  rows.set(tail, nSure);
  const sorted = yield* radixSteps(rows, digits);
  return desc ? sorted.reverse() : sorted;
}

/** Runs every step of a generator at once; its result. */
export function runAll<T>(steps: Steps<T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Runs a generator's steps with the event loop let run between them (setImmediate); its result. */
export async function inTurns<T>(steps: Steps<T>): Promise<T> {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Row indices sorted ascending by key (ties by table order). */
export const orderBy = (c: Columns, key: SortKey): Uint32Array => runAll(orderSteps(runAll(sortColumnsSteps(c, key))));
