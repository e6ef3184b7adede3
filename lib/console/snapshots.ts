// The snapshots the console answers from. The page reads one snapshot many times (filter, sort, page, export)
// and asks for a new one explicitly; the table itself changes all the time, so rows never come from a live dump.
// A retired snapshot's column buffer is written over by a later refresh, once nothing reads it any more: every
// snapshot a request gets from here is leased until the request's answer is complete (an export: until its body
// ends, fails or is cancelled), so what a request reads is always its snapshot's rows.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ColumnBuffers, Snapshot, SpareBuffers } from '@/lib/conntrack';
import { counter, gauge } from '@/lib/observability';
import { processValue } from '@/lib/process';
import { SnapshotNotFoundError } from './errors';

/** How many replaced snapshot ids are remembered, to answer 410 (instead of 404) for them. */
const RETIRED_IDS = 256;
/**
 * Retired snapshots kept for their column buffers until their readers are done; an older one is let go (the
 * collector frees it after its last reader), so a reader that never ends cannot pin more than this many.
 */
const RETIRED_BUFFERS = 2;

/** The snapshots one request reads: each one the registry hands out during the request is leased until release(). */
export class SnapshotReads {
  private readonly held = new Map<Snapshot, () => void>();
  private closed = false;

  hold(snapshot: Snapshot): void {
    // After release() (work the request left running), a lease would never be released: none is taken.
    if (this.closed || this.held.has(snapshot)) return;
    this.held.set(snapshot, snapshot.lease());
  }

  /** Releases every lease (idempotent). */
  release(): void {
    this.closed = true;
    for (const release of this.held.values()) release();
    this.held.clear();
  }
}

// Next bundles each route separately: one store for the process, so every route's registry calls see the scope.
const scopes = (): AsyncLocalStorage<SnapshotReads> => processValue('snapshot-reads', () => new AsyncLocalStorage<SnapshotReads>());

/** Runs a request's work with `reads` as its scope: the snapshots it gets from a registry are leased into it. */
export function readingSnapshots<T>(reads: SnapshotReads, run: () => Promise<T>): Promise<T> {
  return scopes().run(reads, run);
}

const columnBuffers = () =>
  counter({
    name: 'conntrack_console_snapshot_column_buffers_total',
    help: "Snapshots taken for the console, by where their column buffer came from: 'reused' (a retired snapshot's that no reader held) or 'new'.",
    labelNames: ['source'] as const,
  });
const leaseGauge = () =>
  gauge({ name: 'conntrack_console_snapshot_leases', help: 'Readers (requests, exports, background sorts) holding a snapshot the console keeps or has retired.' });

/** A dump in flight, and the console's write count (Conntrack.writes) when it was asked for. */
interface Take {
  snapshot: Promise<Snapshot>;
  writes: number;
}

/**
 * Keeps the latest snapshot and the one before it (so a page still showing the previous one can finish paging
 * or resolve ids while another tab refreshes). The first read takes a snapshot; concurrent takes share one dump,
 * and a take while the history's whole-table dump runs (transient, joinable) shares that one: only while the
 * console has not written to the table since that dump began, so a refresh always shows the console's own deletes.
 * The one before previous is retired: its column buffer goes to the next take once no reader holds it (as does a
 * transient snapshot's, the /metrics count's, once counted).
 */
export class SnapshotRegistry {
  private latest: Snapshot | undefined;
  private previous: Snapshot | undefined;
  private taking: Take | undefined;
  private readonly retired: string[] = [];
  /** Retired snapshots whose column buffers have not been handed on yet, oldest first. */
  private readonly spent: Snapshot[] = [];
  private readonly buffers: ColumnBuffers = { take: (min, max) => this.freeBuffer(min, max) };
  /** A whole-table transient snapshot being taken (the history's dumps): a take meanwhile joins it. */
  private joinable: Take | undefined;
  /** Transient snapshots a take joined: they are the console's now, not retired when their reader is done. */
  private readonly adopted = new WeakSet<Snapshot>();

  private readonly joined: (snapshot: Snapshot) => Promise<void>;
  private readonly writes: () => number;

  /**
   * `take` dumps a new snapshot, writing its columns into a buffer from `buffers` when one is free. `joined` does
   * for a joined transient snapshot what `take` does after its dump (the kernel counters read with it). `writes`
   * counts the console's writes to the table as they begin and end (Conntrack.writes): a dump in flight is joined
   * only while it stays the same, so a refresh after a delete never gets a dump begun before it.
   */
  constructor(
    private readonly take: (buffers: ColumnBuffers) => Promise<Snapshot>,
    options: { joined?: (snapshot: Snapshot) => Promise<void>; writes?: () => number } = {},
  ) {
    this.joined = options.joined ?? (() => Promise.resolve());
    this.writes = options.writes ?? (() => 0);
  }

  /** The latest snapshot, taking the first one when there is none. */
  async current(): Promise<Snapshot> {
    return this.held(this.latest ?? (await this.taken()));
  }

  /** Takes a new snapshot and makes it the latest. A refresh while one is being taken joins that one. */
  async refresh(): Promise<Snapshot> {
    return this.held(await this.taken());
  }

