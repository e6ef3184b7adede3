// Row orders: the rows sorted by one column, ascending, ties by table order.
import type { SortKey } from '../vocabulary';
import { FAMILY_V6, NO_STATE, SHAPE, type Columns } from './columns';

const ROW_BITS = 2097152; // 2^21 rows

/**
 * Row indices ordered by keys (ties by row). Whole-number keys in [-1, 2^32] are packed with the row into one
 * exact double and sorted by the engine's native typed-array sort; anything else uses a comparator.
 */
export function sortedRows(keys: Float64Array): Uint32Array {
  const n = keys.length;
  const order = new Uint32Array(n);
  let packable = n <= ROW_BITS;
  for (let i = 0; packable && i < n; i++) {
    const k = keys[i];
    if (k < -1 || k > 4294967296 || k !== Math.floor(k)) packable = false;
  }
  if (packable) {
    const packed = new Float64Array(n);
    for (let row = 0; row < n; row++) packed[row] = (keys[row] + 1) * ROW_BITS + row;
    packed.sort();
    for (let i = 0; i < n; i++) order[i] = packed[i] % ROW_BITS;
    return order;
  }
  for (let row = 0; row < n; row++) order[row] = row;
  return order.sort((a, b) => keys[a] - keys[b] || a - b);
}

/** IPv4 rows (numerically) before IPv6 rows (bytewise), by address slot k. */
function addressOrder(c: Columns, k: number): Uint32Array {
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
  const v4order = sortedRows(v4.subarray(0, n4));
  for (let i = 0; i < n4; i++) order[i] = v4rows[v4order[i]];
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

function sortValues(c: Columns, key: SortKey): Float64Array | number {
  const n = c.size;
  const out = new Float64Array(n);
  const column = (get: (row: number) => number) => {
    for (let row = 0; row < n; row++) out[row] = get(row);
    return out;
  };
  const counter = (r: number, i: number) => u64(c, c.counters, r, r * 8 + i * 2, SHAPE.COUNTERS);
  switch (key) {
    case 'id':
      return column((r) => c.id[r]);
    case 'family':
      return column((r) => c.family[r]);
    case 'protocol':
      return column((r) => c.protocol[r]);
    case 'src':
      return 0;
    case 'dst':
      return 1;
    case 'replySrc':
      return 2;
    case 'replyDst':
      return 3;
    case 'sport':
      return column((r) => c.ports[r * 4]);
    case 'dport':
      return column((r) => c.ports[r * 4 + 1]);
    case 'replySport':
      return column((r) => c.ports[r * 4 + 2]);
    case 'replyDport':
      return column((r) => c.ports[r * 4 + 3]);
    case 'state':
      return column((r) => (c.state[r] === NO_STATE ? -1 : c.state[r]));
    case 'status':
      return column((r) => c.status[r]);
    case 'timeout':
      return column((r) => c.timeout[r]);
    case 'mark':
      return column((r) => c.mark[r]);
    case 'zone':
      return column((r) => c.zone[r]);
    case 'use':
      return column((r) => c.use[r]);
    case 'packetsOriginal':
      return column((r) => counter(r, 0));
    case 'bytesOriginal':
      return column((r) => counter(r, 1));
    case 'packetsReply':
      return column((r) => counter(r, 2));
    case 'bytesReply':
      return column((r) => counter(r, 3));
    case 'packets':
      return column((r) => (c.shape[r] & SHAPE.COUNTERS ? counter(r, 0) + counter(r, 2) : -1));
    case 'bytes':
      return column((r) => (c.shape[r] & SHAPE.COUNTERS ? counter(r, 1) + counter(r, 3) : -1));
    case 'startedAt':
      return column((r) => u64(c, c.started, r, r * 2, SHAPE.TIMESTAMP));
  }
}

/** Row indices sorted ascending by key (ties by table order). */
export function orderBy(c: Columns, key: SortKey): Uint32Array {
  const values = sortValues(c, key);
  return typeof values === 'number' ? addressOrder(c, values) : sortedRows(values);
}
