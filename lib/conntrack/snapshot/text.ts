// Free text: each row as the console shows it (rowText), lower-case, searched with a substring match. The text is
// never written for the search: TextSearch reads the columns through the needle's automaton, a field at a time,
// so a million rows take a fraction of a second, no memory beyond the answer, and a step per TEXT_STEP_ROWS rows
// lets the event loop run between steps.
import { formatIPv6, isMapped as isMapped_, writeDecimal as writeDecimal_, writeIPv4 as writeIPv4_, writeIPv6 as writeIPv6_, zeroRun as zeroRun_ } from '@/lib/netlink/address';
import { IPS as IPS_, PROTOCOL_NAMES, TCP_STATES } from '../constants';
import { FAMILY_V6 as FAMILY_V6_, NO_STATE as NO_STATE_, PORTED as PORTED_, type Columns } from './columns';
import { blocks, type Steps } from './order';

// Imported bindings can compile to getters (CommonJS interop), which cost more than the writing on the per-row
// path; the hot code reads these module-local copies (as the builder does).
const writeDecimal = writeDecimal_;
const writeIPv4 = writeIPv4_;
const writeIPv6 = writeIPv6_;
const isMapped = isMapped_;
const zeroRun = zeroRun_;
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

/** The text of one row, as the search sees it: the reference the matcher is tested against. */
export function rowText(c: Columns, row: number): string {
  const name = c.helpers.get(row);
  const helper = name === undefined ? undefined : ascii(name);
  const out = new Uint8Array(ROW_BYTES + (helper?.length ?? 0));
  return Buffer.from(out.buffer, 0, writeRow(c, row, out, 0, helper)).toString('utf8');
}

/** Rows a search step covers at most: about a millisecond of work, so a server lets the event loop run between steps. */
export const TEXT_STEP_ROWS = 8192;
/** Rows searched at a time within a step, and the time after which a step stops early (the first search of a process runs unoptimised code). */
export const TEXT_BLOCK_ROWS = 1024;
export const TEXT_STEP_MS = 4;

const SPACE = 32;
const COLON = 58;
const DOT = 46;
const OPEN = 91; // [
const CLOSE = 93; // ]

const asciiSet = (text: string): Uint8Array => {
  const set = new Uint8Array(256);
  for (let i = 0; i < text.length; i++) set[text.charCodeAt(i)] = 1;
  return set;
};
const DIGITS = '0123456789';
/** Every byte an endpoint can be spelt with: IPv4, IPv6 (hex, IPv4-mapped), brackets, the port's colon. */
const ENDPOINT_BYTES = asciiSet(`${DIGITS}abcdef.:[]`);
const ID_BYTES = asciiSet(DIGITS);
const MARK_BYTES = asciiSet(`mark=${DIGITS}`);
const ZONE_BYTES = asciiSet(`zone=${DIGITS}`);

const FAMILY_TEXT = [IPV4_TEXT, IPV6_TEXT];
const STATE_OR_NONE: readonly Uint8Array[] = Array.from({ length: 256 }, (_, s) => (s === NO_STATE ? new Uint8Array(0) : (STATE_TEXT[s] ?? new Uint8Array(0))));

/** The automaton's state after bytes[0, to) from state s. */
function walk(next: Uint32Array, s: number, bytes: ArrayLike<number>, to: number): number {
  let state = s;
  for (let i = 0; i < to; i++) state = next[state * 256 + bytes[i]];
  return state;
}

/**
 * The automaton's state after each number below 1000 from every state, table[state * 1000 + n]: as written (group)
 * and zero-padded to three digits (padded), built a digit at a time from the automaton's digit transitions, a
 * state at a time between looks at the clock.
 */
function* decimalTables(next: Uint32Array, found: number): Steps<{ group: Uint32Array; padded: Uint32Array }> {
  const states = found + 1;
  const group = new Uint32Array(states * 1000);
  const padded = new Uint32Array(states * 1000);
  yield* blocks(states, (lo, hi) => decimalStates(next, group, padded, lo, hi), 1);
  return { group, padded };
}

