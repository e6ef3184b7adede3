// What every delete path shares: how many entries a dry run shows, and how a carried-out or failed delete is
// counted (metrics), its refused entries logged, and what it deleted told to the history.
import type { Connection, DeleteManyResult, Filter } from '@/lib/conntrack';
import { historyRuntime, type DeletionClaim } from '@/lib/history';
import { deletedEntries, deleteRequests, logger } from '@/lib/observability';

/** How many entries a dry run shows. */
export const PREVIEW_ROWS = 20;

/** Counts a carried-out delete of this kind (metrics: conntrack_console_deleted_entries_total, ..._delete_requests_total). */
export function counted(kind: string, deleted: number): void {
  deletedEntries().inc({ kind }, deleted);
  deleteRequests().inc({ kind, outcome: 'ok' });
}

export function failedKind(kind: string, error: unknown): never {
  deleteRequests().inc({ kind, outcome: 'failed' });
  throw error;
}

export function reportFailures(failed: DeleteManyResult['failed']): void {
  for (const failure of failed) logger().warn({ id: failure.entry.id, errno: failure.error.code, reason: failure.error.message }, 'the kernel refused to delete a connection');
}


/** Tells the history which entries this console deleted for whom: those that send no DESTROY are recorded from this. */
export function recordDeleted(what: { connections: readonly Connection[] } | { filter: Filter }, claim: DeletionClaim): void {
  const recorder = historyRuntime().recorder;
  if (!recorder) return;
  if ('connections' in what) recorder.deletedByConsole(what.connections, claim);
  else void recorder.deletedMatchingByConsole(what.filter, claim);
}
