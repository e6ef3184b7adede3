// The kernel's per-CPU counters (CT_GET_STATS_CPU) as read when each snapshot was taken, so a page can say how
// much each one grew since the previous snapshot. The counters only ever grow (since boot, or since the
// namespace was made); a reading is small (ten numbers per CPU), so a few dozen are kept.
import type { CpuStats, Stats } from '@/lib/conntrack';
import { logger } from '@/lib/observability';

/** The per-CPU counters at one moment. */
export interface CounterReading {
  /** ISO 8601: when the kernel was asked. */
  readAt: string;
  perCpu: CpuStats[];
}

/** A reading taken together with a snapshot. */
export interface SnapshotCounters extends CounterReading {
  snapshot: string;
}

/** More than the registry keeps (latest and previous), so a page on an older snapshot still finds its baseline. */
const KEPT = 32;

export class CounterReadings {
  private readonly readings: SnapshotCounters[] = [];

  /**
   * Reads the counters for the snapshot (id) just taken. A failed read is logged and leaves no reading: the snapshot
   * stands, the page then has no baseline for the next one.
   */
  async record(snapshot: string, read: () => Promise<Pick<Stats, 'perCpu'>>): Promise<void> {
    try {
      const { perCpu } = await read();
      this.readings.push({ snapshot, readAt: new Date().toISOString(), perCpu });
      if (this.readings.length > KEPT) this.readings.shift();
    } catch (error) {
      logger().warn({ snapshot, err: error }, 'could not read the kernel counters with the snapshot');
    }
  }

  /**
   * The reading taken with the snapshot before `snapshot` (default: the latest): what "since the previous
   * snapshot" counts from. With no earlier one, the snapshot's own reading; null when neither is known.
   */
  baselineFor(snapshot?: string): SnapshotCounters | null {
    const at = snapshot === undefined ? this.readings.length - 1 : this.readings.findIndex((r) => r.snapshot === snapshot);
    if (at < 0) return null;
    return this.readings[Math.max(0, at - 1)];
  }
}