/** decimalTables() for the states [lo, hi). */
function decimalStates(next: Uint32Array, group: Uint32Array, padded: Uint32Array, lo: number, hi: number): void {
  for (let s = lo; s < hi; s++) {
    const at = s * 1000;
    for (let a = 0; a < 10; a++) {
      const sa = next[s * 256 + 48 + a];
      for (let b = 0; b < 10; b++) {
        const sab = next[sa * 256 + 48 + b];
        for (let c = 0; c < 10; c++) padded[at + a * 100 + b * 10 + c] = next[sab * 256 + 48 + c];
      }
    }
    // n as written: one digit below 10, two below 100 (the padded state after "0" + those digits is not the same).
    for (let n = 0; n < 10; n++) group[at + n] = next[s * 256 + 48 + n];
    for (let n = 10; n < 100; n++) group[at + n] = next[next[s * 256 + 48 + ((n / 10) | 0)] * 256 + 48 + (n % 10)];
    group.set(padded.subarray(at + 100, at + 1000), at + 100);
  }
}

/** The automaton's state after n (below 10^12) in decimal from state s: three digits a step. */
function walkDecimal(group: Uint32Array, padded: Uint32Array, s: number, n: number): number {
  if (n < 1000) return group[s * 1000 + n];
  if (n < 1_000_000) {
    const high = (n / 1000) | 0;
    return padded[group[s * 1000 + high] * 1000 + n - high * 1000];
  }
  let state: number;
  if (n < 1_000_000_000) {
    state = group[s * 1000 + ((n / 1_000_000) | 0)];
  } else {
    const top = Math.floor(n / 1_000_000_000);
    state = padded[group[s * 1000 + top] * 1000 + Math.floor(n / 1_000_000) - top * 1000];
  }
  const rest = n % 1_000_000;
  const middle = (rest / 1000) | 0;
  return padded[padded[state * 1000 + middle] * 1000 + rest - middle * 1000];
}

/** The automaton's state after an IPv4 address (a column's uint32) as dotted quad. */
function walkIPv4(group: Uint32Array, octetDot: Uint32Array, s: number, value: number): number {
  let state = octetDot[s * 256 + (value >>> 24)];
  state = octetDot[state * 256 + ((value >>> 16) & 255)];
  state = octetDot[state * 256 + ((value >>> 8) & 255)];
  return group[state * 1000 + (value & 255)];
}

const MAPPED = ascii('::ffff:');

/** The automaton's tables for reading hex: a byte without leading zero (hex[state * 256 + byte]) and as two digits (hex2). */
interface HexTables {
  hex: Uint32Array;
  hex2: Uint32Array;
}

/**
 * The automaton's state after the IPv6 address at buf[offset...] as writeIPv6 spells it (RFC 5952: groups in hex
 * without leading zeros, the longest zero run as "::", IPv4-mapped as ::ffff:a.b.c.d), a byte of a group a step.
 */
function walkIPv6(next: Uint32Array, h: HexTables, group: Uint32Array, octetDot: Uint32Array, s: number, buf: ArrayLike<number>, offset: number): number {
  let state = s;
  if (isMapped(buf, offset)) {
    state = walk(next, state, MAPPED, MAPPED.length);
    return walkIPv4(group, octetDot, state, ((buf[offset + 12] << 24) | (buf[offset + 13] << 16) | (buf[offset + 14] << 8) | buf[offset + 15]) >>> 0);
  }
  const run = zeroRun(buf, offset);
  const bestStart = run < 0 ? -1 : run >> 4;
  const bestLength = run & 15;
  let needColon = false;
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      state = next[next[state * 256 + COLON] * 256 + COLON];
      g += bestLength - 1;
      needColon = false;
      continue;
    }
    if (needColon) state = next[state * 256 + COLON];
    const high = buf[offset + 2 * g];
    const low = buf[offset + 2 * g + 1];
    state = high === 0 ? h.hex[state * 256 + low] : h.hex2[h.hex[state * 256 + high] * 256 + low];
    needColon = true;
  }
  return state;
}

