// Nothing destructive happens off the record: audited() writes the intent (outcome "pending") before the action
// starts, runs it, and completes the entry with the result. When the intent cannot be written the action does not
// run (AuditUnavailableError: 503 audit_unavailable). When the result cannot be written the caller is told
// ("pending") and the result is retried in the background until it is; a process that dies in between leaves a
// pending entry, which the next start closes as "interrupted" with what the kernel shows then
// (closeInterruptedActions). The route wrapper uses it for every audited route; automatic actions call it directly.
import { authService, type Actor, type AuditCompletion, type AuditEntry } from '@/lib/auth';
import { onShutdown, trackOperation } from '@/lib/lifecycle';
import { logger } from '@/lib/observability';
import { describeStoreError, isBusy, retryWhileBusy, StoreBusyError } from '@/lib/store';
import type { AuditIntent } from './audit';
import { AuditUnavailableError } from './errors';

/** Whether the entry of an action is complete ("recorded") or its result is still waiting to be written. */
export type AuditState = 'recorded' | 'pending';

export interface AuditedAction<T> {
  actor: Actor;
  intent: AuditIntent;
  /** How many entries the result affected, and what else of it to keep. */
  result: (value: T) => { affected: number; details?: Record<string, unknown> };
  /** For the log lines. */
  requestId?: string;
}

export interface Audited<T> {
  value: T;
  auditId: number;
  audit: AuditState;
}

/** The store error behind an AuditWriteError (or the error itself). */
function rootCause(error: unknown): unknown {
  if (error instanceof StoreBusyError) return error;
  return error instanceof Error && error.cause !== undefined ? error.cause : error;
}

/** How often results that could not be written are tried again. */
const RETRY_EVERY_MS = 2000;

interface Completions {
  waiting: Map<number, AuditCompletion>;
  timer: NodeJS.Timeout | undefined;
}
// Process-wide: Next bundles every route separately, and the health check and shutdown hook must see them all.
const KEY = Symbol.for('conntrack-console.audit-completions');
type Holder = typeof globalThis & { [KEY]?: Completions };

function completions(): Completions {
  const holder = globalThis as Holder;
  if (!holder[KEY]) {
    holder[KEY] = { waiting: new Map(), timer: undefined };
    onShutdown('audit', () => void retryCompletions());
  }
  return holder[KEY];
}

/** Results of finished actions not yet written (their entries still read "pending"). */
export function unwrittenCompletions(): number {
  return completions().waiting.size;
}

/** Tries to write every waiting result once; returns how many are still waiting. */
export function retryCompletions(): number {
  const state = completions();
  const { audit } = authService();
  for (const [id, completion] of state.waiting) {
    try {
      audit.complete(id, completion);
      state.waiting.delete(id);
      logger().info({ auditId: id, outcome: completion.outcome }, 'audit result written on retry');
    } catch (error) {
      if (!isBusy(rootCause(error))) logger().warn({ auditId: id, reason: describeStoreError(rootCause(error)) }, 'audit result still not written');
    }
  }
  if (state.waiting.size === 0 && state.timer) {
    clearInterval(state.timer);
    state.timer = undefined;
  }
  return state.waiting.size;
}

/** Writes the result of entry `id`; when it cannot, keeps it for the background retry and answers "pending". */
async function complete(id: number, completion: AuditCompletion, requestId: string | undefined): Promise<AuditState> {
  try {
    await retryWhileBusy(() => authService().audit.complete(id, completion));
    return 'recorded';
  } catch (error) {
    const cause = rootCause(error);
    logger().error({ requestId, auditId: id, reason: describeStoreError(cause) }, 'audit result not written: the entry stays pending and is retried');
    const state = completions();
    state.waiting.set(id, completion);
    state.timer ??= setInterval(retryCompletions, RETRY_EVERY_MS).unref();
    return 'pending';
  }
}

/** The error code an entry of a failed action records. */
function failureCode(error: unknown): string {
  return error instanceof Error ? error.name : 'unknown';
}

/**
 * Runs `work` on the record: intent first, result after. Throws AuditUnavailableError (nothing was done) when
 * the intent cannot be written, ShuttingDownError once shutdown has begun, and whatever `work` throws (its entry
 * then reads "failed"). The whole is one in-flight operation the graceful shutdown waits for.
 */
export async function audited<T>(action: AuditedAction<T>, work: () => Promise<T>): Promise<Audited<T>> {
  const { actor, intent, requestId } = action;
  return trackOperation(intent.action, async () => {
    let id: number;
    try {
      id = await retryWhileBusy(() => authService().audit.begin({ actor, ...intent }));
    } catch (error) {
      const cause = rootCause(error);
      logger().error({ requestId, action: intent.action, reason: describeStoreError(cause) }, 'audit intent not written: the action was refused');
      throw new AuditUnavailableError(intent.action, describeStoreError(cause), isBusy(cause) || cause instanceof StoreBusyError);
    }
    let value: T;
    try {
      value = await work();
    } catch (error) {
      await complete(id, { outcome: 'failed', details: { error: failureCode(error) } }, requestId);
      throw error;
    }
    const result = action.result(value);
    const audit = await complete(id, { outcome: 'ok', affected: result.affected, details: result.details }, requestId);
    logger().info({ requestId, auditId: id, action: intent.action, actor: actor.name, affected: result.affected, audit }, 'destructive action done');
    return { value, auditId: id, audit };
  });
}

/** What the kernel shows now of a pending entry's target (entries still there), or undefined when unknown. */
export type RemainingCounter = (entry: AuditEntry) => Promise<number | undefined>;

/**
 * Closes the entries a previous process left pending (it died between intent and result) as "interrupted", with
 * `remaining` (what the kernel shows now, from `countRemaining`) and, when the intent knew how many it expected,
 * an estimate of how many went (`affected` = expected - remaining). Call once at start, before new actions run.
 */
export async function closeInterruptedActions(countRemaining: RemainingCounter, entries: AuditEntry[] = authService().audit.pending()): Promise<number> {
  const { audit } = authService();
  for (const entry of entries) {
    let remaining: number | undefined;
    try {
      remaining = await countRemaining(entry);
    } catch (error) {
      logger().warn({ auditId: entry.id, err: error }, 'could not count what an interrupted action left');
    }
    const affected = remaining !== undefined && entry.expected !== null ? Math.max(0, entry.expected - remaining) : undefined;
    const details = { interruptedAt: new Date().toISOString(), remaining: remaining ?? null, affectedEstimated: affected !== undefined };
    await retryWhileBusy(() => audit.complete(entry.id, { outcome: 'interrupted', affected, details }));
    logger().warn({ auditId: entry.id, action: entry.action, expected: entry.expected, remaining }, 'an action of the previous run was interrupted: closed its audit entry');
  }
  return entries.length;
}
