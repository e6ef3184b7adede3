// CTA_SYNPROXY <-> Synproxy (ctnetlink_dump_ct_synproxy: ISN, ITS, TSOFF, be32). The kernel sends it for every
// entry that has the synproxy extension, all zero when no SYN proxy touched the connection.
import { CTA_SYNPROXY_ATTR } from '../constants';
import type { Synproxy } from '../types';
import { CTA_SYNPROXY_NAMES } from './names';
import { scalarNest } from './scalar-nest';

const codec = scalarNest<Synproxy>({
  fields: [
    { type: CTA_SYNPROXY_ATTR.ISN, name: 'CTA_SYNPROXY_ISN', key: 'isn', kind: 'u32' },
    { type: CTA_SYNPROXY_ATTR.ITS, name: 'CTA_SYNPROXY_ITS', key: 'its', kind: 'u32' },
    { type: CTA_SYNPROXY_ATTR.TSOFF, name: 'CTA_SYNPROXY_TSOFF', key: 'tsoff', kind: 'u32' },
  ],
  names: CTA_SYNPROXY_NAMES,
  label: 'synproxy.',
});

/** Decodes the attributes inside CTA_SYNPROXY. */
export const decodeSynproxy = codec.decode;
/** Writes CTA_SYNPROXY (nested). */
export const encodeSynproxy = codec.encode;
