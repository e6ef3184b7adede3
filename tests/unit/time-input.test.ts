// The date pickers' round trip: a datetime-local value (local time, no zone) and the ISO instant the URL and API speak.
import { describe, expect, it } from 'vitest';
import { fromLocalInput, toLocalInput } from '../../app/components/time-input';

describe('datetime-local inputs', () => {
  it('read back the minute they show', () => {
    const iso = '2026-12-01T12:34:00.000Z';
    expect(fromLocalInput(toLocalInput(iso))).toBe(iso);
    expect(toLocalInput(undefined)).toBe('');
    expect(fromLocalInput('')).toBeUndefined();
    expect(fromLocalInput('not a date')).toBeUndefined();
  });
});
