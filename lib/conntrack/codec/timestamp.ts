// CTA_TIMESTAMP <-> { start, stop? } (ctnetlink_dump_timestamp: START, then STOP once the entry has died; be64 ns).
import { CTA_TIMESTAMP_ATTR as CTA_TIMESTAMP_ATTR_ } from '../constants';
import { forEachAttr as forEachAttr_, readU64be as readU64be_, type AttrWriter } from '../netlink/attributes';
import type { Connection, RawAttribute } from '../types';
import { CTA_TIMESTAMP_NAMES as CTA_TIMESTAMP_NAMES_ } from './names';
import { checkU64 as checkU64_, missing as missing_ } from './nest';
import { InPlaceWriter as InPlaceWriter_, keepRaw as keepRaw_ } from './raw';

// Imported bindings can compile to getters (CommonJS interop, bundlers), which cost more than the decoding on the
// per-attribute path; the hot code reads these module-local copies.
const CTA_TIMESTAMP_ATTR = CTA_TIMESTAMP_ATTR_;
const forEachAttr = forEachAttr_;
const readU64be = readU64be_;
const CTA_TIMESTAMP_NAMES = CTA_TIMESTAMP_NAMES_;
const checkU64 = checkU64_;
const missing = missing_;
const InPlaceWriter = InPlaceWriter_;
const keepRaw = keepRaw_;

export type Timestamp = NonNullable<Connection['timestamp']>;

/** Decodes the attributes inside CTA_TIMESTAMP. */
export function decodeTimestamp(buf: Uint8Array, start: number, end: number): Timestamp {
  let begin: bigint | undefined;
  let stop: bigint | undefined;
  let unknown: RawAttribute[] | undefined;
  let position = 0;
  forEachAttr(
    buf,
    start,
    end,
    (attr) => {
      if (attr.type === CTA_TIMESTAMP_ATTR.START) begin = readU64be(attr, 'CTA_TIMESTAMP_START');
      else if (attr.type === CTA_TIMESTAMP_ATTR.STOP) stop = readU64be(attr, 'CTA_TIMESTAMP_STOP');
      else unknown = keepRaw(unknown, attr, position);
      position++;
    },
    CTA_TIMESTAMP_NAMES,
  );
  if (begin === undefined) throw missing('CTA_TIMESTAMP_START');
  const timestamp: Timestamp = { start: begin };
  if (stop !== undefined) timestamp.stop = stop;
  if (unknown) timestamp.unknown = unknown;
  return timestamp;
}

/** Writes CTA_TIMESTAMP (nested). */
export function encodeTimestamp(timestamp: Timestamp, w: AttrWriter, attrType: number): void {
  w.nested(attrType, (inner) => {
    const level = new InPlaceWriter(inner, timestamp.unknown);
    level.next().u64be(CTA_TIMESTAMP_ATTR.START, checkU64(timestamp.start, 'timestamp.start'));
    if (timestamp.stop !== undefined) level.next().u64be(CTA_TIMESTAMP_ATTR.STOP, checkU64(timestamp.stop, 'timestamp.stop'));
    level.finish();
  });
}
