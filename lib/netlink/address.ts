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

export function formatIPv6(buf: ArrayLike<number>, offset: number): string {
  let mapped = buf[offset + 10] === 0xff && buf[offset + 11] === 0xff;
  for (let i = 0; mapped && i < 10; i++) if (buf[offset + i] !== 0) mapped = false;
  if (mapped) return `::ffff:${formatIPv4(buf, offset + 12)}`;

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
  if (bestLength < 2) bestStart = -1;

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
