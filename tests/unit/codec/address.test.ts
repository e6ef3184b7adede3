import { describe, expect, it } from 'vitest';
import { decodeAddress, encodeAddress } from '@/lib/conntrack/codec/address';
import { formatIPv4, formatIPv6 } from '@/lib/netlink/address';
import { ValidationError } from '@/lib/conntrack/errors';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

// [16 bytes as hex, RFC 5952 text]
const ipv6Cases: [string, string][] = [
  ['00000000000000000000000000000000', '::'],
  ['00000000000000000000000000000001', '::1'],
  ['00010000000000000000000000000000', '1::'],
  ['20010db8000000000000000000000001', '2001:db8::1'],
  // 4.2.2: a single zero group is not compressed
  ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
  // 4.2.3: the longest run wins
  ['20010db8000000000001000000000000', '2001:db8:0:0:1::'],
  ['20010db8000000010000000000000001', '2001:db8:0:1::1'],
  // 4.2.3: on a tie, the first run
  ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
  // 4.3: lower case, leading zeros dropped
  ['20010db8abcd00ef00000000000a0b0c', '2001:db8:abcd:ef::a:b0c'],
  ['ffffffffffffffffffffffffffffffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
  ['fe800000000000000000000000000001', 'fe80::1'],
  ['ff020000000000000000000000000001', 'ff02::1'],
  // 5: IPv4-mapped in mixed notation
  ['00000000000000000000ffffc0000201', '::ffff:192.0.2.1'],
  ['00000000000000000000ffff00000000', '::ffff:0.0.0.0'],
  // not IPv4-mapped: plain hex
  ['00000000000000000000fffe0a000001', '::fffe:a00:1'],
  ['00000000000000000001ffff0a000001', '::1:ffff:a00:1'],
  ['0064ff9b000000000000000001020304', '64:ff9b::102:304'],
  // a run at the end and a longer one in the middle
  ['00010000000000000000000100000000', '1::1:0:0'],
  ['00010000000100000000000000000000', '1:0:1::'],
  ['00000001000000000000000000010000', '0:1::1:0'],
];

describe('formatIPv6', () => {
  it.each(ipv6Cases)('%s -> %s', (bytes, text) => {
    expect(formatIPv6(hex(bytes), 0)).toBe(text);
    expect(decodeAddress(hex(bytes), 0, 'ipv6')).toBe(text);
  });

  it('reads at an offset', () => {
    expect(formatIPv6(hex(`ffff${'20010db8000000000000000000000002'}`), 2)).toBe('2001:db8::2');
  });

  it('parses its own output back to the same bytes', () => {
    for (const [bytes, text] of ipv6Cases) expect(Buffer.from(encodeAddress(text, 'ipv6')).toString('hex')).toBe(bytes);
  });
});

describe('formatIPv4', () => {
  it.each([
    ['00000000', '0.0.0.0'],
    ['7f000001', '127.0.0.1'],
    ['c0a80a0b', '192.168.10.11'],
    ['ffffffff', '255.255.255.255'],
  ])('%s -> %s', (bytes, text) => {
    expect(formatIPv4(hex(bytes), 0)).toBe(text);
    expect(Buffer.from(encodeAddress(text, 'ipv4')).toString('hex')).toBe(bytes);
  });
});

describe('encodeAddress', () => {
  it.each([
    ['2001:DB8::1', '20010db8000000000000000000000001'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '20010db8000000000000000000000001'],
    ['::ffff:10.1.0.1', '00000000000000000000ffff0a010001'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
    ['1:2:3:4:5:6:1.2.3.4', '00010002000300040005000601020304'],
  ])('accepts %s', (text, bytes) => {
    expect(Buffer.from(encodeAddress(text, 'ipv6')).toString('hex')).toBe(bytes);
  });

  it.each(['', ':', ':::', '1:::2', '1::2::3', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '12345::', 'g::1', '1:', ':1', '1::2:', '::1.2.3', '::1.2.3.256', '1:2:3:4:5:6:7:1.2.3.4', '10.0.0.1'])(
    'refuses IPv6 %j',
    (text) => {
      expect(() => encodeAddress(text, 'ipv6')).toThrow(ValidationError);
    },
  );

  it.each(['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1..2.3', '1.2.3.4 ', 'a.b.c.d', '::1'])('refuses IPv4 %j', (text) => {
    expect(() => encodeAddress(text, 'ipv4')).toThrow(ValidationError);
  });
});
