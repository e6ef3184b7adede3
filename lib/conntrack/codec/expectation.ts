// A whole ctnetlink expectation message (NFNL_SUBSYS_CTNETLINK_EXP, the attributes after struct nfgenmsg) <->
// Expectation, and the attributes that name one expectation in a delete.
//
// encodeExpectation writes in the order of ctnetlink_exp_dump_expect (net/netfilter/nf_conntrack_netlink.c):
// CTA_EXPECT_TUPLE, _MASK, _MASTER, [_NAT], _TIMEOUT, _ID, _FLAGS, _CLASS, [_HELP_NAME], [_FN], so captured bytes ->
// Expectation -> the same bytes. The kernel never sends CTA_EXPECT_ZONE (the zone is the master's); requests do.
import { CTA_EXPECT } from '../constants';
import { readString, readU16be, readU32be, type AttrWriter } from '../netlink/attributes';
import type { Expectation, ExpectationNat, Family, Tuple } from '../types';
import { decodeExpectationNat, encodeExpectationNat } from './expect-nat';
import { CTA_EXPECT_NAMES } from './names';
import { checkUint, missing, within } from './nest';
import { decodeLevel, InPlaceWriter } from './raw';
import { decodeTuple, encodeTuple } from './tuple';

/**
 * Decodes one expectation: buf[start, end) are the attributes after the 4-byte nfgenmsg, family comes from it.
 * Throws CodecError (with the attribute path) for anything malformed; unknown attributes are kept in place.
 */
export function decodeExpectation(buf: Uint8Array, start: number, end: number, family: Family): Expectation {
  let tuple: Tuple | undefined;
  let mask: Tuple | undefined;
  let master: Tuple | undefined;
  let nat: ExpectationNat | undefined;
  let timeout: number | undefined;
  let id: number | undefined;
  let flags: number | undefined;
  let klass: number | undefined;
  let helper: string | undefined;
  let fn: string | undefined;
  let zone = 0;
  const unknown = decodeLevel(buf, start, end, CTA_EXPECT_NAMES, (attr) => {
    const { start: s, end: e } = attr;
    switch (attr.type) {
      case CTA_EXPECT.TUPLE:
        tuple = within('CTA_EXPECT_TUPLE', () => decodeTuple(buf, s, e, family));
        break;
      case CTA_EXPECT.MASK:
        mask = within('CTA_EXPECT_MASK', () => decodeTuple(buf, s, e, family));
        break;
      case CTA_EXPECT.MASTER:
        master = within('CTA_EXPECT_MASTER', () => decodeTuple(buf, s, e, family));
        break;
      case CTA_EXPECT.NAT:
        nat = within('CTA_EXPECT_NAT', () => decodeExpectationNat(buf, s, e, family));
        break;
      case CTA_EXPECT.TIMEOUT:
        timeout = readU32be(attr, 'CTA_EXPECT_TIMEOUT');
        break;
      case CTA_EXPECT.ID:
        id = readU32be(attr, 'CTA_EXPECT_ID');
        break;
      case CTA_EXPECT.FLAGS:
        flags = readU32be(attr, 'CTA_EXPECT_FLAGS');
        break;
      case CTA_EXPECT.CLASS:
        klass = readU32be(attr, 'CTA_EXPECT_CLASS');
        break;
      case CTA_EXPECT.HELP_NAME:
        helper = readString(attr);
        break;
      case CTA_EXPECT.FN:
        fn = readString(attr);
        break;
      case CTA_EXPECT.ZONE:
        zone = readU16be(attr, 'CTA_EXPECT_ZONE');
        break;
      default:
        return false;
    }
    return true;
  });
  if (!tuple) throw missing('CTA_EXPECT_TUPLE');
  if (!mask) throw missing('CTA_EXPECT_MASK');
  if (!master) throw missing('CTA_EXPECT_MASTER');
  if (timeout === undefined) throw missing('CTA_EXPECT_TIMEOUT');
  if (id === undefined) throw missing('CTA_EXPECT_ID');
  const expectation: Expectation = { family, tuple, mask, master, timeout, id, flags: flags ?? 0, class: klass ?? 0, zone };
  if (nat) expectation.nat = nat;
  if (helper !== undefined) expectation.helper = helper;
  if (fn !== undefined) expectation.fn = fn;
  if (unknown) expectation.unknown = unknown;
  return expectation;
}

/** Writes an expectation's attributes in kernel dump order (unknown ones back at their positions). */
export function encodeExpectation(exp: Expectation, w: AttrWriter): void {
  const level = new InPlaceWriter(w, exp.unknown);
  encodeTuple(exp.tuple, exp.family, level.next(), CTA_EXPECT.TUPLE);
  encodeTuple(exp.mask, exp.family, level.next(), CTA_EXPECT.MASK);
  encodeTuple(exp.master, exp.family, level.next(), CTA_EXPECT.MASTER);
  if (exp.nat) encodeExpectationNat(exp.nat, exp.family, level.next(), CTA_EXPECT.NAT);
  level.next().u32be(CTA_EXPECT.TIMEOUT, checkUint(exp.timeout, 32, 'timeout'));
  level.next().u32be(CTA_EXPECT.ID, checkUint(exp.id, 32, 'id'));
  level.next().u32be(CTA_EXPECT.FLAGS, checkUint(exp.flags, 32, 'flags'));
  level.next().u32be(CTA_EXPECT.CLASS, checkUint(exp.class, 32, 'class'));
  if (exp.helper !== undefined) level.next().string(CTA_EXPECT.HELP_NAME, exp.helper);
  if (exp.fn !== undefined) level.next().string(CTA_EXPECT.FN, exp.fn);
  if (exp.zone !== 0) level.next().u16be(CTA_EXPECT.ZONE, checkUint(exp.zone, 16, 'zone'));
  level.finish();
}

/**
 * What names one expectation exactly: CTA_EXPECT_TUPLE, CTA_EXPECT_ZONE (when not 0) and CTA_EXPECT_ID. The body of
 * an IPCTNL_MSG_EXP_DELETE for it. Never CTA_EXPECT_MASTER: ctnetlink_del_expect ignores it, and a delete without
 * a tuple or helper name flushes every expectation.
 */
export function encodeExpectationIdentity(exp: Pick<Expectation, 'family' | 'tuple' | 'zone' | 'id'>, w: AttrWriter): void {
  encodeTuple(exp.tuple, exp.family, w, CTA_EXPECT.TUPLE);
  if (exp.zone !== 0) w.u16be(CTA_EXPECT.ZONE, checkUint(exp.zone, 16, 'zone'));
  w.u32be(CTA_EXPECT.ID, checkUint(exp.id, 32, 'id'));
}
