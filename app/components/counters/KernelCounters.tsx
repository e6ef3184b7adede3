'use client';
// The kernel's conntrack counters (CT_GET_STATS_CPU, what `conntrack -S` prints): each one's total since boot and
// its change since a baseline reading - an increase (Connections: since the previous snapshot) or a rate per
// second (the overview: since the previous poll) - with the per-CPU figures in a popover; and whether byte
// accounting and timestamps are on, with the sysctl that turns each on. The caller picks the counters to show.
import { useId } from 'react';
import type { CpuStats } from '@/lib/conntrack/types';
import { formatCount } from '../format';

export type CounterKey = Exclude<keyof CpuStats, 'cpu'>;

/** The per-CPU counters at one moment (GET /api/stats gives `readAt` and `perCpu`, and its `baseline` is one). */
export interface CounterReading {
  readAt: string;
  perCpu: CpuStats[];
}

/** The counters' names as `conntrack -S` prints them, and what a rise of each means. */
export const COUNTERS: Record<CounterKey, { name: string; meaning: string; problem: boolean }> = {
  found: { name: 'found', meaning: 'Lookups that found an existing entry.', problem: false },
  invalid: { name: 'invalid', meaning: 'Packets conntrack could not track (malformed, or not fitting the connection state); firewalls usually drop them.', problem: true },
  insert: { name: 'insert', meaning: 'Entries inserted (recent kernels no longer count these).', problem: false },
  insertFailed: { name: 'insert_failed', meaning: 'New entries that could not be inserted, because an equal one appeared at the same time; their packet was dropped.', problem: true },
  drop: { name: 'drop', meaning: 'Packets dropped because the table was full and no entry could be evicted to make room.', problem: true },
  earlyDrop: { name: 'early_drop', meaning: 'Entries evicted (not yet assured ones) to make room while the table was full.', problem: true },
  error: { name: 'error', meaning: 'Packets the protocol tracker refused (bad checksum or header, ICMP errors for unknown connections).', problem: true },
  searchRestart: { name: 'search_restart', meaning: 'Table lookups started again because the hash table changed under them (resize or heavy churn).', problem: true },
  clashResolve: { name: 'clash_resolve', meaning: 'Insert clashes solved by using the equal entry (typical of parallel UDP queries such as DNS).', problem: false },
  chainTooLong: { name: 'chaintoolong', meaning: 'Inserts into a hash chain longer than the limit: too few buckets (nf_conntrack_buckets) or a hash flood.', problem: true },
};

/** What the Connections page shows; the overview passes its own list. */
export const DEFAULT_COUNTERS: readonly CounterKey[] = ['invalid', 'drop', 'earlyDrop', 'insertFailed', 'searchRestart'];

export interface KernelCountersProps {
  current: CounterReading;
  /** The earlier reading the change is counted from; null or absent: no change shown. */
  baseline?: CounterReading | null;
  /** Which counters, in this order. */
  counters?: readonly CounterKey[];
  /** "increase": the difference to the baseline; "rate": that difference per second. */
  change?: 'increase' | 'rate';
  /** What the baseline is, after "since": "the previous snapshot (12:01:02)". */
  baselineLabel?: string;
  /** The sysctls that decide what each entry records; absent: not shown. */
  features?: { acct: boolean | null; timestamp: boolean | null };
  /** Heading level text; the block is a region named by it. */
  title?: string;
}

const sum = (perCpu: CpuStats[], key: CounterKey): number => perCpu.reduce((total, cpu) => total + cpu[key], 0);

/** The difference of one CPU's counter to the baseline (a CPU the baseline lacks counts from 0). */
function cpuDelta(current: CpuStats, baseline: CounterReading, key: CounterKey): number {
  return current[key] - (baseline.perCpu.find((c) => c.cpu === current.cpu)?.[key] ?? 0);
}

function changeText(delta: number, seconds: number, change: 'increase' | 'rate'): string {
  if (change === 'increase') return `+${formatCount(delta)}`;
  const rate = seconds > 0 ? delta / seconds : 0;
  return `${rate >= 10 || rate === 0 ? formatCount(Math.round(rate)) : rate.toFixed(1)}/s`;
}

const sysctlCommand = (name: string) => `sysctl -w net.netfilter.${name}=1`;

const FEATURES = [
  {
    key: 'acct',
    label: 'Byte accounting',
    sysctl: 'nf_conntrack_acct',
    missing: 'Without it connections have no byte or packet counters: the Bytes and Packets columns stay empty and ended connections in the history have no volume.',
    testId: 'acct-off',
  },
  {
    key: 'timestamp',
    label: 'Timestamps',
    sysctl: 'nf_conntrack_timestamp',
    missing: 'Without it connections have no start time: there is no age, and the history cannot say how long a connection lasted.',
    testId: 'timestamps-off',
  },
] as const;

function FeatureStates({ features }: { features: NonNullable<KernelCountersProps['features']> }) {
  return (
    <p className="flex flex-wrap gap-x-4 gap-y-1 text-sm" data-testid="features">
      {FEATURES.map((f) => (
        <span key={f.key} data-testid={`feature-${f.key}`}>
          {f.label}:{' '}
          <strong className={features[f.key] === false ? 'text-amber-800' : 'text-emerald-800'}>{features[f.key] === null ? 'unknown' : features[f.key] ? 'on' : 'off'}</strong>
        </span>
      ))}
    </p>
  );
}

