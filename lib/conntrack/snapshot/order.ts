// Row orders: the rows sorted by one column, ascending, ties by table order. The sorting runs as steps of a few
// milliseconds each (a generator): orderBy() runs them in one go, orderInTurns() lets the event loop run between
// them, so a server's first sort of a million rows does not stall every other request for a tenth of a second.
import type { SortKey } from '../vocabulary';
import { FAMILY_V6, NO_STATE, SHAPE, type Columns } from './columns';

const ROW_BITS = 2097152; // 2^21 rows
/** Rows of work per step: a native sort of this many keys, or a merge of this many, takes a few milliseconds. */
const STEP_ROWS = 65536;

export type Steps<T> = Generator<void, T, void>;

/**
 * Row indices ordered by keys (ties by row). Whole-number keys in [-1, 2^32] are packed with the row into one
 * exact double; runs of STEP_ROWS are sorted by the engine's native typed-array sort, then merged a step at a
 * time. Anything else uses a comparator, in one step.
 */
function* sortSteps(keys: Float64Array): Steps<Uint32Array> {
  const n = keys.length;
  const order = new Uint32Array(n);
  let packable = n <= ROW_BITS;
  for (let i = 0; packable && i < n; i++) {
    const k = keys[i];
    if (k < -1 || k > 4294967296 || k !== Math.floor(k)) packable = false;
  }
  if (!packable) {
    for (let row = 0; row < n; row++) order[row] = row;
    return order.sort((a, b) => keys[a] - keys[b] || a - b);
  }
  let from = new Float64Array(n);
  for (let row = 0; row < n; row++) from[row] = (keys[row] + 1) * ROW_BITS + row;
  for (let lo = 0; lo < n; lo += STEP_ROWS) {
    yield;
    from.subarray(lo, Math.min(n, lo + STEP_ROWS)).sort();
  }
  // Packed values are distinct (the row is part of each), so the merge needs no tie rule.
  let to = new Float64Array(n > STEP_ROWS ? n : 0);
  for (let width = STEP_ROWS; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(n, lo + width);
      const hi = Math.min(n, lo + 2 * width);
      let i = lo;
      let j = mid;
      for (let k = lo; k < hi; ) {
        yield;
        const stop = Math.min(hi, k + STEP_ROWS);
        while (k < stop) to[k++] = j >= hi || (i < mid && from[i] < from[j]) ? from[i++] : from[j++];
      }
    }
    [from, to] = [to, from];
  }
  for (let i = 0; i < n; i++) order[i] = from[i] % ROW_BITS;
  return order;
}

/** IPv4 rows (numerically) before IPv6 rows (bytewise), by address slot k. */
function* addressSteps(c: Columns, k: number): Steps<Uint32Array> {
  const v4 = new Float64Array(c.size);
  const v6: number[] = [];
  let n4 = 0;
  for (let row = 0; row < c.size; row++) {
    if (c.family[row] === FAMILY_V6) v6.push(row);
    else v4[n4++] = c.addr[row * 4 + k];
  }
  const order = new Uint32Array(c.size);
  const v4rows = new Uint32Array(n4);
  for (let row = 0, i = 0; row < c.size; row++) if (c.family[row] !== FAMILY_V6) v4rows[i++] = row;
  const v4order = yield* sortSteps(v4.subarray(0, n4));
  for (let i = 0; i < n4; i++) order[i] = v4rows[v4order[i]];
  yield;
  const bytes = c.v6;
  v6.sort((a, b) => {
    const x = c.addr[a * 4 + k] * 16;
    const y = c.addr[b * 4 + k] * 16;
    for (let i = 0; i < 16; i++) {
      const d = bytes[x + i] - bytes[y + i];
      if (d) return d;
    }
    return a - b;
  });
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
