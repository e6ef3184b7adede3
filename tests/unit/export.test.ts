// CSV fields of an export: quoting per RFC 4180, and formula neutralising - a cell that a spreadsheet would run as a
// formula (= + - @, tab, carriage return first) is prefixed with a quote, so opening an export never executes it.
import { describe, expect, it } from 'vitest';
import { csvField } from '@/lib/console/export';

describe('csvField', () => {
  it.each([
    ['=HYPERLINK("http://evil.example","x")', `"'=HYPERLINK(""http://evil.example"",""x"")"`],
    ['+1+1', "'+1+1"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\t=1', "'\t=1"],
    ['\r=1', `"'\r=1"`],
  ])('neutralises the formula %j', (cell, expected) => {
    expect(csvField(cell)).toBe(expected);
  });

  it('leaves numbers (negative ones too) and plain text alone, quotes what needs quoting', () => {
    expect(csvField(-5)).toBe('-5');
    expect(csvField(443)).toBe('443');
    expect(csvField('tcp')).toBe('tcp');
    expect(csvField('ASSURED SEEN_REPLY')).toBe('ASSURED SEEN_REPLY');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(undefined)).toBe('');
    expect(csvField(null)).toBe('');
  });
});
