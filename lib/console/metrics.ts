// What GET /metrics says about the table: usage and the kernel's per-CPU problem counters, read on each scrape
// (two cheap requests: CT_GET_STATS and CT_GET_STATS_CPU), and entries by protocol and TCP state from a
// background count every N seconds (a columnar snapshot, counted and retired), never a dump per scrape; and the
// table alarm (alarm.ts) as conntrack_console_table_alarm.
import { config } from '@/lib/config';
import { PROTOCOL_NAMES, TCP_STATES, type CpuStats, type Family } from '@/lib/conntrack';
import { onShutdown } from '@/lib/lifecycle';
import { counter, gauge, logger, metricsRegistry } from '@/lib/observability';
import { publishAlarmGauge } from './alarm';
import { consoleService } from './service';
import { statsRuntime } from './stats';
import { peekProcessValue, processValue } from '@/lib/process';

type CpuCounter = Exclude<keyof CpuStats, 'cpu'>;

/** The kernel's per-CPU counters as conntrack_<name>_total{cpu}; names as in `conntrack -S`. */
const CPU_COUNTERS: Record<CpuCounter, { name: string; help: string }> = {
  found: { name: 'found', help: 'Lookups that found an entry.' },
  invalid: { name: 'invalid', help: 'Packets conntrack could not track (invalid).' },
  insert: { name: 'insert', help: 'Entries inserted.' },
  insertFailed: { name: 'insert_failed', help: 'Entries that could not be inserted (clash, or table full).' },
  drop: { name: 'drop', help: 'Packets dropped because an entry could not be created (table full).' },
  earlyDrop: { name: 'early_drop', help: 'Entries evicted early to make room (table full).' },
  error: { name: 'error', help: 'Packets with an error (ICMP errors matching no entry, and similar).' },
  searchRestart: { name: 'search_restart', help: 'Lookups restarted because of a concurrent table resize.' },
  clashResolve: { name: 'clash_resolve', help: 'Insert clashes resolved.' },
  chainTooLong: { name: 'chain_too_long', help: 'Entries dropped because their hash chain was too long.' },
};

const tableGauges = () => ({
  up: gauge({ name: 'conntrack_console_netlink_up', help: '1 when the last scrape could read the table statistics over ctnetlink, else 0.' }),
  entries: gauge({ name: 'conntrack_entries', help: 'Entries in the conntrack table (CT_GET_STATS).' }),
  max: gauge({ name: 'conntrack_entries_limit', help: 'Maximum entries (nf_conntrack_max).' }),
  fill: gauge({ name: 'conntrack_fill_ratio', help: 'entries / limit.' }),
  byProtocol: gauge({ name: 'conntrack_entries_by_protocol', help: 'Entries by family and protocol, from the last background count.', labelNames: ['family', 'protocol'] as const }),
  byState: gauge({ name: 'conntrack_entries_by_tcp_state', help: 'TCP entries by state, from the last background count.', labelNames: ['state'] as const }),
  countedAt: gauge({ name: 'conntrack_console_table_count_timestamp_seconds', help: 'When the last background count by protocol and state finished (Unix time).' }),
  countSeconds: gauge({ name: 'conntrack_console_table_count_duration_seconds', help: 'How long the last background count took.' }),
});

const cpuCounters = () =>
  Object.fromEntries(
    (Object.keys(CPU_COUNTERS) as CpuCounter[]).map((key) => [
      key,
      counter({ name: `conntrack_${CPU_COUNTERS[key].name}_total`, help: `${CPU_COUNTERS[key].help} Per CPU, since boot.`, labelNames: ['cpu'] as const }),
    ]),
  ) as Record<CpuCounter, ReturnType<typeof counter<'cpu'>>>;

