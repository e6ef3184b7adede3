// The console's one way of showing times and durations, and the NAT lookup's local time with its offset, in zones
// with and without daylight saving time (Node reads TZ again when it changes).
import { afterEach, describe, expect, it } from 'vitest';
import { formatClock, formatDuration, formatTime, withOffset, zoneOffset } from '@/app/components/format';

const original = process.env.TZ;
afterEach(() => {
  if (original === undefined) delete process.env.TZ;
  else process.env.TZ = original;
});

describe('times in the browser zone', () => {
  it('a typed local time gets the offset of its own date, across daylight saving time', () => {
    process.env.TZ = 'Europe/Berlin';
    expect(withOffset('2026-01-15T15:05')).toBe('2026-01-15T15:05:00+01:00');
    expect(withOffset('2026-07-15T15:05:07')).toBe('2026-07-15T15:05:07+02:00');
    process.env.TZ = 'America/Sao_Paulo';
    expect(withOffset('2026-07-15T15:05:07')).toBe('2026-07-15T15:05:07-03:00');
    process.env.TZ = 'Asia/Kolkata';
    expect(zoneOffset(new Date('2026-03-01T00:00:00Z'))).toBe('+05:30');
    expect(withOffset('not a time')).toBe('not a time');
  });

  it('the time with offset names the same instant as the ISO text it came from', () => {
    process.env.TZ = 'America/Sao_Paulo';
    expect(formatTime('2026-03-01T14:05:09.500Z')).toBe('2026-03-01 11:05:09 -03:00');
    process.env.TZ = 'UTC';
    expect(formatTime('2026-03-01T14:05:09Z')).toBe('2026-03-01 14:05:09 +00:00');
    expect(formatTime(undefined)).toBe('—');
    process.env.TZ = 'Asia/Kolkata';
    expect(formatClock('2026-03-01T14:05:09Z')).toBe('19:35:09 +05:30');
  });
});

describe('durations', () => {
  it('read the same everywhere', () => {
    expect([0.25, 59, 133, 3600 + 120, 4 * 86400 + 23 * 3600].map(formatDuration)).toEqual(['250 ms', '59 s', '2 min 13 s', '1 h 2 min', '4 d 23 h']);
    // A zero second unit is left out.
    expect([0, 300, 3600, 86400, 3 * 86400 + 59].map(formatDuration)).toEqual(['0 s', '5 min', '1 h', '1 d', '3 d']);
  });
});
