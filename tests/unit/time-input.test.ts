// The date pickers' round trip: a datetime-local value (local time, no zone) and the ISO instant the URL and API speak.
import { describe, expect, it } from 'vitest';
import { fromLocalInput, rangeDraft, rangeInstants, rangeProblem, toLocalInput } from '../../app/components/time-input';

describe('datetime-local inputs', () => {
  it('read back the minute they show', () => {
    const iso = '2026-12-01T12:34:00.000Z';
    expect(fromLocalInput(toLocalInput(iso))).toBe(iso);
    expect(toLocalInput(undefined)).toBe('');
    expect(fromLocalInput('')).toBeUndefined();
    expect(fromLocalInput('not a date')).toBeUndefined();
  });
});

describe('a time range', () => {
  it('round-trips the URL instants through the pickers', () => {
    const from = '2026-12-01T12:34:00.000Z';
    const to = '2026-12-02T08:00:00.000Z';
    expect(rangeInstants(rangeDraft(from, to))).toEqual({ from, to });
    expect(rangeInstants(rangeDraft(undefined, to))).toEqual({ from: undefined, to });
  });

  it('is refused when it ends before it starts, and only then', () => {
    expect(rangeProblem(rangeDraft('2026-12-02T00:00:00.000Z', '2026-12-01T00:00:00.000Z'))).toMatch(/^The range ends before it starts/);
    expect(rangeProblem(rangeDraft('2026-12-01T00:00:00.000Z', '2026-12-01T00:00:00.000Z'))).toBeUndefined();
    expect(rangeProblem(rangeDraft('2026-12-01T00:00:00.000Z', '2026-12-02T00:00:00.000Z'))).toBeUndefined();
    expect(rangeProblem(rangeDraft('2026-12-02T00:00:00.000Z', undefined))).toBeUndefined();
    expect(rangeProblem(rangeDraft(undefined, '2026-12-01T00:00:00.000Z'))).toBeUndefined();
  });
});