async function readTable(): Promise<void> {
  const g = tableGauges();
  const counters = cpuCounters();
  try {
    const stats = await consoleService().conntrack.stats();
    g.up.set(1);
    g.entries.set(stats.entries);
    g.max.set(stats.maxEntries);
    g.fill.set(stats.fillRatio);
    for (const key of Object.keys(counters) as CpuCounter[]) {
      const metric = counters[key];
      metric.reset();
      for (const cpu of stats.perCpu) metric.inc({ cpu: String(cpu.cpu) }, cpu[key]);
    }
  } catch (error) {
    g.up.set(0);
    for (const metric of [g.entries, g.max, g.fill]) metric.reset();
    for (const metric of Object.values(counters)) metric.reset();
    logger().warn({ err: error }, 'metrics: cannot read the table statistics');
  }
}

/** How long the first scrape waits for the first background count (later scrapes never wait). */
const FIRST_COUNT_WAIT_MS = 5000;

/** The Prometheus exposition: the table read now, the last background count, the console's own metrics. */
export async function metricsText(): Promise<string> {
  const first = startTableCounter();
  if (first) await Promise.race([first, new Promise((r) => setTimeout(r, FIRST_COUNT_WAIT_MS).unref())]);
  await readTable();
  statsRuntime();
  publishAlarmGauge();
  consoleService().snapshots.publishLeases();
  return metricsRegistry().metrics();
}

const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];

/**
 * One background count: a snapshot, its entries per family, protocol and TCP state read off the snapshot's tallies
 * (one pass over the rows, in steps: a count per label would be some forty passes over a million rows), then retired
 * (its column buffer reused by the next snapshot taken).
 */
export async function countTable(): Promise<void> {
  const started = performance.now();
  const { conntrack, snapshots } = consoleService();
  // Through the registry: the count's snapshot takes a retired buffer and leaves its own for the next refresh.
  const tallies = await snapshots.transient(
    (buffers) => conntrack.snapshot({}, { buffers }),
    (snapshot) => snapshot.tallies(),
  );
  const g = tableGauges();
  g.byProtocol.reset();
  FAMILIES.forEach((family, f) => {
    let other = 0;
    for (let p = 0; p < 256; p++) {
      const n = f ? tallies.v6Protocols[p] : tallies.protocols[p] - tallies.v6Protocols[p];
      if (!n) continue;
      const name = PROTOCOL_NAMES[p];
      if (name) g.byProtocol.set({ family, protocol: name }, n);
      else other += n;
    }
    if (other) g.byProtocol.set({ family, protocol: 'other' }, other);
  });
  g.byState.reset();
  TCP_STATES.forEach((state, s) => {
    if (tallies.states[s]) g.byState.set({ state }, tallies.states[s]);
  });
  g.countedAt.set(Date.now() / 1000);
  g.countSeconds.set((performance.now() - started) / 1000);
}

interface CounterState {
  timer: NodeJS.Timeout | undefined;
  running: Promise<void> | undefined;
}

/**
 * Starts the background count, once per process, on the first scrape (`intervalSeconds` 0 turns it off); returns
 * the first count when this call started it. It runs inside the app (not from scripts/serve.ts, whose own copy
 * of these modules would make kernel errors of another class than the routes map), and stops at shutdown.
 */
export function startTableCounter(intervalSeconds: number = config().metrics.countIntervalSeconds): Promise<void> | undefined {
  if (peekProcessValue('table-counter') || intervalSeconds <= 0) return undefined;
  const state = processValue<CounterState>('table-counter', () => ({ timer: undefined, running: undefined }));
  const run = (): Promise<void> =>
    (state.running ??= countTable()
      .catch((error: unknown) => logger().warn({ err: error }, 'metrics: background count failed'))
      .finally(() => {
        state.running = undefined;
      }));
  const first = run();
  state.timer = setInterval(run, intervalSeconds * 1000);
  state.timer.unref();
  onShutdown('table-count', stopTableCounter);
  return first;
}

/** Stops the background count and waits for one in progress. */
export async function stopTableCounter(): Promise<void> {
  const state = peekProcessValue<CounterState>('table-counter');
  if (!state) return;
  clearInterval(state.timer);
  await state.running;
}
