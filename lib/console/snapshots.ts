// The snapshots the console answers from. The page reads one snapshot many times (filter, sort, page, export)
// and asks for a new one explicitly; the table itself changes all the time, so rows never come from a live dump.
import type { Snapshot } from '@/lib/conntrack';
import { SnapshotNotFoundError } from './errors';

/** How many replaced snapshot ids are remembered, to answer 410 (instead of 404) for them. */
const RETIRED_IDS = 256;

/**
 * Keeps the latest snapshot and the one before it (so a page still showing the previous one can finish paging
 * or resolve ids while another tab refreshes). The first read takes a snapshot; concurrent takes share one dump.
 */
export class SnapshotRegistry {
  private latest: Snapshot | undefined;
  private previous: Snapshot | undefined;
  private taking: Promise<Snapshot> | undefined;
  private readonly retired: string[] = [];

  constructor(private readonly take: () => Promise<Snapshot>) {}

  /** The latest snapshot, taking the first one when there is none. */
  async current(): Promise<Snapshot> {
    return this.latest ?? this.refresh();
  }

  /** Takes a new snapshot and makes it the latest. A refresh while one is being taken joins that one. */
  refresh(): Promise<Snapshot> {
    this.taking ??= this.take()
      .then((snapshot) => {
        if (this.previous) this.retire(this.previous.info.id);
        this.previous = this.latest;
        this.latest = snapshot;
        return snapshot;
      })
      .finally(() => {
        this.taking = undefined;
      });
    return this.taking;
  }

  /** The snapshot with this id (404 unknown, 410 replaced), or the current one when no id is given. */
  async get(id?: string): Promise<Snapshot> {
    if (id === undefined) return this.current();
    for (const snapshot of [this.latest, this.previous]) if (snapshot?.info.id === id) return snapshot;
    throw new SnapshotNotFoundError(id, this.retired.includes(id));
  }

  /** The latest snapshot without taking one. */
  peek(): Snapshot | undefined {
    return this.latest;
  }

  private retire(id: string): void {
    this.retired.push(id);
    if (this.retired.length > RETIRED_IDS) this.retired.shift();
  }
}
