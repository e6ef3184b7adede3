// CTA_HELP <-> helper name (ctnetlink_dump_helpinfo: CTA_HELP_NAME, then whatever the helper's to_nlattr adds,
// kept raw) and CTA_SECCTX <-> security context name (ctnetlink_dump_secctx: CTA_SECCTX_NAME).
import { CTA_HELP as CTA_HELP_, CTA_SECCTX as CTA_SECCTX_ } from '../constants';
import { readString as readString_, type AttrWriter } from '../netlink/attributes';
import type { RawAttribute } from '../types';
import { CTA_HELP_NAMES as CTA_HELP_NAMES_, CTA_SECCTX_NAMES as CTA_SECCTX_NAMES_ } from './names';
import { decodeLevel as decodeLevel_, InPlaceWriter as InPlaceWriter_ } from './raw';

// Imported bindings can compile to getters (CommonJS interop, bundlers), which cost more than the decoding on the
// per-attribute path; the hot code reads these module-local copies.
const CTA_HELP = CTA_HELP_;
const CTA_SECCTX = CTA_SECCTX_;
const readString = readString_;
const CTA_HELP_NAMES = CTA_HELP_NAMES_;
const CTA_SECCTX_NAMES = CTA_SECCTX_NAMES_;
const InPlaceWriter = InPlaceWriter_;
const decodeLevel = decodeLevel_;

/** A nest that holds one string attribute; everything else in it is kept raw. */
export interface NamedNest {
  name?: string;
  unknown?: RawAttribute[];
}

function decodeNamed(buf: Uint8Array, start: number, end: number, nameType: number, names: Readonly<Record<number, string>>): NamedNest {
  const nest: NamedNest = {};
  const unknown = decodeLevel(buf, start, end, names, (attr) => {
    if (attr.type !== nameType) return false;
    nest.name = readString(attr);
    return true;
  });
  if (unknown) nest.unknown = unknown;
  return nest;
}

function encodeNamed(nest: NamedNest, w: AttrWriter, attrType: number, nameType: number): void {
  w.nested(attrType, (inner) => {
    const level = new InPlaceWriter(inner, nest.unknown);
    if (nest.name !== undefined) level.next().string(nameType, nest.name);
    level.finish();
  });
}

/** Decodes the attributes inside CTA_HELP. */
export const decodeHelp = (buf: Uint8Array, start: number, end: number): NamedNest =>
  decodeNamed(buf, start, end, CTA_HELP.NAME, CTA_HELP_NAMES);

/** Writes CTA_HELP (nested). */
export const encodeHelp = (help: NamedNest, w: AttrWriter, attrType: number): void => encodeNamed(help, w, attrType, CTA_HELP.NAME);

/** Decodes the attributes inside CTA_SECCTX. */
export const decodeSecctx = (buf: Uint8Array, start: number, end: number): NamedNest =>
  decodeNamed(buf, start, end, CTA_SECCTX.NAME, CTA_SECCTX_NAMES);

/** Writes CTA_SECCTX (nested). */
export const encodeSecctx = (secctx: NamedNest, w: AttrWriter, attrType: number): void =>
  encodeNamed(secctx, w, attrType, CTA_SECCTX.NAME);
