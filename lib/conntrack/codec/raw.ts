// Attributes a codec does not model: kept with their position, written back in place. Every level uses these two.
import { attrBytes, type Attr, type AttrWriter } from '../netlink/attributes';
import type { RawAttribute } from '../types';

/** Appends attr to list (created on first use, so the common case allocates nothing). */
export function keepRaw(list: RawAttribute[] | undefined, attr: Attr, position: number): RawAttribute[] {
  const kept: RawAttribute = { type: attr.type, nested: attr.nested, data: attrBytes(attr), position };
  if (list) {
    list.push(kept);
    return list;
  }
  return [kept];
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
