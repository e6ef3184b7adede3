// CTA_TIMESTAMP <-> { start, stop? } (ctnetlink_dump_timestamp: START, then STOP once the entry has died; be64 ns).
import { CTA_TIMESTAMP_ATTR } from '../constants';
import type { Connection } from '../types';
import { CTA_TIMESTAMP_NAMES } from './names';
import { scalarNest } from './scalar-nest';

export type Timestamp = NonNullable<Connection['timestamp']>;

const codec = scalarNest<Timestamp>({
  fields: [
    { type: CTA_TIMESTAMP_ATTR.START, name: 'CTA_TIMESTAMP_START', key: 'start', kind: 'u64' },
    { type: CTA_TIMESTAMP_ATTR.STOP, name: 'CTA_TIMESTAMP_STOP', key: 'stop', kind: 'u64', optional: true },
  ],
  names: CTA_TIMESTAMP_NAMES,
  label: 'timestamp.',
});

/** Decodes the attributes inside CTA_TIMESTAMP. */
export const decodeTimestamp = codec.decode;
/** Writes CTA_TIMESTAMP (nested). */
export const encodeTimestamp = codec.encode;
