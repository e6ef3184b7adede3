// The connections' export written straight from a snapshot's columns into bytes: the same bytes as the rows'
// ApiConnection objects through CONNECTION_COLUMNS (CSV) or JSON.stringify (JSON) - tests/unit/connection-export
// holds it to that - without a Connection, an ApiConnection or a string per row. Names, services, status words,
// labels and external addresses are looked up once per distinct value, so a million rows take seconds, written a
// chunk of rows at a time into one reused buffer (which exportStream copies into its ring of written-back chunks).
import {
  backgroundTurn,
  FAMILY_V6 as FAMILY_V6_,
  IP_CT_TCP_FLAG,
  IPS as IPS_,
  NO_STATE as NO_STATE_,
  PROTOCOL_NAMES,
  SHAPE as SHAPE_,
  startedMs,
  TCP_STATES,
  externalSlot as externalSlot_,
  statusNamesShown,
  type Columns,
  type ExternalKind,
  type RowCursor,
  type Snapshot,
} from '@/lib/conntrack';
import { formatIPv6 as formatIPv6_, writeDecimal as writeDecimal_, writeIPv4 as writeIPv4_, writeIPv6 as writeIPv6_ } from '@/lib/netlink/address';
import type { Names } from '@/lib/names';
import { CONNECTION_COLUMNS, csvField, csvHeader, type ExportBody, type ExportFormat } from './export';
import { labelsOf } from './labels';
import { consoleNames } from './names';
import { optionalService, type RowUplink } from './uplink-queries';
import { uplinkOfRows, wanName, type UplinkLookups } from './uplinks';

// Imported bindings can compile to getters (CommonJS interop), which cost more than the writing on the per-row
// path: the hot code reads module-local copies (as the snapshot's text index does).
const FAMILY_V6 = FAMILY_V6_;
const IPS = { SRC_NAT: IPS_.SRC_NAT, DST_NAT: IPS_.DST_NAT } as const;
const NO_STATE = NO_STATE_;
const SHAPE = { ...SHAPE_ } as const;
const CLOSE_INIT = IP_CT_TCP_FLAG.CLOSE_INIT;
const externalSlot = externalSlot_;
const formatIPv6 = formatIPv6_;
const writeDecimal = writeDecimal_;
const writeIPv4 = writeIPv4_;
const writeIPv6 = writeIPv6_;

/** Rows per piece of the body at most: a few milliseconds of writing, under a megabyte or two. */
export const CONNECTION_EXPORT_ROWS = 1024;
/** Rows written between looks at the clock. */
const CLOCK_ROWS = 16;
/**
 * A piece ends early once its writing has taken this long: the first pieces of an export run unoptimised code
 * (1,024 rows took 10-20 ms), and each piece runs in one event-loop turn.
 */
const PIECE_MS = 4;

export interface ConnectionExportOptions {
  snapshot: Snapshot;
  /** The rows to write, in order. */
  rows: RowCursor;
  format: ExportFormat;
  /** The WAN, stale and external fields (absent while the router view is unavailable, as in the API rows). */
  uplink?: RowUplink;
  /** Where the CSV's host and service names come from (default: the process's name files). */
  names?: Pick<Names, 'nameOf' | 'serviceOf'>;
}

const utf8 = (text: string): Uint8Array => Buffer.from(text, 'utf8');
const EMPTY = new Uint8Array(0);

/** Bytes a row can take besides its looked-up pieces (names, status, helper, labels...): every key and number, with room. */
const ROW_FIXED_BYTES = 2048;

/** A byte buffer written row by row and handed out a piece at a time (valid until the next: exportStream copies it). */
class Pieces {
  buf = new Uint8Array(1 << 20);
  at = 0;

  /** The buffer, with room for n more bytes at `at`. */
  room(n: number): Uint8Array {
    if (this.at + n > this.buf.length) {
      const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.at + n));
      bigger.set(this.buf.subarray(0, this.at));
      this.buf = bigger;
    }
    return this.buf;
  }

  take(): Uint8Array {
    const piece = this.buf.subarray(0, this.at);
    this.at = 0;
    return piece;
  }
}