/** The hex tables from the automaton's transitions, a state at a time between looks at the clock. */
function* hexTables(next: Uint32Array, found: number): Steps<HexTables> {
  const hex = new Uint32Array((found + 1) * 256);
  const hex2 = new Uint32Array((found + 1) * 256);
  yield* blocks(found + 1, (lo, hi) => hexStates(next, hex, hex2, lo, hi), 1);
  return { hex, hex2 };
}

/** hexTables() for the states [lo, hi). */
function hexStates(next: Uint32Array, hex: Uint32Array, hex2: Uint32Array, lo: number, hi: number): void {
  const digit = (d: number): number => (d < 10 ? 48 + d : 87 + d);
  for (let s = lo; s < hi; s++) {
    for (let b = 0; b < 256; b++) {
      const high = next[s * 256 + digit(b >> 4)];
      hex2[s * 256 + b] = next[high * 256 + digit(b & 15)];
      hex[s * 256 + b] = b < 16 ? next[s * 256 + digit(b)] : hex2[s * 256 + b];
    }
  }
}

/** t[state * values.length + v]: the state after values[v] from each state of [lo, hi). */
function valueTable(next: Uint32Array, t: Uint32Array, values: readonly Uint8Array[], lo: number, hi: number): void {
  for (let s = lo; s < hi; s++) for (let v = 0; v < values.length; v++) t[s * values.length + v] = walk(next, s, values[v], values[v].length);
}

/** ports[v] for v of [lo, hi): whether port v as written (its thousands, then three padded digits) is the needle's end. */
function portTable(group: Uint32Array, padded: Uint32Array, found: number, ports: Uint8Array, lo: number, hi: number): void {
  for (let v = lo; v < hi; v++) {
    const high = (v / 1000) | 0;
    ports[v] = (high ? padded[group[high] * 1000 + v - high * 1000] : group[v]) === found ? 1 : 0;
  }
}

/** groups[v] for v of [lo, hi): whether IPv6 group v in hex without leading zeros (its high byte, then two digits) is. */
function groupTable(h: HexTables, found: number, groups: Uint8Array, lo: number, hi: number): void {
  const { hex, hex2 } = h;
  for (let v = lo; v < hi; v++) groups[v] = (v < 256 ? hex[v] : hex2[hex[v >> 8] * 256 + (v & 255)]) === found ? 1 : 0;
}

/** Which fields of a row a needle can occur in (all of them when it has a space). */
interface Fields {
  id: boolean;
  family: boolean;
  protocol: boolean;
  endpoints: boolean;
  state: boolean;
  status: boolean;
  mark: boolean;
  zone: boolean;
}

/** Which ports, IPv6 groups and octets contain the needle (see TextSearch's tokens). */
interface Tokens {
  ports: Uint8Array;
  groups: Uint8Array;
  someGroup: boolean;
  octets: Uint8Array | undefined;
  someOctet: boolean;
}

/** What TextSearch.steps() builds for the search. */
interface Parts {
  hit: number;
  next: Uint32Array;
  apart: boolean;
  read: Fields;
  decimals: { group: Uint32Array; padded: Uint32Array };
  octetDot: Uint32Array;
  hex: HexTables;
  markPrefix: Uint32Array;
  zonePrefix: Uint32Array;
  tokens: Tokens | undefined;
  family: Uint32Array;
  protocol: Uint32Array;
  state: Uint32Array;
  status: Uint32Array;
}

/**
 * Which rows' text (rowText) contains a needle, without writing the text: the needle becomes a byte automaton (KMP;
 * state = how many of the needle's bytes end the text read so far; its length = found, which it keeps), and each
 * field of a row is read as a few precomputed steps of it (a protocol name, an octet, three digits of a number:
 * the state after them from every state), a field at a time over a step's rows. When the needle has no space,
 * every field starts afresh (the space between fields takes any state but found back to 0), so a field the needle
 * cannot occur in (a "tcp" in an address, an "ipv6" in an id) is not read at all.
 */
