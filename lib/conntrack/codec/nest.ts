// Shared pieces of the attribute codecs: error paths and small readers the generic layer does not have.
import { CodecError, ValidationError } from '../errors';
import type { Attr } from '../netlink/attributes';

/** Runs decode and, if it throws a CodecError, names the enclosing attribute in front of its path. */
export function within<T>(segment: string, decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    if (err instanceof CodecError) throw err.within(segment);
    throw err;
  }
}

export function expectLength(attr: Attr, name: string, length: number): void {
  if (attr.end - attr.start !== length) throw new CodecError([name], `bad length ${attr.end - attr.start}, expected ${length}`);
}

export function missing(name: string): CodecError {
  return new CodecError([], `missing ${name}`);
}

/** s32 in network order (sequence offsets). */
export function readS32be(attr: Attr, name: string): number {
  expectLength(attr, name, 4);
  const b = attr.buf;
  const s = attr.start;
  return (b[s] << 24) | (b[s + 1] << 16) | (b[s + 2] << 8) | b[s + 3];
}

/** Range check for a value about to be encoded; a caller's bad value is a ValidationError, not a CodecError. */
export function checkUint(value: number, bits: 8 | 16 | 32, field: string): number {
  const max = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  if (!Number.isInteger(value) || value < 0 || value > max) throw new ValidationError(field, `${value} is not an unsigned ${bits}-bit number`);
  return value;
}

export function checkS32(value: number, field: string): number {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) throw new ValidationError(field, `${value} is not a signed 32-bit number`);
  return value;
}

export function checkU64(value: bigint, field: string): bigint {
  if (value < 0n || value > 0xffffffffffffffffn) throw new ValidationError(field, `${value} is not an unsigned 64-bit number`);
  return value;
}