function put(out: Uint8Array, at: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) out[at + i] = bytes[i];
  return at + bytes.length;
}

/** A whole number as String() writes it: writeDecimal below 2^53, String's digits above (a u64 counter as a double). */
function putNumber(out: Uint8Array, at: number, n: number): number {
  if (n <= Number.MAX_SAFE_INTEGER) return writeDecimal(out, at, n);
  return put(out, at, utf8(String(n)));
}

const twoDigits = (out: Uint8Array, at: number, n: number): number => {
  out[at] = 48 + ((n / 10) | 0);
  out[at + 1] = 48 + (n % 10);
  return at + 2;
};

/** Milliseconds since the epoch as Date#toISOString writes them; the date part from toISOString, once per day. */
function isoWriter(): (out: Uint8Array, at: number, ms: number) => number {
  const days = new Map<number, Uint8Array>();
  return (out, at, ms) => {
    const day = Math.floor(ms / 86_400_000);
    let date = days.get(day);
    if (!date) {
      date = utf8(new Date(day * 86_400_000).toISOString().slice(0, 11));
      days.set(day, date);
    }
    let w = put(out, at, date);
    let rest = ms - day * 86_400_000;
    const hours = Math.floor(rest / 3_600_000);
    rest -= hours * 3_600_000;
    const minutes = Math.floor(rest / 60_000);
    rest -= minutes * 60_000;
    const seconds = Math.floor(rest / 1000);
    const millis = rest - seconds * 1000;
    w = twoDigits(out, w, hours);
    out[w++] = 58; // :
    w = twoDigits(out, w, minutes);
    out[w++] = 58;
    w = twoDigits(out, w, seconds);
    out[w++] = 46; // .
    out[w++] = 48 + Math.floor(millis / 100);
    w = twoDigits(out, w, millis % 100);
    out[w++] = 90; // Z
    return w;
  };
}

/** A u64 column pair as a number, as Number(bigint) rounds it. */
const u64 = (column: Columns['counters'], k: number): number => column[k] * 0x1_0000_0000 + column[k + 1];

/** One value's bytes per key, computed on first use; past `limit` keys a new key's value is made each time. */
function cached<K, V>(make: (key: K) => V, limit = Number.POSITIVE_INFINITY): (key: K) => V {
  const map = new Map<K, V>();
  return (key) => {
    let value = map.get(key);
    if (value === undefined) {
      value = make(key);
      if (map.size < limit) map.set(key, value);
    }
    return value;
  };
}

const FRONT_BITS = 14;
/** Slots of the address tables (IPv4 values, IPv6 bytes) in front of their caches. */
const ADDRESS_BITS = 16;
/**
 * Addresses an address cache remembers: every one of a big router's table (tens of thousands), not all of a table of
 * a million distinct ones, whose Map of a million entries (some 80 MB) held one piece of the export for 10-25 ms at
 * each rehash (2^18, 2^19 entries).
 */
const ADDRESS_CACHE_MAX = 1 << 17;

/** A direct-mapped table of number keys over make(): a key that lost its slot to another is made again. */
function slotCached<V>(make: (key: number) => V, bits: number): (key: number) => V {
  const keys = new Float64Array(1 << bits).fill(Number.NaN);
  const values = new Array<V>(1 << bits);
  return (key) => {
    const slot = Math.imul(key, 0x9e3779b1) >>> (32 - bits);
    if (keys[slot] === key) return values[slot];
    const value = make(key);
    keys[slot] = key;
    values[slot] = value;
    return value;
  };
}

/**
 * cached() for number keys of few values (status words, protocol and port) with a direct-mapped table in front:
 * most lookups of a big table then read two typed-array slots instead of hashing into a Map of every value.
 */
