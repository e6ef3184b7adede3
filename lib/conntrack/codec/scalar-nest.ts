// The shape shared by the small nested families whose members are plain numbers (counters, timestamps, sequence
// adjustments, synproxy, and the flat CT_GET_STATS body): decode every member into a field, keep unknown attributes
// in place, and write the members back in kernel order. Each family module is just its field table.
import { readU32be as readU32be_, readU64be as readU64be_, type AttrWriter } from '../netlink/attributes';
import { ValidationError } from '../errors';
import type { RawAttribute } from '../types';
import { checkS32 as checkS32_, checkU64 as checkU64_, checkUint as checkUint_, missing as missing_, readS32be as readS32be_ } from './nest';
import { decodeLevel as decodeLevel_, InPlaceWriter as InPlaceWriter_ } from './raw';

// Imported bindings can compile to getters (CommonJS interop, bundlers), which cost more than the decoding on the
// per-attribute path; the hot code reads these module-local copies.
const readU32be = readU32be_;
const readU64be = readU64be_;
const readS32be = readS32be_;
const checkS32 = checkS32_;
const checkU64 = checkU64_;
const checkUint = checkUint_;
const missing = missing_;
const InPlaceWriter = InPlaceWriter_;
const decodeLevel = decodeLevel_;

type Kind = 'u32' | 's32' | 'u64';
type ValueOf<K extends Kind> = K extends 'u64' ? bigint : number;

/** One member: its attribute type and C name, the field it fills, its width, and whether the kernel may omit it. */
export interface ScalarField<T> {
  type: number;
  name: string;
  key: keyof T & string;
  kind: Kind;
  optional?: boolean;
}

export interface ScalarNestCodec<T extends { unknown?: RawAttribute[] }> {
  /** Decodes the members in buf[start, end) (the inside of the nest, or a flat message body). */
  decode(buf: Uint8Array, start: number, end: number): T;
  /** Writes the members as the nested attribute attrType. */
  encode(value: T, w: AttrWriter, attrType: number): void;
  /** Writes the members at the writer's own level (a flat message body such as CT_GET_STATS). */
  encodeLevel(value: T, w: AttrWriter): void;
}

/**
 * A decode/encode pair for a nest of numbers. `names` gives errors their C names; `label` prefixes the field in a
 * ValidationError on encode (e.g. 'timestamp.').
 */
export function scalarNest<T extends { unknown?: RawAttribute[] }>(options: {
  fields: readonly ScalarField<T>[];
  names: Readonly<Record<number, string>>;
  label?: string;
}): ScalarNestCodec<T> {
  const { fields, names } = options;
  const label = options.label ?? '';
  const byType = new Map(fields.map((field) => [field.type, field]));
  const read = (kind: Kind, attr: Parameters<typeof readU32be>[0], name: string): number | bigint =>
    kind === 'u64' ? readU64be(attr, name) : kind === 's32' ? readS32be(attr, name) : readU32be(attr, name);
  const check = <K extends Kind>(kind: K, value: ValueOf<K>, field: string): ValueOf<K> =>
    (kind === 'u64' ? checkU64(value as bigint, field) : kind === 's32' ? checkS32(value as number, field) : checkUint(value as number, 32, field)) as ValueOf<K>;

  const encodeLevel = (value: T, w: AttrWriter): void => {
    const level = new InPlaceWriter(w, value.unknown);
    for (const field of fields) {
      const member = value[field.key] as unknown as number | bigint | undefined;
      if (member === undefined) {
        if (field.optional) continue;
        throw new ValidationError(`${label}${field.key}`, 'is required');
      }
      const checked = check(field.kind, member, `${label}${field.key}`);
      if (field.kind === 'u64') level.next().u64be(field.type, checked as bigint);
      else level.next().u32be(field.type, checked as number);
    }
    level.finish();
  };

  return {
    decode(buf, start, end) {
      const out: Record<string, number | bigint | RawAttribute[]> = {};
      const unknown = decodeLevel(buf, start, end, names, (attr) => {
        const field = byType.get(attr.type);
        if (!field) return false;
        out[field.key] = read(field.kind, attr, field.name);
        return true;
      });
      for (const field of fields) if (!field.optional && out[field.key] === undefined) throw missing(field.name);
      if (unknown) out.unknown = unknown;
      return out as unknown as T;
    },
    encodeLevel,
    encode(value, w, attrType) {
      w.nested(attrType, (inner) => encodeLevel(value, inner));
    },
  };
}
