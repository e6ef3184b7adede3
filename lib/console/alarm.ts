// The table alarm, evaluated on every stats sample: usage at or above CONNTRACK_ALARM_WARN_PERCENT warns, at or
// above CONNTRACK_ALARM_CRIT_PERCENT is critical, and a level clears only 5 points below its threshold (no
// flapping at the edge); drop or early_drop above CONNTRACK_ALARM_DROPS_PER_SECOND over the last sample is
// critical until 5 minutes pass at 0; insert_failed above it alone only warns (harmless clash races raise it too).
// Shown on every page (a notice source), in /api/health as `alarm` and in /metrics as conntrack_console_table_alarm.
import { config, type Config } from '@/lib/config';
import { gauge } from '@/lib/observability';
import { processValue } from '@/lib/process';
import type { StatsPoint } from '@/lib/stats';
import { contributeNotices, type Notice } from './notices';

export const ALARM_LEVELS = ['none', 'warning', 'critical'] as const;
export type AlarmLevel = (typeof ALARM_LEVELS)[number];

/** Points below a threshold at which its level clears. */
export const ALARM_HYSTERESIS_PERCENT = 5;
/** A drop alarm clears after this long without a drop. */
export const DROP_CLEAR_MS = 5 * 60_000;

export interface AlarmState {
  level: AlarmLevel;
  /** From table usage, with hysteresis. */
  usage: AlarmLevel;
  /** drop + early_drop above the threshold (critical), held until DROP_CLEAR_MS at 0. */
  drops: boolean;
  /** insert_failed above the threshold over the last sample (a warning). */
  insertFailed: boolean;
  /** The sample it was judged on. */
  point: StatsPoint | undefined;
  /** When each condition began (ms). */
  since: { usage?: number; drops?: number; insertFailed?: number };
}

const RANK: Record<AlarmLevel, number> = { none: 0, warning: 1, critical: 2 };
const higher = (a: AlarmLevel, b: AlarmLevel): AlarmLevel => (RANK[a] >= RANK[b] ? a : b);

export const NO_ALARM: AlarmState = { level: 'none', usage: 'none', drops: false, insertFailed: false, point: undefined, since: {} };

/** The usage level for `percent`, given the level before (a level holds until 5 points below its threshold). */
function usageLevel(percent: number, before: AlarmLevel, settings: Config['alarm']): AlarmLevel {
  const { warnPercent: warn, critPercent: crit } = settings;
  if (percent >= crit || (before === 'critical' && percent >= crit - ALARM_HYSTERESIS_PERCENT)) return 'critical';
  if (percent >= warn || (before !== 'none' && percent >= warn - ALARM_HYSTERESIS_PERCENT)) return 'warning';
  return 'none';
}

/** The alarm after `point`, from the alarm before it. Pure: the unit tests drive it with sequences of points. */
export function nextAlarm(before: AlarmState, point: StatsPoint, settings: Config['alarm'], lastDropAt: { at: number | undefined }): AlarmState {
  const percent = point.max ? (point.entries / point.max) * 100 : 0;
  const usage = usageLevel(percent, before.usage, settings);
  const dropRate = (point.drop ?? 0) + (point.earlyDrop ?? 0);
  if (dropRate > 0) lastDropAt.at = point.at;
  const drops = dropRate > settings.dropsPerSecond || (before.drops && lastDropAt.at !== undefined && point.at - lastDropAt.at < DROP_CLEAR_MS);
  const insertFailed = (point.insertFailed ?? 0) > settings.dropsPerSecond;
  const level = higher(higher(usage, drops ? 'critical' : 'none'), insertFailed ? 'warning' : 'none');
  const since = {
    ...(usage !== 'none' ? { usage: before.usage === usage ? (before.since.usage ?? point.at) : point.at } : {}),
    ...(drops ? { drops: before.drops ? (before.since.drops ?? point.at) : point.at } : {}),
    ...(insertFailed ? { insertFailed: before.insertFailed ? (before.since.insertFailed ?? point.at) : point.at } : {}),
  };
  return { level, usage, drops, insertFailed, point, since };
}

interface Holder {
  state: AlarmState;
  lastDropAt: { at: number | undefined };
}

const holder = (): Holder => processValue<Holder>('table-alarm', () => ({ state: NO_ALARM, lastDropAt: { at: undefined } }));

/** conntrack_console_table_alarm: 0 none, 1 warning, 2 critical. */
export function publishAlarmGauge(): void {
  gauge({ name: 'conntrack_console_table_alarm', help: 'The table alarm: 0 none, 1 warning, 2 critical (usage thresholds, drops, insert_failed).' }).set(RANK[holder().state.level]);
}

/** The alarm now (none until the first sample). */
export function tableAlarm(): AlarmState {
  return holder().state;
}

/** Judges a new sample (the stats runtime calls this for each point). */
export function updateAlarm(point: StatsPoint, settings: Config['alarm'] = config().alarm): AlarmState {
  const h = holder();
  h.state = nextAlarm(h.state, point, settings, h.lastDropAt);
  publishAlarmGauge();
  return h.state;
}

const formatCount = (n: number): string => n.toLocaleString('en-US');
const rate = (n: number): string => (n >= 10 ? n.toFixed(0) : n.toFixed(1));

/** The notices of the alarm now: one per condition. */
export function alarmNotices(state: AlarmState = tableAlarm(), settings: Config['alarm'] = config().alarm): Notice[] {
  const p = state.point;
  if (!p) return [];
  const notices: Notice[] = [];
  const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
  const link = { href: '/overview', label: 'See what fills it' };
  if (state.usage !== 'none') {
    const percent = p.max ? (p.entries / p.max) * 100 : 0;
    notices.push({
      id: 'table:usage',
      level: state.usage,
      title: `Conntrack table ${Math.floor(percent)}% full (${formatCount(p.entries)} of ${formatCount(p.max)} entries)`,
      text: `At ${state.usage === 'critical' ? settings.critPercent : settings.warnPercent}% the alarm is ${state.usage}; when the table is full new connections are dropped. Find what fills it, remove it, or raise net.netfilter.nf_conntrack_max.`,
      link,
      since: iso(state.since.usage),
    });
  }
  if (state.drops) {
    const dropRate = (p.drop ?? 0) + (p.earlyDrop ?? 0);
    notices.push({
      id: 'table:drops',
      level: 'critical',
      title: dropRate > 0 ? `Conntrack is dropping packets: ${rate(dropRate)} drop/early_drop per second` : 'Conntrack dropped packets in the last 5 minutes',
      text: 'New connections could not be tracked (the table was full) and their packets were dropped. The alarm clears after 5 minutes without drops.',
      link,
      since: iso(state.since.drops),
    });
  }
  if (state.insertFailed) {
    notices.push({
      id: 'table:insert-failed',
      level: 'warning',
      title: `Conntrack insert_failed: ${rate(p.insertFailed ?? 0)} per second`,
      text: 'Entries could not be inserted: clashes of simultaneous packets (often harmless, e.g. parallel DNS over UDP) or a full table.',
      link,
      since: iso(state.since.insertFailed),
    });
  }
  return notices;
}

/** Puts the alarm in the notice area of every page (idempotent). */
export function contributeAlarmNotices(): void {
  contributeNotices({ id: 'table:alarm', read: () => alarmNotices() });
}