const numberCached = <V>(make: (key: number) => V): ((key: number) => V) => slotCached(cached(make), FRONT_BITS);

const ipv4Text = (value: number): string => `${value >>> 24}.${(value >> 16) & 255}.${(value >> 8) & 255}.${value & 255}`;

/**
 * A value per address (by its text), looked up by a row's address slot k: IPv4 addresses through a direct-mapped
 * table of their values in front of a cache by value, IPv6 ones through a direct-mapped table of their 16 bytes in
 * front of a cache by text (ADDRESS_CACHE_MAX addresses each). A million-row export has ~600k IPv6 addresses, each
 * formatted into a string only to find it in the Map before.
 */
function addressCached<V>(c: Columns, make: (text: string) => V): (row: number, k: number) => V {
  const v4 = slotCached(
    cached((value: number) => make(ipv4Text(value)), ADDRESS_CACHE_MAX),
    ADDRESS_BITS,
  );
  const byText = cached(make, ADDRESS_CACHE_MAX);
  const bytes = c.v6;
  const addr = c.addr;
  const families = c.family;
  /** Per table slot: the address's 16 bytes, whether it holds one, its value. */
  const keys = new Uint8Array(16 << ADDRESS_BITS);
  const held = new Uint8Array(1 << ADDRESS_BITS);
  const values = new Array<V>(1 << ADDRESS_BITS);
  const v6 = (at: number): V => {
    let h = 0;
    for (let i = 0; i < 16; i += 4) h = Math.imul(h ^ ((bytes[at + i] << 24) | (bytes[at + i + 1] << 16) | (bytes[at + i + 2] << 8) | bytes[at + i + 3]), 0x9e3779b1);
    const slot = (h ^ (h >>> 15)) >>> (32 - ADDRESS_BITS);
    const from = slot * 16;
    if (held[slot]) {
      let i = 0;
      while (i < 16 && keys[from + i] === bytes[at + i]) i++;
      if (i === 16) return values[slot];
    }
    const value = byText(formatIPv6(bytes, at));
    for (let i = 0; i < 16; i++) keys[from + i] = bytes[at + i];
    held[slot] = 1;
    values[slot] = value;
    return value;
  };
  return (row, k) => {
    const value = addr[row * 4 + k];
    return families[row] === FAMILY_V6 ? v6(value * 16) : v4(value);
  };
}

const ascii = (text: string): Uint8Array => Uint8Array.from(text, (ch) => ch.charCodeAt(0));

/** The parts both formats read from a row, with their per-export caches. */
function rowReader(snapshot: Snapshot, uplink: RowUplink | undefined) {
  const c = snapshot.columns;
  const labelText = cached((bits: string): string[] => labelsOf(Uint8Array.from(bits, (ch) => ch.charCodeAt(0))));
  return {
    c,
    /** Address slot k of a row as text, at out[w...); returns where it ends. */
    writeAddress(out: Uint8Array, w: number, row: number, k: number): number {
      const value = c.addr[row * 4 + k];
      return c.family[row] === FAMILY_V6 ? writeIPv6(c.v6, value * 16, out, w) : writeIPv4(out, w, value);
    },
    /** The names of the row's labels (connlabel.conf), [] without any. */
    labels(row: number): string[] {
      const bitmap = c.labels.size ? c.labels.get(row) : undefined;
      return bitmap ? labelText(String.fromCharCode(...bitmap)) : [];
    },
    /** Whether tuple slot base (0 original, 2 reply) has a source / destination port (not ICMP). */
    hasPort(shape: number, base: number, dst: boolean): boolean {
      if (shape & (base ? SHAPE.ICMP_REPLY : SHAPE.ICMP_ORIGINAL)) return false;
      return (shape & (base ? (dst ? SHAPE.DPORT_REPLY : SHAPE.SPORT_REPLY) : dst ? SHAPE.DPORT_ORIGINAL : SHAPE.SPORT_ORIGINAL)) !== 0;
    },
    closedBy(row: number): 'client' | 'server' | undefined {
      if (c.state[row] === NO_STATE) return undefined;
      const shape = c.shape[row];
      const flags = c.tcpFlags[row];
      if (shape & SHAPE.FLAGS_ORIGINAL && (flags >>> 24) & CLOSE_INIT) return 'client';
      if (shape & SHAPE.FLAGS_REPLY && (flags >> 8) & 0xff & CLOSE_INIT) return 'server';
      return undefined;
    },
    /** The WAN cell's bytes by a row's WAN index, each WAN encoded once; undefined without the router view. */
    wanCell(encode: (name: string) => Uint8Array): (row: number) => Uint8Array | undefined {
      if (!uplink) return () => undefined;
      const { columns } = uplink;
      const cells: Uint8Array[] = [];
      return (row) => (cells[columns.wan[row] + 2] ??= encode(wanName(columns, row)));
    },
    stale: (row: number): boolean => uplink?.columns.stale[row] === 1,
  };
}

