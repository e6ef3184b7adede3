// Which reading "since the previous snapshot" counts from, as snapshots come and go.
import { describe, expect, it } from 'vitest';
import { CounterReadings } from '@/lib/console/counters';
import type { CpuStats } from '@/lib/conntrack';

const cpu = (invalid: number): CpuStats => ({ cpu: 0, found: 0, invalid, insert: 0, insertFailed: 0, drop: 0, earlyDrop: 0, error: 0, searchRestart: 0, clashResolve: 0, chainTooLong: 0 });

describe('CounterReadings', () => {
  it('answers the reading of the snapshot before the one asked about; the first is its own baseline', async () => {
    const readings = new CounterReadings();
    expect(readings.baselineFor()).toBeNull();
    await readings.record('a', async () => ({ perCpu: [cpu(1)] }));
    expect(readings.baselineFor()?.snapshot).toBe('a');
    await readings.record('b', async () => ({ perCpu: [cpu(5)] }));
    await readings.record('c', async () => ({ perCpu: [cpu(9)] }));
    expect(readings.baselineFor()).toMatchObject({ snapshot: 'b', perCpu: [{ invalid: 5 }] });
    expect(readings.baselineFor('b')?.snapshot).toBe('a');
    expect(readings.baselineFor('a')?.snapshot).toBe('a');
    expect(readings.baselineFor('unknown')).toBeNull();
  });

  it('a failed read leaves no reading and does not throw: the snapshot stands', async () => {
    const readings = new CounterReadings();
    await readings.record('a', async () => ({ perCpu: [cpu(1)] }));
    await readings.record('b', () => Promise.reject(new Error('EPERM')));
    expect(readings.baselineFor('b')).toBeNull();
    expect(readings.baselineFor()?.snapshot).toBe('a');
  });

  it('keeps a bounded number of readings', async () => {
    const readings = new CounterReadings();
    for (let i = 0; i < 100; i++) await readings.record(`s${i}`, async () => ({ perCpu: [cpu(i)] }));
    expect(readings.baselineFor('s0')).toBeNull();
    expect(readings.baselineFor('s99')?.snapshot).toBe('s98');
  });
});
