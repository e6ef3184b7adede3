// Row orders: the rows sorted by one column, ascending, ties by table order. A radix sort (16-bit digits, a
// counting pass each) in steps of a millisecond or two (a generator): orderBy() runs them in one go, orderInTurns()
// lets the event loop run between them, so a server's first sort of a million rows stalls no other request.
import type { SortKey } from '../vocabulary';
import { FAMILY_V6, NO_STATE, SHAPE, type Columns } from './columns';

/** Rows of work per step: one counting or scattering pass over this many rows takes a millisecond or two. */
const STEP_ROWS = 131072;
const DIGITS = 65536;

export type Steps<T> = Generator<void, T, void>;

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

/**
 * `rows` ordered by the uint32 keys (indexed by row) of `words`, the first most significant (LSD radix sort, 16
 * bits a pass: stable, so ties keep the order of `rows`), each pass a few steps.
 */
function* radixSteps(rows: Uint32Array, words: readonly Uint32Array[]): Steps<Uint32Array> {
  let order: Uint32Array = rows;
  let out: Uint32Array = new Uint32Array(rows.length);
  const counts = new Uint32Array(DIGITS);
  for (let w = words.length - 1; w >= 0; w--) {
    for (const shift of [0, 16]) {
      if (yield* radixPass(order, out, words[w], shift, counts)) [order, out] = [out, order];
    }
  }
  return order;
}

const identity = (n: number): Uint32Array => {
  const rows = new Uint32Array(n);
  for (let row = 0; row < n; row++) rows[row] = row;
  return rows;
};

/**
 * Row indices ordered by keys (ties by row). Whole numbers from -1 up (every sort value is one) go through a radix
 * sort on key + 1: one 32-bit word below 2^32, two up to 2^53. Anything else uses a comparator, in one step.
 */
function* sortSteps(keys: Float64Array): Steps<Uint32Array> {
  const n = keys.length;
  let max = 0;
  let whole = true;
  for (let lo = 0; whole && lo < n; lo += STEP_ROWS) {
    for (let i = lo, hi = Math.min(n, lo + STEP_ROWS); whole && i < hi; i++) {
      const k = keys[i];
      if (k < -1 || k > Number.MAX_SAFE_INTEGER - 1 || k !== Math.floor(k)) whole = false;
      else if (k + 1 > max) max = k + 1;
    }
    yield;
  }
  if (!whole) return identity(n).sort((a, b) => keys[a] - keys[b] || a - b);
  const low = new Uint32Array(n);
  const high = max < 4294967296 ? undefined : new Uint32Array(n);
  for (let lo = 0; lo < n; lo += STEP_ROWS) {
    for (let i = lo, hi = Math.min(n, lo + STEP_ROWS); i < hi; i++) {
      const v = keys[i] + 1;
      if (high) {
        high[i] = Math.floor(v / 4294967296);
        low[i] = v % 4294967296;
      } else {
        low[i] = v;
      }
    }
    yield;
  }
  return yield* radixSteps(identity(n), high ? [high, low] : [low]);
}

/** IPv4 rows (numerically) before IPv6 rows (bytewise), by address slot k; each family in table order on ties. */
function* addressSteps(c: Columns, k: number): Steps<Uint32Array> {
  let n4 = 0;
  for (let row = 0; row < c.size; row++) if (c.family[row] !== FAMILY_V6) n4++;
  const v4rows = new Uint32Array(n4);
  const v6rows = new Uint32Array(c.size - n4);
  // Per row, the IPv4 address, or one of the four 32-bit words of the IPv6 address (most significant first).
  const words = [0, 1, 2, 3].map(() => new Uint32Array(c.size));
  const bytes = c.v6;
  for (let row = 0, i = 0, j = 0; row < c.size; row++) {
    const value = c.addr[row * 4 + k];
    if (c.family[row] !== FAMILY_V6) {
      v4rows[i++] = row;
      words[0][row] = value;
      continue;
    }
    v6rows[j++] = row;
    for (let w = 0; w < 4; w++) {
      const at = value * 16 + w * 4;
      words[w][row] = ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
    }
  }
  const v4 = yield* radixSteps(v4rows, [words[0]]);
  const v6 = yield* radixSteps(v6rows, words);
  const order = new Uint32Array(c.size);
  order.set(v4, 0);
  order.set(v6, n4);
  return order;
}

/** A u64 column value (high, low halves at k) as a number; -1 when the row lacks it (`bit` clear). */
function u64(c: Columns, column: Columns['counters'], row: number, k: number, bit: number): number {
  return c.shape[row] & bit ? column[k] * 4294967296 + column[k + 1] : -1;
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

function* orderSteps(c: Columns, key: SortKey): Steps<Uint32Array> {
  const value = sortValue(c, key);
  if (typeof value === 'number') return yield* addressSteps(c, value);
  const keys = new Float64Array(c.size);
  for (let lo = 0; lo < c.size; lo += STEP_ROWS) {
    const hi = Math.min(c.size, lo + STEP_ROWS);
    for (let row = lo; row < hi; row++) keys[row] = value(row);
    yield;
  }
  return yield* sortSteps(keys);
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
export const orderBy = (c: Columns, key: SortKey): Uint32Array => runAll(orderSteps(c, key));

/** orderBy with the event loop let run between steps: the same order. */
export const orderInTurns = (c: Columns, key: SortKey): Promise<Uint32Array> => inTurns(orderSteps(c, key));