const protocolName = (p: number): string => PROTOCOL_NAMES[p] ?? String(p);

/** The body of a connections export: header, every row of the cursor, end. */
export function connectionExportBody(options: ConnectionExportOptions): ExportBody {
  const write = options.format === 'csv' ? csvRows(options) : jsonRows(options);
  const pieces = new Pieces();
  const rows = new Uint32Array(CLOCK_ROWS);
  let state: 'head' | 'rows' | 'done' = 'head';
  return () => {
    if (state === 'done') return null;
    if (state === 'head') {
      state = 'rows';
      return utf8(options.format === 'csv' ? csvHeader(CONNECTION_COLUMNS) : '[');
    }
    const started = performance.now();
    let written = 0;
    // Some rows in every piece however late the clock is (a busy machine): an empty piece is the end of the export.
    for (let n = -1; n !== 0 && written < CONNECTION_EXPORT_ROWS && (written === 0 || performance.now() - started < PIECE_MS); written += n) {
      n = options.rows.next(rows.subarray(0, CLOCK_ROWS));
      for (let i = 0; i < n; i++) write(pieces, rows[i]);
    }
    if (written > 0) return pieces.take();
    state = 'done';
    return options.format === 'json' ? utf8('\n]\n') : null;
  };
}

/** A snapshot this big is the first of a process to have the export's writers warmed (as its sorts are). */
const WARM_TABLE_ROWS = 100_000;
/** Rows the warm-up writes in each format: enough for V8 to optimise the row writers. */
const WARM_ROWS = 8192;
/** Rows per turn of the warm-up's WAN decisions (the first ones are router lookups in unoptimised code). */
const WARM_UPLINK_ROWS = 512;
/** A warm-up piece waits this long at most for pages being answered (backgroundTurn). */
const WARM_GIVE_WAY_MS = 250;
let exportWarmed = false;

/**
 * Once per process, on its first big snapshot: its first rows written in both formats and dropped, a piece per
 * turn, in the background (giving way to pages). The first export of a process wrote its first pieces in
 * unoptimised code: 7-13 ms each instead of 4, in the turns of the request, on top of what else the turn ran.
 * `router`: where the WAN decisions come from (the console's router view; none while it is unavailable).
 */
export async function warmConnectionExport(snapshot: Snapshot, router: () => Promise<UplinkLookups | undefined> = optionalService): Promise<void> {
  if (exportWarmed || snapshot.size < WARM_TABLE_ROWS) return;
  exportWarmed = true;
  const release = snapshot.lease();
  try {
    for (const format of ['csv', 'json'] as const) {
      let next = 0;
      const rows: RowCursor = {
        matched: WARM_ROWS,
        next(into) {
          let n = 0;
          for (; next < WARM_ROWS && n < into.length; n++) into[n] = next++;
          return n;
        },
      };
      const body = connectionExportBody({ snapshot, rows, format });
      while (body() !== null) await backgroundTurn(WARM_GIVE_WAY_MS);
    }
    // The WAN and stale decisions too (an export computes them for every row first): the same first rows.
    const service = await router();
    for (let from = 0; service && from < WARM_ROWS; from += WARM_UPLINK_ROWS) {
      uplinkOfRows(snapshot, service, Array.from({ length: WARM_UPLINK_ROWS }, (_, i) => from + i));
      await backgroundTurn(WARM_GIVE_WAY_MS);
    }
  } finally {
    release();
  }
}

