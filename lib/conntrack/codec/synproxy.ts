// CTA_SYNPROXY <-> Synproxy (ctnetlink_dump_ct_synproxy: ISN, ITS, TSOFF, be32). The kernel sends it for every
// entry that has the synproxy extension, all zero when no SYN proxy touched the connection.
import { CTA_SYNPROXY_ATTR as CTA_SYNPROXY_ATTR_ } from '../constants';
import { forEachAttr as forEachAttr_, readU32be as readU32be_, type AttrWriter } from '../netlink/attributes';
import type { RawAttribute, Synproxy } from '../types';
import { CTA_SYNPROXY_NAMES as CTA_SYNPROXY_NAMES_ } from './names';
import { checkUint as checkUint_, missing as missing_ } from './nest';
import { InPlaceWriter as InPlaceWriter_, keepRaw as keepRaw_ } from './raw';

// Imported bindings can compile to getters (CommonJS interop, bundlers), which cost more than the decoding on the
// per-attribute path; the hot code reads these module-local copies.
const CTA_SYNPROXY_ATTR = CTA_SYNPROXY_ATTR_;
const forEachAttr = forEachAttr_;
const readU32be = readU32be_;
const CTA_SYNPROXY_NAMES = CTA_SYNPROXY_NAMES_;
const checkUint = checkUint_;
const missing = missing_;
const InPlaceWriter = InPlaceWriter_;
const keepRaw = keepRaw_;

/** Decodes the attributes inside CTA_SYNPROXY. */
export function decodeSynproxy(buf: Uint8Array, start: number, end: number): Synproxy {
  let isn: number | undefined;
  let its: number | undefined;
  let tsoff: number | undefined;
  let unknown: RawAttribute[] | undefined;
  let position = 0;
  forEachAttr(
    buf,
    start,
    end,
    (attr) => {
      if (attr.type === CTA_SYNPROXY_ATTR.ISN) isn = readU32be(attr, 'CTA_SYNPROXY_ISN');
      else if (attr.type === CTA_SYNPROXY_ATTR.ITS) its = readU32be(attr, 'CTA_SYNPROXY_ITS');
      else if (attr.type === CTA_SYNPROXY_ATTR.TSOFF) tsoff = readU32be(attr, 'CTA_SYNPROXY_TSOFF');
      else unknown = keepRaw(unknown, attr, position);
      position++;
    },
    CTA_SYNPROXY_NAMES,
  );
  if (isn === undefined) throw missing('CTA_SYNPROXY_ISN');
  if (its === undefined) throw missing('CTA_SYNPROXY_ITS');
  if (tsoff === undefined) throw missing('CTA_SYNPROXY_TSOFF');
  const synproxy: Synproxy = { isn, its, tsoff };
  if (unknown) synproxy.unknown = unknown;
  return synproxy;
}

/** Writes CTA_SYNPROXY (nested). */
export function encodeSynproxy(synproxy: Synproxy, w: AttrWriter, attrType: number): void {
  w.nested(attrType, (inner) => {
    const level = new InPlaceWriter(inner, synproxy.unknown);
    level.next().u32be(CTA_SYNPROXY_ATTR.ISN, checkUint(synproxy.isn, 32, 'synproxy.isn'));
    level.next().u32be(CTA_SYNPROXY_ATTR.ITS, checkUint(synproxy.its, 32, 'synproxy.its'));
    level.next().u32be(CTA_SYNPROXY_ATTR.TSOFF, checkUint(synproxy.tsoff, 32, 'synproxy.tsoff'));
    level.finish();
  });
}
