// The process-wide console service: one Conntrack client for the managed namespace, its snapshot registry and the
// kernel counters read with each snapshot.
import { config } from '@/lib/config';
import { Conntrack, isEmptyFilter, type ColumnBuffers, type Snapshot } from '@/lib/conntrack';
import { historyRuntime } from '@/lib/history';
import { CounterReadings } from './counters';
import { SnapshotRegistry } from './snapshots';
import { processValue } from '@/lib/process';

export interface ConsoleService {
  conntrack: Conntrack;
  snapshots: SnapshotRegistry;
  /** The kernel's per-CPU counters as read with each snapshot. */
  counters: CounterReadings;
}

export function createConsoleService(options: { netns?: string } = {}): ConsoleService {
  const conntrack = new Conntrack({ netns: options.netns });
  const counters = new CounterReadings();
  // The kernel counters read with each snapshot: all a take that joins the history's dump in flight adds (the
  // history reads that snapshot itself, no reconcile).
  const joined = (snapshot: Snapshot) => counters.record(snapshot.info.id, () => conntrack.stats());
  const take = async (buffers: ColumnBuffers) => {
    const snapshot = await conntrack.snapshot({}, { buffers });
    // Each refresh also tells the history which entries open at its start have ended meanwhile.
    await historyRuntime().recorder?.reconcileWith(snapshot);
    await joined(snapshot);
    return snapshot;
  };
  // A dump is joined only while the console has not written to the table since it began (deletes, flushes).
  const snapshots = new SnapshotRegistry(take, { joined, writes: () => conntrack.writes });
  // The history's own snapshots (its start-up dump, its reconciles) share the registry's spare column buffers, and a
  // refresh while one is being taken joins it. A filtered one is small and would push a full-size spare out: it
  // takes a buffer of its own.
  historyRuntime().recorder?.readSnapshotsWith(options.netns, async (filter, read) =>
    isEmptyFilter(filter) ? snapshots.transient((buffers) => conntrack.snapshot({}, { buffers }), read, { joinable: true }) : read(await conntrack.snapshot(filter)),
  );
  return { conntrack, snapshots, counters };
}

// Next bundles each route separately, so module state is not shared between routes: keep the one service on
// globalThis.
/** The service for this server process; the configured namespace (CONNTRACK_NETNS) to manage (unset: our own). */
export function consoleService(): ConsoleService {
  return processValue('service', () => createConsoleService({ netns: config().netns }));
}
