// Attributes a codec does not model: kept with their position, written back in place. Every level decodes with
// decodeLevel and encodes with InPlaceWriter, so no level treats unknown attributes differently.
import { attrAt as attrAt_, attrBytes as attrBytes_, hasAttr as hasAttr_, nextAttr as nextAttr_, type Attr, type AttrWriter } from '../netlink/attributes';
import type { RawAttribute } from '../types';

// Imported bindings can compile to getters (CommonJS interop, bundlers); decodeLevel runs once per attribute of
// every decoded entry, so it reads module-local copies.
const attrAt = attrAt_;
const attrBytes = attrBytes_;
const hasAttr = hasAttr_;
const nextAttr = nextAttr_;

/** Appends attr to list (created on first use, so the common case allocates nothing). */
function keepRaw(list: RawAttribute[] | undefined, attr: Attr, position: number): RawAttribute[] {
  const kept: RawAttribute = { type: attr.type, nested: attr.nested, data: attrBytes(attr), position };
  if (list) {
    list.push(kept);
    return list;
  }
  return [kept];
}

/**
 * Walks the attributes of one level, buf[start, end): `decode` takes each one it models and returns false for one it
 * does not, which is kept (type, bytes and position among its siblings). Returns the kept ones, if any. Its own loop,
 * not forEachAttr with a wrapper: one indirect call per attribute instead of two.
 */
export function decodeLevel(
  buf: Uint8Array,
  start: number,
  end: number,
  names: Readonly<Record<number, string>>,
  decode: (attr: Attr) => boolean,
): RawAttribute[] | undefined {
  let unknown: RawAttribute[] | undefined;
  for (let offset = start, position = 0; hasAttr(offset, end); position++) {
    const attr = attrAt(buf, offset, end, names);
    if (!decode(attr)) unknown = keepRaw(unknown, attr, position);
    offset = nextAttr(attr);
  }
  return unknown;
}

/**
 * Writes the modelled attributes of one level in kernel order and slots the kept ones back at their positions:
 * call `next()` before each modelled attribute and `finish()` after the last.
 */
export class InPlaceWriter {
  private written = 0;
  private index = 0;

  constructor(
    readonly w: AttrWriter,
    private readonly unknown: readonly RawAttribute[] | undefined,
  ) {}

  next(): AttrWriter {
    const unknown = this.unknown;
    if (unknown) {
      while (this.index < unknown.length && (unknown[this.index].position ?? Infinity) <= this.written) {
        this.writeRaw(unknown[this.index++]);
      }
    }
    this.written++;
    return this.w;
  }

  finish(): void {
    const unknown = this.unknown;
    if (unknown) while (this.index < unknown.length) this.writeRaw(unknown[this.index++]);
  }

  private writeRaw(attr: RawAttribute): void {
    this.w.raw(attr.type, attr.nested, attr.data);
    this.written++;
  }
}