export class TextSearch {
  private readonly c: Columns;
  /** The needle's length in bytes: the found state. */
  private readonly hit: number;
  /** next[state * 256 + byte]. */
  private readonly next: Uint32Array;
  /** Whether the needle has no space: every field then starts afresh, in any order. */
  private readonly apart: boolean;
  /** Which fields to read: all when the needle has a space, else those it can occur in. */
  private readonly read: Fields;
  private readonly decimals: { group: Uint32Array; padded: Uint32Array };
  /** An octet and the dot after it: octetDot[state * 256 + octet] (an octet alone is a decimal group). */
  private readonly octetDot: Uint32Array;
  private readonly hex: HexTables;
  /** The state after "mark=" and "zone=" from every state. */
  private readonly markPrefix: Uint32Array;
  private readonly zonePrefix: Uint32Array;
  /**
   * With none of space, colon and brackets in the needle, an endpoint's address, its port and each IPv6 group are
   * read apart (each starts afresh), as which of their values contain the needle: the ports, the IPv6 groups and,
   * without a dot in the needle, the octets (else an IPv4 address is read whole).
   */
  private readonly tokens: Tokens | undefined;
  private readonly family: Uint32Array;
  private readonly protocol: Uint32Array;
  private readonly state: Uint32Array;
  private readonly status: Uint32Array;
  /** The rows with a helper (few), in order, and each name's bytes. */
  private readonly helperRows: Uint32Array;
  private readonly helperText = new Map<string, Uint8Array>();
  private states = new Uint32Array(0);

  private constructor(c: Columns, parts: Parts) {
    this.c = c;
    this.hit = parts.hit;
    this.next = parts.next;
    this.apart = parts.apart;
    this.read = parts.read;
    this.decimals = parts.decimals;
    this.octetDot = parts.octetDot;
    this.hex = parts.hex;
    this.markPrefix = parts.markPrefix;
    this.zonePrefix = parts.zonePrefix;
    this.tokens = parts.tokens;
    this.family = parts.family;
    this.protocol = parts.protocol;
    this.state = parts.state;
    this.status = parts.status;
    this.helperRows = Uint32Array.from(c.helpers.keys()).sort();
    for (const name of c.helpers.values()) if (!this.helperText.has(name)) this.helperText.set(name, ascii(name));
  }

  /**
   * The search for a needle, its tables built in steps (blocks(): a step ends once the turn has run a few ms): a
   * process's first search runs them unoptimised, and the port and IPv6 group tables alone are 65,536 entries each
   * (22 ms in one turn for "443" on a cold server).
   */
  static *steps(c: Columns, needle: Uint8Array): Steps<TextSearch> {
    const n = needle.length;
    const states = n + 1;
    const next = new Uint32Array(states * 256);
    if (n) next[needle[0]] = 1;
    // The usual KMP automaton: state s copies the transitions of its longest proper border x, then advances on its own byte.
    for (let s = 1, x = 0; s < n; s++) {
      next.copyWithin(s * 256, x * 256, x * 256 + 256);
      next[s * 256 + needle[s]] = s + 1;
      x = next[x * 256 + needle[s]];
    }
    next.fill(n, n * 256);
    const family = new Uint32Array(states * FAMILY_TEXT.length);
    const protocol = new Uint32Array(states * PROTOCOL_TEXT.length);
    const state = new Uint32Array(states * STATE_OR_NONE.length);
    const status = new Uint32Array(states * STATUS_TEXT.length);
    yield* blocks(
      states,
      (lo, hi) => {
        for (const [t, values] of [[family, FAMILY_TEXT], [protocol, PROTOCOL_TEXT], [state, STATE_OR_NONE], [status, STATUS_TEXT]] as const) valueTable(next, t, values, lo, hi);
      },
      1,
    );
    const all = needle.includes(SPACE);
    const within = (bytes: Uint8Array): boolean => all || needle.every((b) => bytes[b] === 1);
    /** Whether one of the values, read from the start, contains the needle. */
    const inAny = (t: Uint32Array, values: number): boolean => all || t.subarray(0, values).includes(n);
    const read = {
      id: within(ID_BYTES),
      family: inAny(family, FAMILY_TEXT.length),
      protocol: inAny(protocol, PROTOCOL_TEXT.length),
      endpoints: within(ENDPOINT_BYTES),
      state: inAny(state, STATE_OR_NONE.length),
      status: inAny(status, STATUS_TEXT.length),
      mark: within(MARK_BYTES),
      zone: within(ZONE_BYTES),
    };
    const numeric = read.id || read.endpoints || read.mark || read.zone;
    const decimals = numeric ? yield* decimalTables(next, n) : { group: new Uint32Array(0), padded: new Uint32Array(0) };
    const { group, padded } = decimals;
    const octetDot = new Uint32Array(read.endpoints ? states * 256 : 0);
    if (read.endpoints) for (let s = 0; s <= n; s++) for (let o = 0; o < 256; o++) octetDot[s * 256 + o] = next[group[s * 1000 + o] * 256 + DOT];
    const hex = read.endpoints ? yield* hexTables(next, n) : { hex: new Uint32Array(0), hex2: new Uint32Array(0) };
    const prefix = (text: Uint8Array): Uint32Array => Uint32Array.from({ length: states }, (_, s) => walk(next, s, text, text.length));
    const apart = (byte: number): boolean => !needle.includes(byte);
    let tokens: Tokens | undefined;
    if (read.endpoints && !all && apart(COLON) && apart(OPEN) && apart(CLOSE)) {
      // A port is its thousands then three padded digits; a group its high byte then two hex digits.
      const ports = new Uint8Array(65536);
      yield* blocks(65536, (lo, hi) => portTable(group, padded, n, ports, lo, hi));
      const groups = new Uint8Array(65536);
      yield* blocks(65536, (lo, hi) => groupTable(hex, n, groups, lo, hi));
      let octets: Uint8Array | undefined;
      if (apart(DOT)) {
        octets = new Uint8Array(256);
        for (let v = 0; v < 256; v++) if (group[v] === n) octets[v] = 1;
      }
      tokens = { ports, groups, someGroup: groups.includes(1), octets, someOctet: octets === undefined || octets.includes(1) };
    }
    const parts: Parts = { hit: n, next, apart: !all, read, decimals, octetDot, hex, markPrefix: prefix(MARK_TEXT), zonePrefix: prefix(ZONE_TEXT), tokens, family, protocol, state, status };
    return new TextSearch(c, parts);
  }

