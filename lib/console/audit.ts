// What each destructive route records in the audit log: the intent (ids, filter, family, how many entries it
// expects to affect) written before the kernel is asked, the result (how many entries went) after - route.ts runs
// both through audited(). remainingNow() says what the kernel still shows of an intent a crash left pending.
import { AUDIT_MAX_IDS, authService, type AuditAction, type AuditEntry } from '@/lib/auth';
import { parseFilter, type Snapshot } from '@/lib/conntrack';
import { closeInterruptedActions } from './audited';
import { deleteFilter, type DeleteOutcome } from './connections';
import type { CleanupOutcome } from './cleanup';
import { labelFilterOptions } from './labels';
import type { CleanupBody, DeleteBody, FlushBody } from './schemas';
import { consoleService } from './service';
import { PREVIEW_ROWS } from './delete-outcome';

export interface AuditIntent {
  action: AuditAction;
  target?: string;
  details?: Record<string, unknown>;
  /** How many entries the action expects to affect (from the latest snapshot or the kernel's count). */
  expected?: number;
}

export interface AuditSpec<I, P, R> {
  /** What the request is about to do; null when there is nothing to record (a dry run). `raw` is the unparsed input. */
  intent: (args: { input: I; params: P; raw: unknown }) => AuditIntent | null | Promise<AuditIntent | null>;
  /** How many entries the result affected, and what else of it to keep. */
  result: (result: R) => { affected: number; details?: Record<string, unknown> };
}

/** The filter exactly as the client sent it: readable in the log, and parsed again to count what is left after a crash. */
function filterAsSent(raw: unknown): unknown {
  return raw && typeof raw === 'object' && 'filter' in raw ? raw.filter : undefined;
}

export const deleteOneAudit: AuditSpec<unknown, { id: number }, unknown> = {
  intent: ({ params }) => ({ action: 'connection.delete', target: `connection ${params.id}`, details: { id: params.id }, expected: 1 }),
  result: () => ({ affected: 1 }),
};

export const deleteAudit: AuditSpec<DeleteBody, unknown, DeleteOutcome> = {
  intent: async ({ input, raw }) => {
    if (input.dryRun) return null;
    if (input.ids) {
      const ids = input.ids.slice(0, AUDIT_MAX_IDS);
      const snapshot = await consoleService().snapshots.get(input.snapshot);
      const expected = new Set(input.ids.filter((id) => snapshot.rowOfId(id) >= 0)).size;
      return {
        action: 'connections.delete',
        target: `${input.ids.length} connection ids`,
        details: { ids, idCount: input.ids.length, idsTruncated: ids.length < input.ids.length, snapshot: snapshot.info.id },
        expected,
      };
    }
    // The latest snapshot's count is what the operator saw; the kernel may hold more or fewer by now.
    const latest = consoleService().snapshots.peek();
    const filter = deleteFilter(input);
    const expected = latest?.count(filter);
    // host=NAME: the addresses it stood for now are what the delete removes, so they are what the log keeps.
    const host = filter.host ? { hostAddresses: filter.host.addresses.map((prefix) => prefix.text) } : {};
    return { action: 'connections.delete-matching', target: filter.host ? `connections of host ${filter.host.name}` : 'connections matching a filter', details: { filter: filterAsSent(raw), ...host, expectedFrom: latest?.info.id ?? null }, expected };
  },
  result: (outcome) => ({
    affected: outcome.deleted,
    details: {
      matched: outcome.matched,
      alreadyGone: outcome.alreadyGone,
      failed: outcome.failed,
      method: outcome.method,
      // Which ids went and which were already gone (ids deletes), the first entries that went (filter deletes).
      deletedIds: outcome.deletedIds?.slice(0, AUDIT_MAX_IDS),
      goneIds: outcome.goneIds?.slice(0, AUDIT_MAX_IDS),
      failedIds: outcome.failedIds?.slice(0, AUDIT_MAX_IDS),
      went: outcome.went,
    },
  }),
};

export const flushAudit: AuditSpec<FlushBody, unknown, { deleted: number }> = {
  intent: async ({ input }) => {
    const latest = consoleService().snapshots.peek();
    const expected = input.family ? latest?.count({ family: input.family }) : await consoleService().conntrack.count();
    return { action: 'connections.flush', target: input.family ? `${input.family} table` : 'whole table', details: { family: input.family ?? 'all' }, expected };
  },
  result: (outcome) => ({ affected: outcome.deleted }),
};

/** How many of the entries a pending intent named are still in `table`; undefined for actions it cannot tell. */
export function remainingNow(entry: AuditEntry, table: Snapshot): number | undefined {
  const details = entry.details ?? {};
  switch (entry.action) {
    case 'connection.delete':
      return typeof details.id === 'number' && table.rowOfId(details.id) >= 0 ? 1 : 0;
    case 'connections.delete': {
      const ids = Array.isArray(details.ids) ? details.ids.filter((id): id is number => typeof id === 'number') : [];
      return new Set(ids.filter((id) => table.rowOfId(id) >= 0)).size;
    }
    case 'connections.delete-matching': {
      // The host's addresses as recorded: the name files may say otherwise by now.
      const recorded = Array.isArray(details.hostAddresses) ? details.hostAddresses.filter((a): a is string => typeof a === 'string') : [];
      return table.count(parseFilter(details.filter, { ...labelFilterOptions(), hostAddresses: () => recorded }));
    }
    case 'connections.flush':
      return table.count(details.family === 'ipv4' || details.family === 'ipv6' ? { family: details.family } : {});
    default:
      return undefined;
  }
}

/**
 * At start: closes the entries the previous run left pending as "interrupted", counted against a fresh snapshot.
 * The pending entries are read at once (before any new action can start); the counting runs in the background.
 */
export async function closeInterrupted(): Promise<number> {
  const pending = authService().audit.pending();
  if (pending.length === 0) return 0;
  const table = consoleService().snapshots.refresh();
  return closeInterruptedActions(async (entry) => remainingNow(entry, await table), pending);
}

export const cleanupAudit: AuditSpec<CleanupBody, unknown, CleanupOutcome> = {
  intent: ({ input }) =>
    input.dryRun
      ? null
      : {
          action: 'connections.cleanup',
          target: input.wan !== undefined ? `uplink ${input.wan}` : `${input.addresses!.length} addresses`,
          details: { wan: input.wan ?? null, addresses: input.addresses ?? null, inbound: input.inbound },
        },
  result: (outcome) => ({
    affected: outcome.outbound.deleted + (outcome.inbound?.deleted ?? 0),
    details: {
      addresses: outcome.addresses.map((a) => a.address),
      filter: { externalAddressIn: outcome.addresses.map((a) => a.address), kinds: outcome.inbound ? ['snat', 'dnat'] : ['snat'] },
      outbound: outcome.outbound.deleted,
      inboundDeleted: outcome.inbound?.deleted ?? 0,
      matched: outcome.outbound.matched + (outcome.inbound?.matched ?? 0),
      activeUplink: outcome.activeUplink,
      // The first entries that went (outbound first), as delete-matching records them.
      went: [...(outcome.outbound.went ?? []), ...(outcome.inbound?.went ?? [])].slice(0, PREVIEW_ROWS),
    },
  }),
};