  /** The snapshot with this id (404 unknown, 410 replaced), or the current one when no id is given. */
  async get(id?: string): Promise<Snapshot> {
    if (id === undefined) return this.current();
    for (const snapshot of [this.latest, this.previous]) if (snapshot?.info.id === id) return this.held(snapshot);
    throw new SnapshotNotFoundError(id, this.retired.includes(id));
  }

  /** The latest snapshot without taking one. */
  peek(): Snapshot | undefined {
    return this.latest && this.held(this.latest);
  }

  /**
   * A snapshot only `read` reads (the /metrics background count, the history's dumps): taken into a free column
   * buffer when there is one, and retired as soon as `read` is done, so its buffer goes to the next take (a refresh
   * or the next count) instead of to the collector. A `joinable` one (a whole-table dump of the history's) is
   * joined by a take while it is being taken: it is then the console's, and not retired here.
   */
  async transient<T>(take: (buffers: ColumnBuffers) => Promise<Snapshot>, read: (snapshot: Snapshot) => Promise<T>, options: { joinable?: boolean } = {}): Promise<T> {
    const taking: Take = { snapshot: take(this.buffers), writes: this.writes() };
    if (options.joinable) this.joinable = taking;
    let snapshot: Snapshot;
    try {
      snapshot = await taking.snapshot;
    } finally {
      if (this.joinable === taking) this.joinable = undefined;
    }
    columnBuffers().inc({ source: snapshot.reusedBuffer ? 'reused' : 'new' });
    // Leased while read: a take that joined it may retire it meanwhile (two refreshes), and its buffer must not go.
    const release = snapshot.lease();
    try {
      return await read(snapshot);
    } finally {
      release();
      if (!this.adopted.has(snapshot)) this.keepBuffer(snapshot);
    }
  }

  /** Leases held on the snapshots kept and on the retired ones not handed on yet. */
  leases(): number {
    return [this.latest, this.previous, ...this.spent].reduce((sum, snapshot) => sum + (snapshot?.readers ?? 0), 0);
  }

  /** Sets the lease gauge (on each /metrics scrape). */
  publishLeases(): void {
    leaseGauge().set(this.leases());
  }

  /**
   * The take in flight, or a new one. While a whole-table transient snapshot is being taken (the history's start-up
   * dump or a reconcile), the take joins it instead of dumping the table a second time beside it: at a million
   * entries, the first refresh of a fresh server took 3.6-4.0 s beside the history's seeding dump, 2.7-3.1 s alone.
   */
  private taken(): Promise<Snapshot> {
    const writes = this.writes();
    if (this.taking?.writes === writes) return this.taking.snapshot;
    // A take begun before one of the console's writes, or during one, may not show it: a refresh after a delete
    // waits for that take (so the latest stays the newest), then dumps on its own.
    const before = this.taking?.snapshot.then(
      () => undefined,
      () => undefined,
    );
    const taking: Take = { writes, snapshot: (before ? before.then(() => this.takeOrJoin()) : this.takeOrJoin()).then((snapshot) => this.install(snapshot)) };
    this.taking = taking;
    void taking.snapshot.then(
      () => this.doneTaking(taking),
      () => this.doneTaking(taking),
    );
    return taking.snapshot;
  }

  private install(snapshot: Snapshot): Snapshot {
    if (this.previous) this.retire(this.previous);
    this.previous = this.latest;
    this.latest = snapshot;
    return snapshot;
  }

  private doneTaking(taking: Take): void {
    if (this.taking === taking) this.taking = undefined;
  }

  private takeOrJoin(): Promise<Snapshot> {
    const joining = this.joinable?.writes === this.writes() ? this.joinable.snapshot : undefined;
    if (joining) {
      return joining.then(async (snapshot) => {
        this.adopted.add(snapshot);
        await this.joined(snapshot);
        return snapshot;
      });
    }
    return this.take(this.buffers).then((snapshot) => {
      columnBuffers().inc({ source: snapshot.reusedBuffer ? 'reused' : 'new' });
      return snapshot;
    });
  }

  /** The snapshot, leased for the request being answered (if any). */
  private held(snapshot: Snapshot): Snapshot {
    scopes().getStore()?.hold(snapshot);
    return snapshot;
  }

  private retire(snapshot: Snapshot): void {
    this.retired.push(snapshot.info.id);
    if (this.retired.length > RETIRED_IDS) this.retired.shift();
    this.keepBuffer(snapshot);
  }

  private keepBuffer(snapshot: Snapshot): void {
    this.spent.push(snapshot);
    if (this.spent.length > RETIRED_BUFFERS) this.spent.shift();
  }

  /** The buffers of a retired snapshot no reader holds, whose column buffer has between min and max bytes. */
  private freeBuffer(min: number, max: number): SpareBuffers | undefined {
    for (let i = 0; i < this.spent.length; i++) {
      const bytes = this.spent[i].bufferBytes;
      if (bytes < min || bytes > max) continue;
      const spare = this.spent[i].handOver();
      if (!spare) continue;
      this.spent.splice(i, 1);
      return spare;
    }
    return undefined;
  }
}
