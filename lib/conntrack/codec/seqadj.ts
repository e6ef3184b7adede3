// CTA_SEQ_ADJ_ORIG / CTA_SEQ_ADJ_REPLY <-> SeqAdj (dump_ct_seq_adj: CORRECTION_POS, OFFSET_BEFORE, OFFSET_AFTER, be32).
import { CTA_SEQADJ as CTA_SEQADJ_ } from '../constants';
import { forEachAttr as forEachAttr_, readU32be as readU32be_, type AttrWriter } from '../netlink/attributes';
import type { RawAttribute, SeqAdj } from '../types';
import { CTA_SEQADJ_NAMES as CTA_SEQADJ_NAMES_ } from './names';
import { checkUint as checkUint_, missing as missing_, readS32be as readS32be_ } from './nest';
import { InPlaceWriter as InPlaceWriter_, keepRaw as keepRaw_ } from './raw';
import { ValidationError } from '../errors';

// Imported bindings can compile to getters (CommonJS interop, bundlers), which cost more than the decoding on the
// per-attribute path; the hot code reads these module-local copies.
const CTA_SEQADJ = CTA_SEQADJ_;
const forEachAttr = forEachAttr_;
const readU32be = readU32be_;
const CTA_SEQADJ_NAMES = CTA_SEQADJ_NAMES_;
const checkUint = checkUint_;
const missing = missing_;
const readS32be = readS32be_;
const InPlaceWriter = InPlaceWriter_;
const keepRaw = keepRaw_;

/** Decodes the attributes inside one CTA_SEQ_ADJ_* nest. */
export function decodeSeqAdj(buf: Uint8Array, start: number, end: number): SeqAdj {
  let correctionPos: number | undefined;
  let offsetBefore: number | undefined;
  let offsetAfter: number | undefined;
  let unknown: RawAttribute[] | undefined;
  let position = 0;
  forEachAttr(
    buf,
    start,
    end,
    (attr) => {
      if (attr.type === CTA_SEQADJ.CORRECTION_POS) correctionPos = readU32be(attr, 'CTA_SEQADJ_CORRECTION_POS');
      else if (attr.type === CTA_SEQADJ.OFFSET_BEFORE) offsetBefore = readS32be(attr, 'CTA_SEQADJ_OFFSET_BEFORE');
      else if (attr.type === CTA_SEQADJ.OFFSET_AFTER) offsetAfter = readS32be(attr, 'CTA_SEQADJ_OFFSET_AFTER');
      else unknown = keepRaw(unknown, attr, position);
      position++;
    },
    CTA_SEQADJ_NAMES,
  );
  if (correctionPos === undefined) throw missing('CTA_SEQADJ_CORRECTION_POS');
  if (offsetBefore === undefined) throw missing('CTA_SEQADJ_OFFSET_BEFORE');
  if (offsetAfter === undefined) throw missing('CTA_SEQADJ_OFFSET_AFTER');
  const seqAdj: SeqAdj = { correctionPos, offsetBefore, offsetAfter };
  if (unknown) seqAdj.unknown = unknown;
  return seqAdj;
}

function checkS32(value: number, field: string): number {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) throw new ValidationError(field, `${value} is not a signed 32-bit number`);
  return value;
}

/** Writes seqAdj as the nested attribute attrType (CTA_SEQ_ADJ_ORIG or CTA_SEQ_ADJ_REPLY). */
export function encodeSeqAdj(seqAdj: SeqAdj, w: AttrWriter, attrType: number): void {
  w.nested(attrType, (inner) => {
    const level = new InPlaceWriter(inner, seqAdj.unknown);
    level.next().u32be(CTA_SEQADJ.CORRECTION_POS, checkUint(seqAdj.correctionPos, 32, 'correctionPos'));
    level.next().u32be(CTA_SEQADJ.OFFSET_BEFORE, checkS32(seqAdj.offsetBefore, 'offsetBefore'));
    level.next().u32be(CTA_SEQADJ.OFFSET_AFTER, checkS32(seqAdj.offsetAfter, 'offsetAfter'));
    level.finish();
  });
}
