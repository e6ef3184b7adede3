// The table alarm's rules, driven by sequences of samples: thresholds with 5 points of hysteresis, drops critical
// until 5 minutes at 0, insert_failed alone a warning; and its notices.
import { describe, expect, it } from 'vitest';
import { alarmNotices, DROP_CLEAR_MS, NO_ALARM, nextAlarm, type AlarmState } from '@/lib/console/alarm';
import type { StatsPoint } from '@/lib/stats';

const SETTINGS = { warnPercent: 90, critPercent: 95, dropsPerSecond: 1 };
const MAX = 262_144;

function point(at: number, percent: number, rates: Partial<Pick<StatsPoint, 'drop' | 'earlyDrop' | 'insertFailed'>> = {}): StatsPoint {
  return { at, entries: Math.ceil((MAX * percent) / 100), max: MAX, new: 0, ended: 0, drop: 0, earlyDrop: 0, invalid: 0, insertFailed: 0, ...rates };
}

/** The levels after each point of the sequence. */
function run(points: StatsPoint[], settings = SETTINGS): AlarmState[] {
  const lastDrop = { at: undefined as number | undefined };
  const states: AlarmState[] = [];
  let state = NO_ALARM;
  for (const p of points) {
    state = nextAlarm(state, p, settings, lastDrop);
    states.push(state);
  }
  return states;
}

describe('table alarm', () => {
  it('warns at 90%, is critical at 95%, and each level clears 5 points below its threshold', () => {
    const percents = [50, 89.9, 90, 94.9, 95, 91, 90.1, 89, 86, 85.5, 84.9, 96, 90.01, 89.99];
    const levels = run(percents.map((p, i) => point(i * 10_000, p))).map((s) => s.level);
    expect(levels).toEqual(['none', 'none', 'warning', 'warning', 'critical', 'critical', 'critical', 'warning', 'warning', 'warning', 'none', 'critical', 'critical', 'warning']);
  });

  it('follows the configured thresholds', () => {
    const levels = run([70, 80, 76, 74.9].map((p, i) => point(i, p)), { warnPercent: 70, critPercent: 80, dropsPerSecond: 1 }).map((s) => s.level);
    expect(levels).toEqual(['warning', 'critical', 'critical', 'warning']);
  });

  it('drop or early_drop above the threshold is critical at any usage, and clears only after 5 minutes at 0', () => {
    const points = [
      point(0, 10, { drop: 0.5 }),
      point(10_000, 10, { drop: 3 }),
      point(20_000, 10, { earlyDrop: 0.5 }),
      point(30_000, 10),
      point(20_000 + DROP_CLEAR_MS - 10_000, 10),
      point(20_000 + DROP_CLEAR_MS - 1_000, 10),
      point(20_000 + DROP_CLEAR_MS, 10),
      point(40_000 + DROP_CLEAR_MS, 10, { earlyDrop: 1.5 }),
    ];
    const states = run(points);
    expect(states.map((s) => s.level)).toEqual(['none', 'critical', 'critical', 'critical', 'critical', 'critical', 'none', 'critical']);
    expect(states[3].since.drops).toBe(10_000);
  });

  it('insert_failed alone only warns, and does not lower a critical usage', () => {
    const states = run([point(0, 10, { insertFailed: 5 }), point(10_000, 10), point(20_000, 97, { insertFailed: 5 })]);
    expect(states.map((s) => s.level)).toEqual(['warning', 'none', 'critical']);
    expect(states[2].insertFailed).toBe(true);
  });

  it('says in one notice per condition how full the table is, links to the overview, and nothing when all is well', () => {
    const [quiet] = run([point(0, 20)]);
    expect(alarmNotices(quiet, SETTINGS)).toEqual([]);
    const [, full] = run([point(0, 20), point(10_000, 96, { drop: 12, insertFailed: 3 })]);
    const notices = alarmNotices(full, SETTINGS);
    expect(notices.map((n) => [n.id, n.level])).toEqual([
      ['table:usage', 'critical'],
      ['table:drops', 'critical'],
      ['table:insert-failed', 'warning'],
    ]);
    expect(notices[0].title).toBe(`Conntrack table 96% full (${Math.ceil(MAX * 0.96).toLocaleString('en-US')} of ${MAX.toLocaleString('en-US')} entries)`);
    expect(notices[1].title).toBe('Conntrack is dropping packets: 12 drop/early_drop per second');
    expect(notices.every((n) => n.link?.href === '/overview' && n.since === new Date(10_000).toISOString())).toBe(true);
  });
});
