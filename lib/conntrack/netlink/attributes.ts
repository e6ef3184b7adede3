// Generic netlink attribute (struct nlattr) reading and writing. Knows nothing of what the types mean.
import { CodecError } from '../errors';
import { NLA_F_NESTED as NLA_F_NESTED_, NLA_HDRLEN as NLA_HDRLEN_, NLA_TYPE_MASK as NLA_TYPE_MASK_ } from '../constants';

// Imported bindings can compile to getters (CommonJS interop, bundlers); forEachAttr runs once per attribute of
// every dumped entry, so it reads module-local copies.
const NLA_F_NESTED = NLA_F_NESTED_;
const NLA_HDRLEN = NLA_HDRLEN_;
const NLA_TYPE_MASK = NLA_TYPE_MASK_;

export const align4 = (n: number): number => (n + 3) & ~3;

/** One attribute as found in a buffer: its type (flags masked off) and the payload's position. */
export interface Attr {
  type: number;
  nested: boolean;
  /** The buffer the attribute lives in; the payload is buf[start, end). */
  buf: Uint8Array;
  start: number;
  end: number;
}

/**
 * The attribute whose header is at buf[offset] (end bounds the level); throws CodecError for a length that is shorter
 * than the header or runs past the end. `names` (type -> C name) only makes the error path readable. The next
 * attribute starts at nextAttr(attr).
 */
export function attrAt(buf: Uint8Array, offset: number, end: number, names?: Readonly<Record<number, string>>): Attr {
  const len = buf[offset] | (buf[offset + 1] << 8);
  const rawType = buf[offset + 2] | (buf[offset + 3] << 8);
  if (len < NLA_HDRLEN || offset + len > end) {
    const type = rawType & NLA_TYPE_MASK;
    const name = names?.[type] ?? `attribute ${type}`;
    if (len < NLA_HDRLEN) throw new CodecError([name], `bad length ${len}`);
    throw new CodecError([name], `length ${len} runs past the end (${end - offset} bytes left)`);
  }
  return { type: rawType & NLA_TYPE_MASK, nested: (rawType & NLA_F_NESTED) !== 0, buf, start: offset + NLA_HDRLEN, end: offset + len };
}

/** Where the attribute after attr starts: its payload padded to 4 bytes. */
export const nextAttr = (attr: Attr): number => attr.start + align4(attr.end - attr.start);

/** Whether buf[offset, end) still holds an attribute header (trailing padding shorter than one is allowed). */
export const hasAttr = (offset: number, end: number): boolean => end - offset >= NLA_HDRLEN;

/** Walks the attributes in buf[start, end), calling visit for each (errors as attrAt says). */
export function forEachAttr(
  buf: Uint8Array,
  start: number,
  end: number,
  visit: (attr: Attr) => void,
  names?: Readonly<Record<number, string>>,
): void {
  for (let offset = start; hasAttr(offset, end); ) {
    const attr = attrAt(buf, offset, end, names);
    visit(attr);
    offset = nextAttr(attr);
  }
}

/** All attributes of buf[start, end) in order. */
export function parseAttrs(buf: Uint8Array, start = 0, end = buf.length): Attr[] {
  const attrs: Attr[] = [];
  forEachAttr(buf, start, end, (attr) => attrs.push(attr));
  return attrs;
}

export const attrLength = (attr: Attr): number => attr.end - attr.start;
/** A copy of the payload (Buffer#slice would alias the receive buffer, so copy into a plain Uint8Array). */
export const attrBytes = (attr: Attr): Uint8Array => new Uint8Array(attr.buf.subarray(attr.start, attr.end));

function expectLength(attr: Attr, path: string, length: number): void {
  if (attr.end - attr.start !== length) {
    throw new CodecError([path], `bad length ${attr.end - attr.start}, expected ${length}`);
  }
}

export function readU8(attr: Attr, path: string): number {
  expectLength(attr, path, 1);
  return attr.buf[attr.start];
}