  /** Marks found[row] = 1 for the rows of [from, to) whose text contains the needle. */
  rows(from: number, to: number, found: Uint8Array): void {
    const c = this.c;
    const count = to - from;
    const hit = this.hit;
    const next = this.next;
    const read = this.read;
    const { group, padded } = this.decimals;
    if (this.states.length < count) this.states = new Uint32Array(count);
    const states = this.states;
    states.fill(0, 0, count);
    // Each field in turn for the rows not yet found, then the space after it. Fields read apart may come in any
    // order: the id (every row's digits) then comes last, for the rows the others did not find.
    const id = c.id;
    if (read.id && !this.apart) for (let i = 0; i < count; i++) states[i] = next[walkDecimal(group, padded, 0, id[from + i]) * 256 + SPACE];
    if (read.family) {
      const t = this.family;
      const family = c.family;
      for (let i = 0; i < count; i++) if (states[i] !== hit) states[i] = next[t[states[i] * 2 + (family[from + i] === FAMILY_V6 ? 1 : 0)] * 256 + SPACE];
    }
    if (read.protocol) {
      const t = this.protocol;
      const protocol = c.protocol;
      for (let i = 0; i < count; i++) if (states[i] !== hit) states[i] = next[t[states[i] * 256 + protocol[from + i]] * 256 + SPACE];
    }
    if (read.endpoints && this.tokens) this.endpointTokens(from, count, states);
    else if (read.endpoints) {
      const { addr, ports, v6, protocol, family } = c;
      const { octetDot, hex } = this;
      for (let k = 0; k < 4; k++) {
        for (let i = 0; i < count; i++) {
          let s = states[i];
          if (s === hit) continue;
          const row = from + i;
          const value = addr[row * 4 + k];
          const ported = PORTED[protocol[row]];
          if (family[row] === FAMILY_V6) {
            if (ported) s = next[s * 256 + OPEN];
            s = walkIPv6(next, hex, group, octetDot, s, v6, value * 16);
            if (ported) s = next[s * 256 + CLOSE];
          } else {
            s = walkIPv4(group, octetDot, s, value);
          }
          if (ported) s = walkDecimal(group, padded, next[s * 256 + COLON], ports[row * 4 + k]);
          states[i] = next[s * 256 + SPACE];
        }
      }
    }
    if (read.state) {
      const t = this.state;
      const state = c.state;
      for (let i = 0; i < count; i++) if (states[i] !== hit) states[i] = next[t[states[i] * 256 + state[from + i]] * 256 + SPACE];
    }
    if (read.status) {
      const t = this.status;
      const status = c.status;
      for (let i = 0; i < count; i++) if (states[i] !== hit) states[i] = next[t[states[i] * 32 + statusBits(status[from + i])] * 256 + SPACE];
    }
    if (read.mark) this.prefixed(c.mark, this.markPrefix, from, count, states);
    if (read.zone) this.prefixed(c.zone, this.zonePrefix, from, count, states);
    if (read.id && this.apart) for (let i = 0; i < count; i++) if (states[i] !== hit && walkDecimal(group, padded, 0, id[from + i]) === hit) states[i] = hit;
    // The helper, last: only the few rows that have one.
    const rows = this.helperRows;
    for (let h = lowerBound(rows, from); h < rows.length && rows[h] < to; h++) {
      const i = rows[h] - from;
      const text = this.helperText.get(c.helpers.get(rows[h]) as string) as Uint8Array;
      if (states[i] !== hit) states[i] = walk(next, states[i], text, text.length);
    }
    for (let i = 0; i < count; i++) if (states[i] === hit) found[from + i] = 1;
  }

