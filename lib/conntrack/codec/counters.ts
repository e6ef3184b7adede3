// CTA_COUNTERS_ORIG / CTA_COUNTERS_REPLY <-> Counter (ctnetlink_dump_counters: PACKETS, BYTES, both be64).
import { CTA_COUNTERS as CTA_COUNTERS_ } from '../constants';
import { forEachAttr as forEachAttr_, readU64be as readU64be_, type AttrWriter } from '../netlink/attributes';
import type { Counter, RawAttribute } from '../types';
import { CTA_COUNTERS_NAMES as CTA_COUNTERS_NAMES_ } from './names';
import { checkU64 as checkU64_, missing as missing_ } from './nest';
import { InPlaceWriter as InPlaceWriter_, keepRaw as keepRaw_ } from './raw';

// Imported bindings can compile to getters (CommonJS interop, bundlers), which cost more than the decoding on the
// per-attribute path; the hot code reads these module-local copies.
const CTA_COUNTERS = CTA_COUNTERS_;
const forEachAttr = forEachAttr_;
const readU64be = readU64be_;
const CTA_COUNTERS_NAMES = CTA_COUNTERS_NAMES_;
const checkU64 = checkU64_;
const missing = missing_;
const InPlaceWriter = InPlaceWriter_;
const keepRaw = keepRaw_;

/** Decodes the attributes inside one CTA_COUNTERS_* nest. */
export function decodeCounter(buf: Uint8Array, start: number, end: number): Counter {
  let packets: bigint | undefined;
  let bytes: bigint | undefined;
  let unknown: RawAttribute[] | undefined;
  let position = 0;
  forEachAttr(
    buf,
    start,
    end,
    (attr) => {
      if (attr.type === CTA_COUNTERS.PACKETS) packets = readU64be(attr, 'CTA_COUNTERS_PACKETS');
      else if (attr.type === CTA_COUNTERS.BYTES) bytes = readU64be(attr, 'CTA_COUNTERS_BYTES');
      else unknown = keepRaw(unknown, attr, position);
      position++;
    },
    CTA_COUNTERS_NAMES,
  );
  if (packets === undefined) throw missing('CTA_COUNTERS_PACKETS');
  if (bytes === undefined) throw missing('CTA_COUNTERS_BYTES');
  const counter: Counter = { packets, bytes };
  if (unknown) counter.unknown = unknown;
  return counter;
}

/** Writes counter as the nested attribute attrType (CTA_COUNTERS_ORIG or CTA_COUNTERS_REPLY). */
export function encodeCounter(counter: Counter, w: AttrWriter, attrType: number): void {
  w.nested(attrType, (inner) => {
    const level = new InPlaceWriter(inner, counter.unknown);
    level.next().u64be(CTA_COUNTERS.PACKETS, checkU64(counter.packets, 'packets'));
    level.next().u64be(CTA_COUNTERS.BYTES, checkU64(counter.bytes, 'bytes'));
    level.finish();
  });
}
