// What each destructive route records in the audit log: the intent (ids, filter, family) before the kernel is
// asked, the result (how many entries went) after. route.ts writes both as one entry once the kernel has answered.
import { AUDIT_MAX_IDS, type AuditAction } from '@/lib/auth';
import type { DeleteOutcome } from './connections';
import type { DeleteBody, FlushBody } from './schemas';

export interface AuditIntent {
  action: AuditAction;
  target?: string;
  details?: Record<string, unknown>;
}

export interface AuditSpec<I, P, R> {
  /** What the request is about to do; null when there is nothing to record (a dry run). */
  intent: (args: { input: I; params: P }) => AuditIntent | null;
  /** How many entries the result affected, and what else of it to keep. */
  result: (result: R) => { affected: number; details?: Record<string, unknown> };
}

/** The filter as the client wrote it: parsed values (CIDR prefixes, ...) that keep their source text become that text. */
function filterAsWritten(filter: unknown): unknown {
  return JSON.parse(JSON.stringify(filter, (_key, value: unknown) => (value && typeof value === 'object' && 'text' in value && typeof value.text === 'string' ? value.text : value)));
}

export const deleteOneAudit: AuditSpec<unknown, { id: number }, unknown> = {
  intent: ({ params }) => ({ action: 'connection.delete', target: `connection ${params.id}`, details: { id: params.id } }),
  result: () => ({ affected: 1 }),
};

export const deleteAudit: AuditSpec<DeleteBody, unknown, DeleteOutcome> = {
  intent: ({ input }) => {
    if (input.dryRun) return null;
    if (input.ids) {
      const ids = input.ids.slice(0, AUDIT_MAX_IDS);
      return { action: 'connections.delete', target: `${input.ids.length} connection ids`, details: { ids, idCount: input.ids.length, idsTruncated: ids.length < input.ids.length, snapshot: input.snapshot ?? 'latest' } };
    }
    return { action: 'connections.delete-matching', target: 'connections matching a filter', details: { filter: filterAsWritten(input.filter) } };
  },
  result: (outcome) => ({ affected: outcome.deleted, details: { matched: outcome.matched, alreadyGone: outcome.alreadyGone, failed: outcome.failed, method: outcome.method } }),
};

export const flushAudit: AuditSpec<FlushBody, unknown, { deleted: number }> = {
  intent: ({ input }) => ({ action: 'connections.flush', target: input.family ? `${input.family} table` : 'whole table', details: { family: input.family ?? 'all' } }),
  result: (outcome) => ({ affected: outcome.deleted }),
};