export function readU16be(attr: Attr, path: string): number {
  expectLength(attr, path, 2);
  return (attr.buf[attr.start] << 8) | attr.buf[attr.start + 1];
}

export function readU32be(attr: Attr, path: string): number {
  expectLength(attr, path, 4);
  const b = attr.buf;
  const s = attr.start;
  return ((b[s] << 24) | (b[s + 1] << 16) | (b[s + 2] << 8) | b[s + 3]) >>> 0;
}

export function readU64be(attr: Attr, path: string): bigint {
  expectLength(attr, path, 8);
  const b = attr.buf;
  const s = attr.start;
  const hi = ((b[s] << 24) | (b[s + 1] << 16) | (b[s + 2] << 8) | b[s + 3]) >>> 0;
  const lo = ((b[s + 4] << 24) | (b[s + 5] << 16) | (b[s + 6] << 8) | b[s + 7]) >>> 0;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** A NUL-terminated (or not) string attribute. */
export function readString(attr: Attr): string {
  // Look for the NUL inside the attribute only: the rest of the buffer is not this attribute's.
  let end = attr.start;
  while (end < attr.end && attr.buf[end] !== 0) end++;
  return Buffer.from(attr.buf.buffer, attr.buf.byteOffset + attr.start, end - attr.start).toString('utf8');
}

/**
 * Builds a sequence of attributes. Nested attributes are written with NLA_F_NESTED (the kernel requires it
 * for some, e.g. CTA_FILTER, and accepts it everywhere).
 */
export class AttrWriter {
  private chunks: Uint8Array[] = [];
  private length = 0;

  private header(type: number, payloadLength: number): void {
    const h = new Uint8Array(NLA_HDRLEN);
    const len = NLA_HDRLEN + payloadLength;
    // nla_len is 16 bits: a longer attribute cannot be expressed, and wrapping would corrupt the message.
    if (len > 0xffff) throw new RangeError(`attribute ${type & NLA_TYPE_MASK}: payload of ${payloadLength} bytes is too long`);
    h[0] = len & 0xff;
    h[1] = len >> 8;
    h[2] = type & 0xff;
    h[3] = type >> 8;
    this.push(h);
  }

  private push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  private pad(payloadLength: number): void {
    const padding = align4(payloadLength) - payloadLength;
    if (padding) this.push(new Uint8Array(padding));
  }

  bytes(type: number, payload: Uint8Array): this {
    this.header(type, payload.length);
    this.push(payload);
    this.pad(payload.length);
    return this;
  }

  u8(type: number, value: number): this {
    return this.bytes(type, Uint8Array.of(value & 0xff));
  }

  u16be(type: number, value: number): this {
    return this.bytes(type, Uint8Array.of((value >> 8) & 0xff, value & 0xff));
  }

  u32be(type: number, value: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, value >>> 0, false);
    return this.bytes(type, b);
  }

  /** Host-endian u32 (only CTA_FILTER_ORIG_FLAGS / CTA_FILTER_REPLY_FLAGS are sent so). */
  u32host(type: number, value: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, value >>> 0, true);
    return this.bytes(type, b);
  }

  u64be(type: number, value: bigint): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, value, false);
    return this.bytes(type, b);
  }

  string(type: number, value: string): this {
    const text = Buffer.from(value, 'utf8');
    const b = new Uint8Array(text.length + 1);
    b.set(text);
    return this.bytes(type, b);
  }

  nested(type: number, build: (inner: AttrWriter) => void, options: { flag?: boolean } = {}): this {
    const inner = new AttrWriter();
    build(inner);
    return this.bytes(type | (options.flag === false ? 0 : NLA_F_NESTED), inner.finish());
  }

  /** A kept raw attribute, written back as it came (type flags included). */
  raw(type: number, nested: boolean, payload: Uint8Array): this {
    return this.bytes(type | (nested ? NLA_F_NESTED : 0), payload);
  }

  get size(): number {
    return this.length;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}