type RowWriter = (pieces: Pieces, row: number) => void;

const COMMA = 44;

/** A looked-up cell and the comma after it. */
function cell(out: Uint8Array, at: number, bytes: Uint8Array): number {
  const w = put(out, at, bytes);
  out[w] = COMMA;
  return w + 1;
}

/** CSV: the cells of CONNECTION_COLUMNS, in its order (the test compares the two on every kind of row). */
function csvRows({ snapshot, uplink, names = consoleNames() }: ConnectionExportOptions): RowWriter {
  const r = rowReader(snapshot, uplink);
  const { c } = r;
  const field = cached((text: string): Uint8Array => utf8(csvField(text)));
  const protocol = Array.from({ length: 256 }, (_, p) => field(protocolName(p)));
  const state = TCP_STATES.map((s) => field(s));
  const status = numberCached((value: number) => field(statusNamesShown(value).join(' ')));
  const nameOf = addressCached(c, (text: string): Uint8Array => {
    const name = names.nameOf(text)?.name;
    return name === undefined ? EMPTY : field(name);
  });
  const service = numberCached((key: number): Uint8Array => {
    const name = names.serviceOf(protocolName(key >>> 16), key & 0xffff);
    return name === undefined ? EMPTY : field(name);
  });
  const wanCell = r.wanCell(field);
  const iso = isoWriter();
  const family = [ascii('ipv4'), ascii('ipv6')];
  const closed = { client: ascii('client'), server: ascii('server') };
  const staleText = [ascii('false'), ascii('true')];
  const crlf = ascii('\r\n');

  const address = r.writeAddress;
  /** sport, dst... of a tuple: the optional port cell, then a comma. */
  const port = (out: Uint8Array, w: number, present: boolean, value: number): number => {
    if (present) w = writeDecimal(out, w, value);
    out[w] = COMMA;
    return w + 1;
  };
  /** snat / dnat: address, or address:port, from a reply slot; then a comma. */
  const nat = (out: Uint8Array, w: number, row: number, applied: boolean, slot: number, hasPort: boolean, portValue: number): number => {
    if (applied) {
      w = address(out, w, row, slot);
      if (hasPort) {
        out[w++] = 58; // :
        w = writeDecimal(out, w, portValue);
      }
    }
    out[w] = COMMA;
    return w + 1;
  };

  return (pieces, row) => {
    const shape = c.shape[row];
    const p = c.protocol[row];
    const k = row * 4;
    const flags = c.status[row];
    const statusText = status(flags);
    const srcName = nameOf(row, 0);
    const dstName = nameOf(row, 1);
    const replySrcName = nameOf(row, 2);
    const replyDstName = nameOf(row, 3);
    const hasDport = r.hasPort(shape, 0, true);
    const serviceText = hasDport ? service((p << 16) | c.ports[k + 1]) : EMPTY;
    const helperName = c.helpers.size ? c.helpers.get(row) : undefined;
    const helper = helperName === undefined ? EMPTY : field(helperName);
    const labelNames = r.labels(row);
    const labels = labelNames.length ? field(labelNames.join(' ')) : EMPTY;
    const wan = wanCell(row);
    const variable = statusText.length + srcName.length + dstName.length + replySrcName.length + replyDstName.length + serviceText.length + helper.length + labels.length + (wan?.length ?? 0);
    const out = pieces.room(ROW_FIXED_BYTES + variable);
    let w = pieces.at;

    w = writeDecimal(out, w, shape & SHAPE.ID ? c.id[row] : 0);
    out[w++] = COMMA;
    w = cell(out, w, family[c.family[row] === FAMILY_V6 ? 1 : 0]);
    w = cell(out, w, protocol[p]);
    if (c.state[row] !== NO_STATE) w = put(out, w, state[c.state[row]]);
    out[w++] = COMMA;
    w = cell(out, w, statusText);
    w = address(out, w, row, 0);
    out[w++] = COMMA;
    w = port(out, w, r.hasPort(shape, 0, false), c.ports[k]);
    w = address(out, w, row, 1);
    out[w++] = COMMA;
    w = port(out, w, hasDport, c.ports[k + 1]);
    if (shape & SHAPE.ICMP_ORIGINAL) {
      const typeCode = c.ports[k + 1];
      w = writeDecimal(out, w, typeCode >> 8);
      out[w++] = 47; // /
      w = writeDecimal(out, w, typeCode & 0xff);
      out[w++] = 47;
      w = writeDecimal(out, w, c.ports[k]);
    }
    out[w++] = COMMA;
    w = address(out, w, row, 2);
    out[w++] = COMMA;
    const replySport = r.hasPort(shape, 2, false);
    const replyDport = r.hasPort(shape, 2, true);
    w = port(out, w, replySport, c.ports[k + 2]);
    w = address(out, w, row, 3);
    out[w++] = COMMA;
    w = port(out, w, replyDport, c.ports[k + 3]);
    // After SNAT the reply goes to the translated source (reply dst); after DNAT it comes from the real destination (reply src).
    w = nat(out, w, row, (flags & IPS.SRC_NAT) !== 0, 3, replyDport, c.ports[k + 3]);
    w = nat(out, w, row, (flags & IPS.DST_NAT) !== 0, 2, replySport, c.ports[k + 2]);
    w = writeDecimal(out, w, shape & SHAPE.MARK ? c.mark[row] : 0);
    out[w++] = COMMA;
    w = writeDecimal(out, w, c.zone[row]);
    out[w++] = COMMA;
    const counted = (shape & SHAPE.COUNTERS) !== 0;
    for (let i = 0; i < 4; i++) {
      if (counted) w = putNumber(out, w, u64(c.counters, row * 8 + 2 * i));
      out[w++] = COMMA;
    }
    if (shape & SHAPE.TIMESTAMP) w = iso(out, w, startedMs(c.started, row * 2));
    out[w++] = COMMA;
    const closer = r.closedBy(row);
    if (closer) w = put(out, w, closed[closer]);
    out[w++] = COMMA;
    w = cell(out, w, srcName);
    w = cell(out, w, dstName);
    w = cell(out, w, replySrcName);
    w = cell(out, w, replyDstName);
    w = cell(out, w, serviceText);
    w = writeDecimal(out, w, shape & SHAPE.TIMEOUT ? c.timeout[row] : 0);
    out[w++] = COMMA;
    w = writeDecimal(out, w, shape & SHAPE.USE ? c.use[row] : 0);
    out[w++] = COMMA;
    w = cell(out, w, helper);
    w = cell(out, w, labels);
    if (wan) w = put(out, w, wan);
    out[w++] = COMMA;
    if (wan) w = put(out, w, staleText[r.stale(row) ? 1 : 0]);
    pieces.at = put(out, w, crlf);
  };
}

