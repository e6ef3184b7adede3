// CTA_COUNTERS_ORIG / CTA_COUNTERS_REPLY <-> Counter (ctnetlink_dump_counters: PACKETS, BYTES, both be64).
import { CTA_COUNTERS } from '../constants';
import type { Counter } from '../types';
import { CTA_COUNTERS_NAMES } from './names';
import { scalarNest } from './scalar-nest';

const codec = scalarNest<Counter>({
  fields: [
    { type: CTA_COUNTERS.PACKETS, name: 'CTA_COUNTERS_PACKETS', key: 'packets', kind: 'u64' },
    { type: CTA_COUNTERS.BYTES, name: 'CTA_COUNTERS_BYTES', key: 'bytes', kind: 'u64' },
  ],
  names: CTA_COUNTERS_NAMES,
});

/** Decodes the attributes inside one CTA_COUNTERS_* nest. */
export const decodeCounter = codec.decode;
/** Writes counter as the nested attribute attrType (CTA_COUNTERS_ORIG or CTA_COUNTERS_REPLY). */
export const encodeCounter = codec.encode;
