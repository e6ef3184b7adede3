// The address attributes (CTA_IP_V4_*, CTA_IP_V6_*): 4 or 16 bytes <-> canonical strings (lib/netlink/address.ts
// formats them). Encoding is strict: text that is not an address of the tuple's family is a ValidationError.
import { ValidationError } from '../errors';
import { formatIPv4, formatIPv6, type Family } from '@/lib/netlink/address';

export const addressLength = (family: Family): number => (family === 'ipv4' ? 4 : 16);

/** The canonical string for the 4 (ipv4) or 16 (ipv6) bytes at buf[offset]. */
export function decodeAddress(buf: Uint8Array, offset: number, family: Family): string {
  return family === 'ipv4' ? formatIPv4(buf, offset) : formatIPv6(buf, offset);
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Dotted quad text[from, to) into out[offset..offset+4). No leading zeros (they read as octal elsewhere). */
function parseIPv4Into(text: string, from: number, to: number, out: Uint8Array, offset: number): boolean {
  let part = 0;
  let i = from;
  while (part < 4) {
    const start = i;
    let value = 0;
    while (i < to && isDigit(text.charCodeAt(i)) && i - start < 3) value = value * 10 + text.charCodeAt(i++) - 48;
    const digits = i - start;
    if (digits === 0 || value > 255 || (digits > 1 && text.charCodeAt(start) === 48)) return false;
    out[offset + part++] = value;
    if (part < 4) {
      if (i >= to || text.charCodeAt(i) !== 46) return false;
      i++;
    }
  }
  return i === to;
}

function parseIPv6Into(text: string, out: Uint8Array): boolean {
  const n = text.length;
  const groups: number[] = [];
  let gap = -1;
  let i = 0;
  if (n >= 2 && text.charCodeAt(0) === 58 && text.charCodeAt(1) === 58) {
    gap = 0;
    i = 2;
  }
  while (i < n) {
    const start = i;
    let value = 0;
    while (i < n && i - start < 5 && hexValue(text.charCodeAt(i)) >= 0) value = value * 16 + hexValue(text.charCodeAt(i++));
    if (i < n && text.charCodeAt(i) === 46) {
      // An IPv4 tail fills the last two groups.
      const tail = new Uint8Array(4);
      if (groups.length > 6 || !parseIPv4Into(text, start, n, tail, 0)) return false;
      groups.push((tail[0] << 8) | tail[1], (tail[2] << 8) | tail[3]);
      i = n;
      break;
    }
    const digits = i - start;
    if (digits === 0 || digits > 4) return false;
    groups.push(value);
    if (i === n) break;
    if (text.charCodeAt(i) !== 58) return false;
    i++;
    if (text.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = groups.length;
      i++;
    } else if (i === n) {
      return false;
    }
  }
  if (gap < 0 ? groups.length !== 8 : groups.length > 7) return false;
  const fill = 8 - groups.length;
  for (let g = 0, k = 0; g < 8; g++) {
    const value = gap >= 0 && g >= gap && g < gap + fill ? 0 : groups[k++];
    out[2 * g] = value >> 8;
    out[2 * g + 1] = value & 0xff;
  }
  return true;
}

/** Address text to its 4 or 16 network-order bytes; ValidationError when it is not an address of that family. */
export function encodeAddress(address: string, family: Family, field = 'address'): Uint8Array {
  const out = new Uint8Array(addressLength(family));
  const ok = family === 'ipv4' ? parseIPv4Into(address, 0, address.length, out, 0) : parseIPv6Into(address, out);
  if (!ok) throw new ValidationError(field, `not an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address: ${JSON.stringify(address)}`);
  return out;
}
