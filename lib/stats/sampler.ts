// The sampler: every N seconds two cheap requests (CT_GET_STATS and CT_GET_STATS_CPU, never a dump) and the
// history recorder's event counters become one point - entries and the maximum, and per second since the point
// before: new and ended connections, drop, early_drop, invalid, insert_failed.
import type { Stats } from '@/lib/conntrack';
import { retryWhileBusy } from '@/lib/store';
import type { StatsPoint, StatsStore } from './store';

/** NEW and DESTROY events seen since the recorder started (undefined: no recorder, so no rates of them). */
export interface EventTotals {
  created: number;
  destroyed: number;
}

export interface SamplerOptions {
  /** The managed table's statistics (Conntrack.stats()). */
  source: { stats(): Promise<Stats> };
  store: StatsStore;
  intervalSeconds: number;
  events?: () => EventTotals | undefined;
  now?: () => number;
  /** Told of each stored point (the alarm listens). */
  onSample?: (point: StatsPoint) => void;
  log?: (message: string) => void;
}

interface Totals {
  at: number;
  drop: number;
  earlyDrop: number;
  invalid: number;
  insertFailed: number;
  created: number | undefined;
  destroyed: number | undefined;
}

/** Per second between two readings of a counter; null when one is missing or the counter went back (a restart). */
function rate(now: number | undefined, before: number | undefined, seconds: number): number | null {
  if (now === undefined || before === undefined || now < before || seconds <= 0) return null;
  return (now - before) / seconds;
}

export class StatsSampler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<StatsPoint | undefined> | undefined;
  private previous: Totals | undefined;
  private last: StatsPoint | undefined;
  private failure: string | undefined;
  private readonly now: () => number;

  constructor(private readonly options: SamplerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The newest point taken by this sampler. */
  get latest(): StatsPoint | undefined {
    return this.last;
  }

  /** Why the last sample failed (cleared by the next good one). */
  get error(): string | undefined {
    return this.failure;
  }

  /** Takes one point now, stores it and tells onSample. */
  async sample(): Promise<StatsPoint> {
    const stats = await this.options.source.stats();
    const at = this.now();
    const events = this.options.events?.();
    const t = stats.totals;
    const totals: Totals = { at, drop: t.drop, earlyDrop: t.earlyDrop, invalid: t.invalid, insertFailed: t.insertFailed, created: events?.created, destroyed: events?.destroyed };
    const p = this.previous;
    const seconds = p ? (at - p.at) / 1000 : 0;
    const point: StatsPoint = {
      at,
      entries: stats.entries,
      max: stats.maxEntries,
      new: rate(totals.created, p?.created, seconds),
      ended: rate(totals.destroyed, p?.destroyed, seconds),
      drop: rate(totals.drop, p?.drop, seconds),
      earlyDrop: rate(totals.earlyDrop, p?.earlyDrop, seconds),
      invalid: rate(totals.invalid, p?.invalid, seconds),
      insertFailed: rate(totals.insertFailed, p?.insertFailed, seconds),
    };
    this.previous = totals;
    // Tried again while the database is locked: the history writer's thread holds it a few milliseconds at a time
    // under churn, longer than the server's statements wait (20 ms) only when the machine is starved.
    await retryWhileBusy(() => this.options.store.insert(point));
    this.last = point;
    this.options.onSample?.(point);
    return point;
  }

  /** Samples now and then every intervalSeconds; a failed sample is logged and the next one tried. */
  start(): void {
    if (this.timer || this.options.intervalSeconds <= 0) return;
    const run = () => {
      this.running ??= this.sample()
        .then(
          (point) => {
            this.failure = undefined;
            return point;
          },
          (error: unknown) => {
            const message = error instanceof Error ? error.message : String(error);
            if (message !== this.failure) this.options.log?.(`stats: sample failed: ${message}`);
            this.failure = message;
            return undefined;
          },
        )
        .finally(() => {
          this.running = undefined;
        });
    };
    run();
    this.timer = setInterval(run, this.options.intervalSeconds * 1000);
    this.timer.unref();
  }

  /** Stops sampling and waits for a sample in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
