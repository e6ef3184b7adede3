// CTA_EXPECT_NAT <-> ExpectationNat: where the NAT helper will send the expected connection
// (ctnetlink_exp_dump_expect: CTA_EXPECT_NAT_DIR, then CTA_EXPECT_NAT_TUPLE).
import { CTA_EXPECT_NAT } from '../constants';
import { readU32be, type AttrWriter } from '../netlink/attributes';
import type { ExpectationNat, Family, Tuple } from '../types';
import { CTA_EXPECT_NAT_NAMES } from './names';
import { checkUint, missing, within } from './nest';
import { decodeLevel, InPlaceWriter } from './raw';
import { decodeTuple, encodeTuple } from './tuple';

/** Decodes the attributes inside CTA_EXPECT_NAT. */
export function decodeExpectationNat(buf: Uint8Array, start: number, end: number, family: Family): ExpectationNat {
  let dir: number | undefined;
  let tuple: Tuple | undefined;
  const unknown = decodeLevel(buf, start, end, CTA_EXPECT_NAT_NAMES, (attr) => {
    if (attr.type === CTA_EXPECT_NAT.DIR) dir = readU32be(attr, 'CTA_EXPECT_NAT_DIR');
    else if (attr.type === CTA_EXPECT_NAT.TUPLE) tuple = within('CTA_EXPECT_NAT_TUPLE', () => decodeTuple(attr.buf, attr.start, attr.end, family));
    else return false;
    return true;
  });
  if (dir === undefined) throw missing('CTA_EXPECT_NAT_DIR');
  if (!tuple) throw missing('CTA_EXPECT_NAT_TUPLE');
  const nat: ExpectationNat = { dir, tuple };
  if (unknown) nat.unknown = unknown;
  return nat;
}

/** Writes CTA_EXPECT_NAT (nested) as attrType. */
export function encodeExpectationNat(nat: ExpectationNat, family: Family, w: AttrWriter, attrType: number): void {
  w.nested(attrType, (inner) => {
    const level = new InPlaceWriter(inner, nat.unknown);
    level.next().u32be(CTA_EXPECT_NAT.DIR, checkUint(nat.dir, 32, 'nat.dir'));
    encodeTuple(nat.tuple, family, level.next(), CTA_EXPECT_NAT.TUPLE);
    level.finish();
  });
}
