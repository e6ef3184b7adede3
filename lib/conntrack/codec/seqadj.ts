// CTA_SEQ_ADJ_ORIG / CTA_SEQ_ADJ_REPLY <-> SeqAdj (dump_ct_seq_adj: CORRECTION_POS, OFFSET_BEFORE, OFFSET_AFTER, be32).
import { CTA_SEQADJ } from '../constants';
import type { SeqAdj } from '../types';
import { CTA_SEQADJ_NAMES } from './names';
import { scalarNest } from './scalar-nest';

const codec = scalarNest<SeqAdj>({
  fields: [
    { type: CTA_SEQADJ.CORRECTION_POS, name: 'CTA_SEQADJ_CORRECTION_POS', key: 'correctionPos', kind: 'u32' },
    { type: CTA_SEQADJ.OFFSET_BEFORE, name: 'CTA_SEQADJ_OFFSET_BEFORE', key: 'offsetBefore', kind: 's32' },
    { type: CTA_SEQADJ.OFFSET_AFTER, name: 'CTA_SEQADJ_OFFSET_AFTER', key: 'offsetAfter', kind: 's32' },
  ],
  names: CTA_SEQADJ_NAMES,
});

/** Decodes the attributes inside one CTA_SEQ_ADJ_* nest. */
export const decodeSeqAdj = codec.decode;
/** Writes seqAdj as the nested attribute attrType (CTA_SEQ_ADJ_ORIG or CTA_SEQ_ADJ_REPLY). */
export const encodeSeqAdj = codec.encode;