/** For each feature that is off: the sysctl that turns it on, and what is missing without it. */
function FeatureHelp({ features }: { features: NonNullable<KernelCountersProps['features']> }) {
  const off = FEATURES.filter((f) => features[f.key] === false);
  if (off.length === 0) return null;
  return (
    <div className="space-y-1 text-sm text-slate-700" data-testid="feature-notice">
      {off.map((f) => (
        <p key={f.key} data-testid={f.testId}>
          {f.label} is off. Turn it on with <code className="rounded bg-slate-100 px-1 break-all">{sysctlCommand(f.sysctl)}</code> (it applies to
          connections created afterwards). {f.missing}
        </p>
      ))}
    </div>
  );
}

function PerCpu({ id, counter, current, baseline, seconds, change }: { id: string; counter: CounterKey; current: CounterReading; baseline: CounterReading | null; seconds: number; change: 'increase' | 'rate' }) {
  const { name, meaning } = COUNTERS[counter];
  return (
    <div
      id={id}
      popover="auto"
      role="dialog"
      aria-label={`${name} per CPU`}
      data-testid={`counter-${name}-cpus`}
      className="m-auto max-h-[80vh] w-[min(24rem,calc(100vw-2rem))] overflow-y-auto rounded-lg border border-slate-300 bg-white p-4 text-sm text-slate-900 shadow-xl"
    >
      <p className="font-semibold">{name} per CPU</p>
      <p className="mt-1 text-slate-600">{meaning}</p>
      <table className="mt-2 w-full text-right tabular-nums">
        <thead className="text-slate-500">
          <tr>
            <th scope="col" className="text-left font-medium">
              CPU
            </th>
            <th scope="col" className="font-medium">
              since boot
            </th>
            {baseline && (
              <th scope="col" className="font-medium">
                {change === 'rate' ? 'rate' : 'increase'}
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {current.perCpu.map((cpu) => (
            <tr key={cpu.cpu} className="border-t border-slate-100" data-testid="cpu-row">
              <th scope="row" className="text-left font-normal">
                {cpu.cpu}
              </th>
              <td>{formatCount(cpu[counter])}</td>
              {baseline && <td>{changeText(cpuDelta(cpu, baseline, counter), seconds, change)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
      <button type="button" popoverTarget={id} popoverTargetAction="hide" className="mt-3 rounded border border-slate-300 px-2 py-1 text-xs hover:bg-slate-100">
        Close
      </button>
    </div>
  );
}

export function KernelCounters({ current, baseline = null, counters = DEFAULT_COUNTERS, change = 'increase', baselineLabel, features, title = 'Kernel counters' }: KernelCountersProps) {
  const base = useId();
  const seconds = baseline ? (Date.parse(current.readAt) - Date.parse(baseline.readAt)) / 1000 : 0;
  const since = baseline && baselineLabel ? `since ${baselineLabel}` : undefined;
  return (
    <section aria-label={title} className="space-y-2" data-testid="kernel-counters">
      <div className="flex flex-wrap items-baseline gap-x-3 gap-y-1 text-sm">
        <h2 className="font-medium text-slate-700">{title}</h2>
        <span className="text-xs text-slate-500">
          since boot{since ? `; ${change === 'rate' ? 'rate' : 'change'} ${since}` : ''} · per CPU on click
        </span>
      </div>
      <div className="flex flex-wrap items-center gap-x-4 gap-y-2">
        <ul className="flex flex-wrap gap-2">
          {counters.map((counter) => {
            const { name, meaning, problem } = COUNTERS[counter];
            const total = sum(current.perCpu, counter);
            const delta = baseline ? total - sum(baseline.perCpu, counter) : undefined;
            const rising = problem && delta !== undefined && delta > 0;
            const id = `${base}-${counter}`;
            return (
              <li key={counter}>
                <button
                  type="button"
                  popoverTarget={id}
                  title={meaning}
                  data-testid={`counter-${name}`}
                  data-total={total}
                  data-change={delta}
                  className={`flex items-baseline gap-1.5 rounded border px-2 py-1 text-xs hover:bg-slate-50 ${rising ? 'border-amber-400 bg-amber-50' : 'border-slate-300 bg-white'}`}
                >
                  <span className="font-mono text-slate-600">{name}</span>
                  <strong className="tabular-nums text-slate-900" data-testid="counter-total">
                    {formatCount(total)}
                  </strong>
                  {delta !== undefined && (
                    <span className={`tabular-nums ${rising ? 'font-semibold text-amber-800' : 'text-slate-500'}`} data-testid="counter-change">
                      {changeText(delta, seconds, change)}
                    </span>
                  )}
                </button>
                <PerCpu id={id} counter={counter} current={current} baseline={baseline} seconds={seconds} change={change} />
              </li>
            );
          })}
        </ul>
        {features && <FeatureStates features={features} />}
      </div>
      {features && <FeatureHelp features={features} />}
    </section>
  );
}
