// Free text: each row as the console shows it, lower-case, searched with a substring match. The rows' text is
// written straight from the columns as bytes (UTF-8, a newline after each row), a chunk of rows at a time, and
// searched with Buffer#indexOf: no string per row, so a million rows are written in a fraction of a second,
// searched in less, and both can pause for the event loop between chunks.
import { formatIPv6, writeDecimal as writeDecimal_, writeIPv4 as writeIPv4_, writeIPv6 as writeIPv6_ } from '@/lib/netlink/address';
import { IPS as IPS_, PROTOCOL_NAMES, TCP_STATES } from '../constants';
import { FAMILY_V6 as FAMILY_V6_, NO_STATE as NO_STATE_, PORTED as PORTED_, type Columns } from './columns';

// Imported bindings can compile to getters (CommonJS interop), which cost more than the writing on the per-row
// path; the hot code reads these module-local copies (as the builder does).
const writeDecimal = writeDecimal_;
const writeIPv4 = writeIPv4_;
const writeIPv6 = writeIPv6_;
const IPS = IPS_;
const FAMILY_V6 = FAMILY_V6_;
const NO_STATE = NO_STATE_;
const PORTED = PORTED_;

/** Address slot k (0 orig src, 1 orig dst, 2 reply src, 3 reply dst) of a row as text. */
export function addressText(c: Columns, row: number, k: number): string {
  const value = c.addr[row * 4 + k];
  return c.family[row] === FAMILY_V6 ? formatIPv6(c.v6, value * 16) : `${value >>> 24}.${(value >> 16) & 255}.${(value >> 8) & 255}.${value & 255}`;
}

const ascii = (text: string): Uint8Array => Buffer.from(text.toLowerCase(), 'utf8');
const PROTOCOL_TEXT: readonly Uint8Array[] = Array.from({ length: 256 }, (_, p) => ascii(PROTOCOL_NAMES[p] ?? String(p)));
const STATE_TEXT: readonly Uint8Array[] = TCP_STATES.map(ascii);
const IPV4_TEXT = ascii('ipv4');
const IPV6_TEXT = ascii('ipv6');
const MARK_TEXT = ascii('mark=');
const ZONE_TEXT = ascii('zone=');

/** The status words of the five bits the console names (assured, unreplied, snat, dnat, offload), by those bits. */
const STATUS_TEXT: readonly Uint8Array[] = Array.from({ length: 32 }, (_, bits) => {
  const parts: string[] = [];
  if (bits & 1) parts.push('assured');
  if (bits & 2) parts.push('unreplied');
  if (bits & 4) parts.push('snat');
  if (bits & 8) parts.push('dnat');
  if (bits & 16) parts.push('offload');
  return ascii(parts.join(' '));
});
function statusBits(status: number): number {
  return (
    (status & IPS.ASSURED ? 1 : 0) |
    (status & IPS.SEEN_REPLY ? 0 : 2) |
    (status & IPS.SRC_NAT ? 4 : 0) |
    (status & IPS.DST_NAT ? 8 : 0) |
    (status & IPS.OFFLOAD ? 16 : 0)
  );
}

function put(out: Uint8Array, at: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) out[at + i] = bytes[i];
  return at + bytes.length;
}

/** Address slot k with its port (when the protocol has ports) at out[at...): 10.0.0.1:443, [2001:db8::1]:443. */
function writeEndpoint(c: Columns, row: number, k: number, out: Uint8Array, at: number): number {
  const value = c.addr[row * 4 + k];
  const v6 = c.family[row] === FAMILY_V6;
  const ported = PORTED[c.protocol[row]];
  let w = at;
  if (v6) {
    if (ported) out[w++] = 91; // [
    w = writeIPv6(c.v6, value * 16, out, w);
    if (ported) out[w++] = 93; // ]
  } else {
    w = writeIPv4(out, w, value);
  }
  if (!ported) return w;
  out[w++] = 58; // :
  return writeDecimal(out, w, c.ports[row * 4 + k]);
}

/** Bytes a row's text can take besides its helper name: the longest of every other part, with room to spare. */
const ROW_BYTES = 512;

