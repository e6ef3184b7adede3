// Row orders: the rows sorted by one column, ascending, ties by table order (descending is that order backwards).
// A sort key's values are first written as 32-bit words per row (sortColumnsSteps); from them, a full order by
// LSD radix sort (16-bit digits, a counting pass each: orderSteps), or only the first rows of a filtered order by
// MSD radix selection (selectSteps: a histogram pass or two over the matching rows, then a sort of about as many
// rows as the page needs), which is what a first page asks for. All of it in steps of a millisecond or two (a
// generator): runAll() runs them in one go, inTurns() lets the event loop run between them, so a server's first
// sort of a million rows stalls no other request.
import type { SortKey } from '../vocabulary';
import { FAMILY_V6, NO_STATE, SHAPE, type Columns, type ReadonlyColumn } from './columns';

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
  /** Indexed by row (a word may be a snapshot column itself, longer than size: never written). */
  readonly words: readonly Word[];
  readonly varies: readonly number[];
  /** Rows. */
  readonly size: number;
  readonly addresses: boolean;
}

type Word = ReadonlyColumn<Uint32Array>;
/** A 16-bit digit: the word and the shift (16 for the high half, 0 for the low). */
type Digit = readonly [word: Word, shift: number];

/** The digits of words where rows differ, the most significant first. */
function digitsOf(words: readonly Word[], varies: readonly number[]): Digit[] {
  const digits: Digit[] = [];
  words.forEach((word, w) => {
    for (const shift of [16, 0]) if ((varies[w] >>> shift) & 0xffff) digits.push([word, shift]);
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

/** Writes the sort values of rows [lo, hi) into out (indexed by row). */
type Fill = (out: Float64Array, lo: number, hi: number) => void;

/**
 * How a key's sort values are read: a uint32 column that is its own sort value, the address slot (0-3) of the
 * address keys, or a Fill (one loop per kind of column: no call per row).
 */
function sortValues(c: Columns, key: SortKey): ReadonlyColumn<Uint32Array> | number | Fill {
  // A u64 column pair at row * stride + at (high, low) as a number; -1 when the row lacks it (`bit` clear).
  const u64 = (column: Columns['counters'], stride: number, at: number, bit: number): Fill => (out, lo, hi) => {
    for (let r = lo; r < hi; r++) out[r] = c.shape[r] & bit ? column[r * stride + at] * WORD + column[r * stride + at + 1] : -1;
  };
  // The sum of two counters (original and reply); -1 without counters.
  const both = (at: number): Fill => (out, lo, hi) => {
    const k = c.counters;
    for (let r = lo; r < hi; r++) out[r] = c.shape[r] & SHAPE.COUNTERS ? k[r * 8 + at] * WORD + k[r * 8 + at + 1] + (k[r * 8 + at + 4] * WORD + k[r * 8 + at + 5]) : -1;
  };
  const small = (column: ReadonlyColumn<Uint8Array> | ReadonlyColumn<Uint16Array>, stride: number, at: number): Fill => (out, lo, hi) => {
    for (let r = lo; r < hi; r++) out[r] = column[r * stride + at];
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
        for (let r = lo; r < hi; r++) out[r] = c.state[r] === NO_STATE ? -1 : c.state[r];
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

/** The family word, then the address of slot k as four words (an IPv4 address in the first, most significant first). */
function* addressColumnsSteps(c: Columns, k: number): Steps<SortColumns> {
  const n = c.size;
  const family = new Uint32Array(n);
  const words = [0, 1, 2, 3].map(() => new Uint32Array(n));
  const bytes = c.v6;
  // What differs: IPv4 rows have 0 in the last three words, and the families differ if both are there.
  let v4 = 0;
  const or = [0, 0, 0, 0];
  const and = [-1, -1, -1, -1];
  for (let lo = 0; lo < n; lo += STEP_ROWS) {
    for (let row = lo, hi = Math.min(n, lo + STEP_ROWS); row < hi; row++) {
      const value = c.addr[row * 4 + k];
      if (c.family[row] !== FAMILY_V6) {
        words[0][row] = value;
        or[0] |= value;
        and[0] &= value;
        v4++;
        continue;
      }
      family[row] = 1;
      for (let w = 0; w < 4; w++) {
        const at = value * 16 + w * 4;
        const word = (bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3];
        words[w][row] = word >>> 0;
        or[w] |= word;
        and[w] &= word;
      }
    }
    yield;
  }
  const both = v4 > 0 && v4 < n;
  const varies = or.map((o, w) => (w && v4 ? o : (o ^ and[w]) >>> 0));
  return { words: [family, ...words], varies: [both ? 1 : 0, ...varies], size: n, addresses: true };
}

/** A uint32 column as the one word of its sort columns (its first n rows), with the bits that differ (OR ^ AND). */
function* columnAsWord(word: Word, n: number): Steps<SortColumns> {
  let or = 0;
  let and = -1;
  for (let lo = 0; lo < n; lo += STEP_ROWS) {
    for (let i = lo, hi = Math.min(n, lo + STEP_ROWS); i < hi; i++) {
      or |= word[i];
      and &= word[i];
    }
    yield;
  }
  return { words: [word], varies: [(or ^ and) >>> 0], size: n, addresses: false };
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
export function* sortColumnsSteps(c: Columns, key: SortKey): Steps<SortColumns> {
  const fill = sortValues(c, key);
  if (typeof fill === 'number') return yield* addressColumnsSteps(c, fill);
  const n = c.size;
  if (typeof fill !== 'function') return yield* columnAsWord(fill, n);
  const values = new Float64Array(n);
  let whole = true;
  for (let lo = 0; lo < n; lo += STEP_ROWS) {
    const hi = Math.min(n, lo + STEP_ROWS);
    fill(values, lo, hi);
    for (let row = lo; whole && row < hi; row++) {
      const v = values[row] + 1;
      whole = v >= 0 && v <= Number.MAX_SAFE_INTEGER && v === Math.floor(v);
    }
    yield;
  }
  const low = new Uint32Array(n);
  const high = new Uint32Array(n);
  let orHigh = 0;
  let andHigh = -1;
  let orLow = 0;
  let andLow = -1;
  const bits = new Uint32Array(values.buffer);
  const [l, h] = LITTLE_ENDIAN ? [0, 1] : [1, 0];
  for (let lo = 0; lo < n; lo += STEP_ROWS) {
    for (let row = lo, hi = Math.min(n, lo + STEP_ROWS); row < hi; row++) {
      let high32: number;
      let low32: number;
      if (whole) {
        const v = values[row] + 1;
        high32 = Math.floor(v / WORD);
        low32 = v - high32 * WORD;
      } else {
        const negative = bits[row * 2 + h] >>> 31;
        high32 = negative ? ~bits[row * 2 + h] : bits[row * 2 + h] | 0x80000000;
        low32 = negative ? ~bits[row * 2 + l] : bits[row * 2 + l];
      }
      high[row] = high32;
      low[row] = low32;
      orHigh |= high32;
      andHigh &= high32;
      orLow |= low32;
      andLow &= low32;
    }
    yield;
  }
  const varies = [(orHigh ^ andHigh) >>> 0, (orLow ^ andLow) >>> 0];
  return varies[0] ? { words: [high, low], varies, size: n, addresses: false } : { words: [low], varies: [varies[1]], size: n, addresses: false };
}

/** Every row ordered by the columns: IPv4 rows (numerically) before IPv6 rows (bytewise) for the address keys. */
export function* orderSteps(k: SortColumns): Steps<Uint32Array> {
  if (!k.addresses) return yield* radixSteps(identity(k.size), digitsOf(k.words, k.varies));
  const [family, ...words] = k.words;
  const n = k.size;
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

/**
 * Runs a generator's steps with the event loop let run between them (setImmediate), and before each step for as
 * long as `wait()` says so (a millisecond at a time: work in the background gives way); its result.
 */
export async function inTurns<T>(steps: Steps<T>, wait?: () => boolean): Promise<T> {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (wait?.()) await new Promise<void>((resolve) => setTimeout(resolve, 1));
  }
}

/** Row indices sorted ascending by key (ties by table order). */
export const orderBy = (c: Columns, key: SortKey): Uint32Array => runAll(orderSteps(runAll(sortColumnsSteps(c, key))));
