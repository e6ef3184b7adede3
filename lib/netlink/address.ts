// IPv4 and IPv6 addresses, as every netlink protocol carries them (4 or 16 network-order bytes) and as people read
// and type them. Bytes -> canonical text: IPv4 dotted quad, IPv6 per RFC 5952 (lower case, the longest run of two or
// more zero groups compressed, the first such run on a tie, IPv4-mapped as ::ffff:a.b.c.d); formatting runs for
// every address of every dumped entry: table lookups and plain loops, no regex, no scratch arrays. Text -> bytes:
// the addresses and prefixes of filters and settings.
import { isIPv4, isIPv6 } from 'node:net';

export type Family = 'ipv4' | 'ipv6';

const DEC: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));
/** Byte as hex without leading zeros ("0".."ff"), for the high byte of a group. */
const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16));
/** Byte as two hex digits, for the low byte of a group whose high byte is not zero. */
const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function formatIPv4(buf: ArrayLike<number>, offset: number): string {
  return `${DEC[buf[offset]]}.${DEC[buf[offset + 1]]}.${DEC[buf[offset + 2]]}.${DEC[buf[offset + 3]]}`;
}

/** Whether the 16 bytes at buf[offset] are an IPv4-mapped address (::ffff:a.b.c.d). */
export function isMapped(buf: ArrayLike<number>, offset: number): boolean {
  if (buf[offset + 10] !== 0xff || buf[offset + 11] !== 0xff) return false;
  for (let i = 0; i < 10; i++) if (buf[offset + i] !== 0) return false;
  return true;
}

/** The run of zero groups "::" stands for: start * 16 + length, or -1 (RFC 5952: the longest of two or more, the first on a tie). */
export function zeroRun(buf: ArrayLike<number>, offset: number): number {
  let bestStart = -1;
  let bestLength = 0;
  let runStart = -1;
  for (let g = 0; g < 8; g++) {
    if (buf[offset + 2 * g] === 0 && buf[offset + 2 * g + 1] === 0) {
      if (runStart < 0) runStart = g;
      if (g - runStart + 1 > bestLength) {
        bestStart = runStart;
        bestLength = g - runStart + 1;
      }
    } else {
      runStart = -1;
    }
  }
  // RFC 5952 4.2.2: "::" never stands for a single zero group.
  return bestLength < 2 ? -1 : bestStart * 16 + bestLength;
}

export function formatIPv6(buf: ArrayLike<number>, offset: number): string {
  if (isMapped(buf, offset)) return `::ffff:${formatIPv4(buf, offset + 12)}`;
  const run = zeroRun(buf, offset);
  const bestStart = run < 0 ? -1 : run >> 4;
  const bestLength = run & 15;
  let out = '';
  let needColon = false;
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      out += '::';
      g += bestLength - 1;
      needColon = false;
      continue;
    }
    const hi = buf[offset + 2 * g];
    const lo = buf[offset + 2 * g + 1];
    const group = hi === 0 ? HEX[lo] : HEX[hi] + HEX2[lo];
    out += needColon ? `:${group}` : group;
    needColon = true;
  }
  return out;
}

/** Writes n (a whole number below 2^53) in decimal at out[at...) and returns where it ends. */
export function writeDecimal(out: Uint8Array, at: number, n: number): number {
  // Integer division by 10 with `| 0` below 2^31 (every port, octet and most ids); Math.floor above.
  if (n >= 0x80000000) {
    const high = Math.floor(n / 100000);
    const w = writeDecimal(out, at, high);
    let x = n - high * 100000;
    for (let i = w + 4; i >= w; i--) {
      const q = (x / 10) | 0;
      out[i] = 48 + x - q * 10;
      x = q;
    }
    return w + 5;
  }
  const digits = n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : n < 100000 ? 5 : n < 1000000 ? 6 : n < 10000000 ? 7 : n < 100000000 ? 8 : n < 1000000000 ? 9 : 10;
  let x = n;
  for (let i = at + digits - 1; i > at; i--) {
    const q = (x / 10) | 0;
    out[i] = 48 + x - q * 10;
    x = q;
  }
  out[at] = 48 + x;
  return at + digits;
}

/** Each octet's decimal digits, for writeIPv4. */
const OCTET_DIGITS: readonly Uint8Array[] = Array.from({ length: 256 }, (_, i) => Uint8Array.from(String(i), (ch) => ch.charCodeAt(0)));

/** The IPv4 address in a uint32 (as a snapshot column holds it) as dotted-quad bytes at out[at...); returns the end. */
export function writeIPv4(out: Uint8Array, at: number, value: number): number {
  let w = at;
  for (let shift = 24; shift >= 0; shift -= 8) {
    const digits = OCTET_DIGITS[(value >>> shift) & 255];
    for (let i = 0; i < digits.length; i++) out[w++] = digits[i];
    if (shift) out[w++] = 46;
  }
  return w;
}