/**
 * The row as the console shows it, lower-case, at out[at...): id, family, protocol, the four endpoints, TCP state,
 * status words, mark=, zone=, helper, separated by single spaces (an empty part leaves its space). Returns the end.
 */
function writeRow(c: Columns, row: number, out: Uint8Array, at: number, helper: Uint8Array | undefined): number {
  let w = writeDecimal(out, at, c.id[row]);
  out[w++] = 32;
  w = put(out, w, c.family[row] === FAMILY_V6 ? IPV6_TEXT : IPV4_TEXT);
  out[w++] = 32;
  w = put(out, w, PROTOCOL_TEXT[c.protocol[row]]);
  for (let k = 0; k < 4; k++) {
    out[w++] = 32;
    w = writeEndpoint(c, row, k, out, w);
  }
  out[w++] = 32;
  if (c.state[row] !== NO_STATE) w = put(out, w, STATE_TEXT[c.state[row]]);
  out[w++] = 32;
  w = put(out, w, STATUS_TEXT[statusBits(c.status[row])]);
  out[w++] = 32;
  if (c.mark[row]) w = writeDecimal(out, put(out, w, MARK_TEXT), c.mark[row]);
  out[w++] = 32;
  if (c.zone[row]) w = writeDecimal(out, put(out, w, ZONE_TEXT), c.zone[row]);
  out[w++] = 32;
  return helper ? put(out, w, helper) : w;
}

/** The text of rows [first, first + n): row first + i is bytes[starts[i], starts[i + 1] - 1), a newline after each. */
export interface TextChunk {
  first: number;
  bytes: Buffer;
  starts: Uint32Array;
}

/** Rows of text written per chunk: a few milliseconds of work, so a server can let the event loop run between chunks. */
export const TEXT_CHUNK_ROWS = 8192;

let scratch = new Uint8Array(0);

/** The text of rows [from, to) as one chunk. */
export function textChunk(c: Columns, from: number, to: number, helpers = new Map<string, Uint8Array>()): TextChunk {
  // One scratch buffer for every chunk (then an exact copy): no garbage of a chunk's size per chunk.
  if (scratch.length < (to - from) * 160 + ROW_BYTES) scratch = new Uint8Array((to - from) * 160 + ROW_BYTES);
  let out = scratch;
  const starts = new Uint32Array(to - from + 1);
  let w = 0;
  for (let row = from; row < to; row++) {
    const name = c.helpers.get(row);
    let helper: Uint8Array | undefined;
    if (name !== undefined) {
      helper = helpers.get(name);
      if (!helper) helpers.set(name, (helper = ascii(name)));
    }
    const room = ROW_BYTES + (helper?.length ?? 0);
    if (w + room > out.length) {
      const grown = new Uint8Array(Math.max(out.length * 2, w + room));
      grown.set(out.subarray(0, w));
      out = scratch = grown;
    }
    starts[row - from] = w;
    w = writeRow(c, row, out, w, helper);
    out[w++] = 10;
  }
  starts[to - from] = w;
  // An exact-size copy: the chunk is kept as long as the snapshot.
  return { first: from, bytes: Buffer.from(out.subarray(0, w)), starts };
}

/** The text of one row, as the search sees it (for tests and for showing what matched). */
export function rowText(c: Columns, row: number): string {
  const chunk = textChunk(c, row, row + 1);
  return chunk.bytes.toString('utf8', 0, chunk.starts[1] - 1);
}

/**
 * Marks in `found` (index = row) the rows of the chunk whose text contains the needle (UTF-8 of the lower-case
 * text): one native search per hit, a hit counting only when it ends inside its row.
 */
export function searchChunk(chunk: TextChunk, needle: Uint8Array, found: Uint8Array): void {
  const { bytes, starts, first } = chunk;
  const rows = starts.length - 1;
  let r = 0;
  let from = 0;
  for (;;) {
    const hit = bytes.indexOf(needle, from);
    if (hit < 0) return;
    while (starts[r + 1] <= hit) r++;
    if (r >= rows) return;
    // The row ends with its newline at starts[r + 1] - 1.
    if (hit + needle.length < starts[r + 1]) {
      found[first + r] = 1;
      from = starts[r + 1];
    } else {
      from = hit + 1;
    }
  }
}
