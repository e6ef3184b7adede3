// Connection labels: connlabel.conf parsing, the bitmap's bit order (as captured from the kernel), and the label=
// and helper= filter conditions.
import { describe, expect, it } from 'vitest';
import { decodeConnection, familyFromNumber } from '@/lib/conntrack/codec/connection';
import { filterSchema, toFilter } from '@/lib/conntrack/filter';
import { matches } from '@/lib/conntrack/snapshot';
import { labelBit, labelBits, labelName, parseConnlabelConf } from '@/lib/conntrack/labels';
import { ValidationError } from '@/lib/conntrack/errors';
import { LAB_CONNLABELS } from '@/lib/lab/addresses';
import { ATTRS_START, fixture } from './codec/fixtures';

const decode = (name: string) => {
  const f = fixture(name);
  return decodeConnection(f.message, ATTRS_START, f.end, familyFromNumber(f.family));
};

describe('connlabel.conf', () => {
  it('reads "BIT NAME" lines, skipping comments and junk; a later line for a bit wins', () => {
    const names = parseConnlabelConf('# comment\n0 zero\n  5   five # trailing\nnot a line\n200 too-big\n5 fifth\n');
    expect([...names]).toEqual([
      [0, 'zero'],
      [5, 'fifth'],
    ]);
    expect([...parseConnlabelConf(LAB_CONNLABELS).values()]).toEqual(['ftp-control', 'second-client']);
  });

  it('names a bit, or gives its number; resolves names and numbers back', () => {
    const names = parseConnlabelConf('1 ftp-control\n');
    expect(labelName(1, names)).toBe('ftp-control');
    expect(labelName(2, names)).toBe('2');
    expect(labelName(1, undefined)).toBe('1');
    expect([labelBit('ftp-control', names), labelBit('7', names), labelBit('nope', names), labelBit('128', names)]).toEqual([1, 7, undefined, undefined]);
  });
});

describe('the label bitmap', () => {
  it('"ct label set 5" (captured) is bit 5', () => {
    expect(labelBits(decode('tcp4-real-server-closed-label').labels)).toEqual([5]);
    expect(labelBits(decode('tcp4-real-client-closed').labels)).toEqual([]);
  });

  it('bits beyond the first byte', () => {
    const bitmap = new Uint8Array(16);
    bitmap[1] = 0x01;
    bitmap[15] = 0x80;
    expect(labelBits(bitmap)).toEqual([8, 127]);
  });
});

describe('label= and helper= filters', () => {
  const parse = (input: Record<string, unknown>, names?: Map<number, string>) =>
    toFilter(filterSchema.parse(input), names ? { labelBit: (w) => labelBit(w, names) } : {});

  it('label= needs every listed label, by bit number or by name', () => {
    const labelled = decode('tcp4-real-server-closed-label');
    const names = parseConnlabelConf('5 five\n');
    expect(matches(parse({ label: '5' }), labelled)).toBe(true);
    expect(matches(parse({ label: 'five' }, names), labelled)).toBe(true);
    expect(matches(parse({ label: '5,6' }), labelled)).toBe(false);
    expect(matches(parse({ label: '5' }), decode('tcp4-real-client-closed'))).toBe(false);
  });

  it('an unknown label name is a ValidationError naming label', () => {
    expect(() => parse({ label: 'five' })).toThrow(ValidationError);
    expect(() => parse({ label: 'five' })).toThrow(/label/);
    expect(filterSchema.safeParse({ label: 'a b' }).success).toBe(false);
  });

  it('helper= is the helper name, exactly', () => {
    expect(matches(parse({ helper: 'ftp' }), decode('tcp4-real-ftp-control'))).toBe(true);
    expect(matches(parse({ helper: 'sip' }), decode('tcp4-real-ftp-control'))).toBe(false);
    expect(matches(parse({ helper: 'ftp' }), decode('tcp4-real-client-closed'))).toBe(false);
    expect(filterSchema.safeParse({ helper: 'way-too-long-helper-name' }).success).toBe(false);
  });
});