const HEX_DIGITS = Uint8Array.from('0123456789abcdef', (ch) => ch.charCodeAt(0));

/** formatIPv6 as ASCII bytes at out[at...) (no string per address); returns where they end. */
export function writeIPv6(buf: ArrayLike<number>, offset: number, out: Uint8Array, at: number): number {
  let w = at;
  if (isMapped(buf, offset)) {
    for (const ch of [58, 58, 102, 102, 102, 102, 58]) out[w++] = ch; // "::ffff:"
    return writeIPv4(out, w, ((buf[offset + 12] << 24) | (buf[offset + 13] << 16) | (buf[offset + 14] << 8) | buf[offset + 15]) >>> 0);
  }
  const run = zeroRun(buf, offset);
  const bestStart = run < 0 ? -1 : run >> 4;
  const bestLength = run & 15;
  let needColon = false;
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      out[w++] = 58;
      out[w++] = 58;
      g += bestLength - 1;
      needColon = false;
      continue;
    }
    if (needColon) out[w++] = 58;
    const group = (buf[offset + 2 * g] << 8) | buf[offset + 2 * g + 1];
    // Hex without leading zeros, as HEX / HEX2 spell it.
    let started = false;
    for (let shift = 12; shift >= 0; shift -= 4) {
      const digit = (group >> shift) & 15;
      if (digit || started || shift === 0) {
        out[w++] = HEX_DIGITS[digit];
        started = true;
      }
    }
    needColon = true;
  }
  return w;
}

export interface Prefix {
  family: Family;
  /** Network bytes (4 or 16), host bits cleared. */
  bytes: Uint8Array;
  /** Prefix length in bits. */
  length: number;
  /** The text as given, for messages. */
  text: string;
}

function parseIPv4(text: string): Uint8Array {
  const out = new Uint8Array(4);
  const parts = text.split('.');
  for (let i = 0; i < 4; i++) out[i] = Number(parts[i]);
  return out;
}

function parseIPv6(text: string): Uint8Array {
  const out = new Uint8Array(16);
  let body = text;
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes the last two groups.
  const lastColon = body.lastIndexOf(':');
  const tail = body.slice(lastColon + 1);
  let tailBytes: Uint8Array | undefined;
  if (tail.includes('.')) {
    tailBytes = parseIPv4(tail);
    body = `${body.slice(0, lastColon + 1)}0:0`;
  }
  const [head, rest] = body.split('::') as [string, string | undefined];
  const headGroups = head ? head.split(':') : [];
  const restGroups = rest === undefined ? [] : rest ? rest.split(':') : [];
  const groups = rest === undefined ? headGroups : [...headGroups, ...Array<string>(8 - headGroups.length - restGroups.length).fill('0'), ...restGroups];
  for (let i = 0; i < 8; i++) {
    const value = parseInt(groups[i], 16);
    out[i * 2] = value >> 8;
    out[i * 2 + 1] = value & 0xff;
  }
  if (tailBytes) out.set(tailBytes, 12);
  return out;
}

/** An IPv4 or IPv6 address as bytes, or undefined when the text is not one. */
export function parseAddress(text: string): { family: Family; bytes: Uint8Array } | undefined {
  if (isIPv4(text)) return { family: 'ipv4', bytes: parseIPv4(text) };
  if (isIPv6(text) && !text.includes('%')) return { family: 'ipv6', bytes: parseIPv6(text) };
  return undefined;
}

/** "192.0.2.0/24", "2001:db8::/32" or a bare address (a full-length prefix). Returns a reason when invalid. */
export function parsePrefix(text: string): Prefix | string {
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const address = parseAddress(addressText);
  if (!address) return `"${addressText}" is not an IPv4 or IPv6 address`;
  const max = address.family === 'ipv4' ? 32 : 128;
  let length = max;
  if (slash >= 0) {
    const lengthText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lengthText) || Number(lengthText) > max) return `prefix length must be 0..${max}`;
    length = Number(lengthText);
  }
  const bytes = address.bytes;
  for (let bit = length; bit < max; bit++) bytes[bit >> 3] &= ~(0x80 >> (bit & 7));
  return { family: address.family, bytes, length, text };
}

/** Whether addr (4 or 16 bytes, at offset) lies inside prefix. */
export function prefixContains(prefix: Prefix, addr: ArrayLike<number>, offset = 0): boolean {
  const full = prefix.length >> 3;
  for (let i = 0; i < full; i++) if (addr[offset + i] !== prefix.bytes[i]) return false;
  const rest = prefix.length & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (addr[offset + full] & mask) === prefix.bytes[full];
}

/** IPv4 prefix as (network, mask) u32 pair, for matching numeric columns. */
export function ipv4PrefixMask(prefix: Prefix): { network: number; mask: number } {
  const b = prefix.bytes;
  const network = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  const mask = prefix.length === 0 ? 0 : (0xffffffff << (32 - prefix.length)) >>> 0;
  return { network: (network & mask) >>> 0, mask };
}