/** JSON: each row as JSON.stringify writes its ApiConnection, keys in the same order (connection.ts, uplink-queries.ts). */
function jsonRows({ snapshot, uplink }: ConnectionExportOptions): RowWriter {
  const r = rowReader(snapshot, uplink);
  const { c } = r;
  const json = cached((text: string): Uint8Array => utf8(JSON.stringify(text)));
  const protocol = Array.from({ length: 256 }, (_, p) => json(protocolName(p)));
  const state = TCP_STATES.map((s) => json(s));
  const status = numberCached((value: number) => utf8(JSON.stringify(statusNamesShown(value))));
  const wanCell = r.wanCell(json);
  const labelsJson = cached((names: string[]) => utf8(JSON.stringify(names)));
  /** By external slot (3 SNAT: reply dst, 1 DNAT: original dst), by address. */
  const externalOf = (kind: ExternalKind) => addressCached(c, (text: string): Uint8Array => (uplink ? utf8(JSON.stringify(uplink.external(text, kind))) : EMPTY));
  const external = { 3: externalOf('snat'), 1: externalOf('dnat') };
  const iso = isoWriter();
  const K = {
    id: ascii('{"id":'),
    family: [ascii(',"family":"ipv4","protocol":'), ascii(',"family":"ipv6","protocol":')],
    protocolNumber: ascii(',"protocolNumber":'),
    status: ascii(',"status":'),
    mark: ascii(',"mark":'),
    zone: ascii(',"zone":'),
    original: ascii(',"original":'),
    reply: ascii(',"reply":'),
    src: ascii('{"src":"'),
    dst: ascii('","dst":"'),
    sport: ascii(',"sport":'),
    dport: ascii(',"dport":'),
    icmpType: ascii(',"icmp":{"type":'),
    icmpCode: ascii(',"code":'),
    icmpId: ascii(',"id":'),
    snat: ascii(',"nat":{"snat":'),
    dnat: ascii(',"dnat":'),
    address: ascii('{"address":"'),
    port: ascii(',"port":'),
    null: ascii('null'),
    state: ascii(',"state":'),
    counters: ascii(',"counters":{"original":{"packets":'),
    bytes: ascii(',"bytes":'),
    replyPackets: ascii('},"reply":{"packets":'),
    startedAt: ascii(',"startedAt":"'),
    closedBy: { client: ascii(',"closedBy":"client"'), server: ascii(',"closedBy":"server"') },
    timeout: ascii(',"timeout":'),
    use: ascii(',"use":'),
    helper: ascii(',"helper":'),
    labels: ascii(',"labels":'),
    wan: ascii(',"wan":'),
    stale: [ascii(',"stale":false'), ascii(',"stale":true')],
    external: ascii(',"external":'),
    first: ascii('\n'),
    next: ascii(',\n'),
  };
  let first = true;

  const address = r.writeAddress;
  const endpoint = (out: Uint8Array, w: number, row: number, shape: number, base: number): number => {
    const k = row * 4 + base;
    w = put(out, w, K.src);
    w = address(out, w, row, base);
    w = put(out, w, K.dst);
    w = address(out, w, row, base + 1);
    out[w++] = 34; // "
    if (shape & (base ? SHAPE.ICMP_REPLY : SHAPE.ICMP_ORIGINAL)) {
      const typeCode = c.ports[k + 1];
      w = put(out, w, K.icmpType);
      w = writeDecimal(out, w, typeCode >> 8);
      w = put(out, w, K.icmpCode);
      w = writeDecimal(out, w, typeCode & 0xff);
      w = put(out, w, K.icmpId);
      w = writeDecimal(out, w, c.ports[k]);
      out[w++] = 125; // }
    } else {
      if (r.hasPort(shape, base, false)) w = writeDecimal(out, put(out, w, K.sport), c.ports[k]);
      if (r.hasPort(shape, base, true)) w = writeDecimal(out, put(out, w, K.dport), c.ports[k + 1]);
    }
    // A zone bound to this direction (rare: most tables have none, so most rows never look).
    const zones = c.tupleZones.size ? c.tupleZones.get(row) : undefined;
    const zone = base ? zones?.reply : zones?.original;
    if (zone !== undefined) w = writeDecimal(out, put(out, w, K.zone), zone);
    out[w++] = 125; // }
    return w;
  };
  const natTarget = (out: Uint8Array, w: number, row: number, applied: boolean, slot: number, hasPort: boolean, portValue: number): number => {
    if (!applied) return put(out, w, K.null);
    w = put(out, w, K.address);
    w = address(out, w, row, slot);
    out[w++] = 34; // "
    if (hasPort) w = writeDecimal(out, put(out, w, K.port), portValue);
    out[w++] = 125; // }
    return w;
  };

  return (pieces, row) => {
    const shape = c.shape[row];
    const p = c.protocol[row];
    const k = row * 4;
    const flags = c.status[row];
    const statusText = status(flags);
    const helperName = c.helpers.size ? c.helpers.get(row) : undefined;
    const helper = helperName === undefined ? EMPTY : json(helperName);
    const labelNames = r.labels(row);
    const labels = labelNames.length ? labelsJson(labelNames) : EMPTY;
    const wan = wanCell(row);
    const slot = uplink ? externalSlot(flags) : -1;
    const externalText = slot === -1 ? EMPTY : external[slot](row, slot);
    const out = pieces.room(ROW_FIXED_BYTES + statusText.length + helper.length + labels.length + (wan?.length ?? 0) + externalText.length);
    let w = put(out, pieces.at, first ? K.first : K.next);
    first = false;

    w = writeDecimal(out, put(out, w, K.id), shape & SHAPE.ID ? c.id[row] : 0);
    w = put(out, w, K.family[c.family[row] === FAMILY_V6 ? 1 : 0]);
    w = put(out, w, protocol[p]);
    w = writeDecimal(out, put(out, w, K.protocolNumber), p);
    w = put(out, put(out, w, K.status), statusText);
    w = writeDecimal(out, put(out, w, K.mark), shape & SHAPE.MARK ? c.mark[row] : 0);
    w = writeDecimal(out, put(out, w, K.zone), c.zone[row]);
    w = endpoint(out, put(out, w, K.original), row, shape, 0);
    w = endpoint(out, put(out, w, K.reply), row, shape, 2);
    const replySport = r.hasPort(shape, 2, false);
    const replyDport = r.hasPort(shape, 2, true);
    w = natTarget(out, put(out, w, K.snat), row, (flags & IPS.SRC_NAT) !== 0, 3, replyDport, c.ports[k + 3]);
    w = natTarget(out, put(out, w, K.dnat), row, (flags & IPS.DST_NAT) !== 0, 2, replySport, c.ports[k + 2]);
    out[w++] = 125; // } of nat
    if (c.state[row] !== NO_STATE) w = put(out, put(out, w, K.state), state[c.state[row]]);
    if (shape & SHAPE.COUNTERS) {
      const n = row * 8;
      w = putNumber(out, put(out, w, K.counters), u64(c.counters, n));
      w = putNumber(out, put(out, w, K.bytes), u64(c.counters, n + 2));
      w = putNumber(out, put(out, w, K.replyPackets), u64(c.counters, n + 4));
      w = putNumber(out, put(out, w, K.bytes), u64(c.counters, n + 6));
      out[w++] = 125;
      out[w++] = 125;
    }
    if (shape & SHAPE.TIMESTAMP) {
      w = iso(out, put(out, w, K.startedAt), startedMs(c.started, row * 2));
      out[w++] = 34; // "
    }
    const closer = r.closedBy(row);
    if (closer) w = put(out, w, K.closedBy[closer]);
    w = writeDecimal(out, put(out, w, K.timeout), shape & SHAPE.TIMEOUT ? c.timeout[row] : 0);
    w = writeDecimal(out, put(out, w, K.use), shape & SHAPE.USE ? c.use[row] : 0);
    if (helperName !== undefined) w = put(out, put(out, w, K.helper), helper);
    if (labelNames.length) w = put(out, put(out, w, K.labels), labels);
    if (wan) {
      w = put(out, put(out, w, K.wan), wan);
      w = put(out, w, K.stale[r.stale(row) ? 1 : 0]);
    }
    if (slot !== -1) w = put(out, put(out, w, K.external), externalText);
    out[w++] = 125; // }
    pieces.at = w;
  };
}