  /** A "mark=" or "zone=" field: the prefix and the number when it is not 0, nothing when it is. */
  private prefixed(column: Columns['mark'] | Columns['zone'], prefix: Uint32Array, from: number, count: number, states: Uint32Array): void {
    const { hit, next } = this;
    const { group, padded } = this.decimals;
    for (let i = 0; i < count; i++) {
      const s = states[i];
      if (s === hit) continue;
      const value = column[from + i];
      states[i] = next[(value ? walkDecimal(group, padded, prefix[s], value) : s) * 256 + SPACE];
    }
  }

  /** The endpoints read apart (see tokens): whether an address, its port or an IPv6 group of it contains the needle. */
  private endpointTokens(from: number, count: number, states: Uint32Array): void {
    const { addr, ports: portColumn, v6, protocol, family } = this.c;
    const { ports, groups, someGroup, octets, someOctet } = this.tokens as Tokens;
    const { octetDot, hex, next } = this;
    const { group } = this.decimals;
    const hit = this.hit;
    // A group "0" is the needle "0": only then do the zero groups "::" stands for matter (the address is walked).
    const zeroGroup = groups[0] === 1;
    const v4 = (value: number): boolean =>
      octets ? someOctet && (octets[value >>> 24] | octets[(value >>> 16) & 255] | octets[(value >>> 8) & 255] | octets[value & 255]) === 1 : walkIPv4(group, octetDot, 0, value) === hit;
    for (let i = 0; i < count; i++) {
      if (states[i] === hit) continue;
      const row = from + i;
      const ported = PORTED[protocol[row]] === 1;
      let found = false;
      for (let k = 0; k < 4 && !found; k++) {
        const value = addr[row * 4 + k];
        if (ported && ports[portColumn[row * 4 + k]]) found = true;
        else if (family[row] !== FAMILY_V6) found = v4(value);
        else if (zeroGroup) found = walkIPv6(next, hex, group, octetDot, 0, v6, value * 16) === hit;
        else if (isMapped(v6, value * 16)) found = groups[0xffff] === 1 || v4(((v6[value * 16 + 12] << 24) | (v6[value * 16 + 13] << 16) | (v6[value * 16 + 14] << 8) | v6[value * 16 + 15]) >>> 0);
        else if (someGroup) for (let g = value * 16; g < value * 16 + 16 && !found; g += 2) found = groups[(v6[g] << 8) | v6[g + 1]] === 1;
      }
      if (found) states[i] = hit;
    }
  }
}

/** The first index of a sorted array whose value is >= value. */
function lowerBound(sorted: Uint32Array, value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle] < value) low = middle + 1;
    else high = middle;
  }
  return low;
}
