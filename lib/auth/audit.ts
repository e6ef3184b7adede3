// The audit log: who did what, when, from where, to what, and how many entries it affected. A destructive action
// is written as an intent first (begin: outcome "pending", before anything happens) and completed with its result
// afterwards (complete: ok, failed, or interrupted when the process died in between); a one-step event (a login)
// is written whole (record). Every write that fails throws AuditWriteError.
import { z } from 'zod';
import { assertRoomToWrite, type Store } from '@/lib/store';
import { AuditWriteError } from './errors';
import type { Role } from './roles';

export const AUDIT_ACTIONS = [
  'connection.delete',
  'connections.delete',
  'connections.delete-matching',
  'connections.flush',
  'connections.cleanup',
  'policy.run',
  'expectation.delete',
  'expectations.delete-master',
  'expectations.flush',
  'history.clear',
  'settings.change',
  'demo.uplink',
  'login',
  'login.failed',
  'logout',
  'user.add',
  'user.passwd',
  'user.role',
  'user.del',
  'token.create',
  'token.revoke',
  'audit.prune',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export type ActorKind = 'user' | 'token' | 'cli' | 'anonymous' | 'system' | 'policy';

/** pending: the intent is on record, the result not yet; interrupted: the process ended before the result was. */
export const AUDIT_OUTCOMES = ['pending', 'ok', 'failed', 'denied', 'interrupted'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/**
 * Who acted: a user (session), an API token, the CLI (the Unix user), the console itself (an automatic action), one
 * of the configured cleanup policies (named by the policy), or an unauthenticated client (login).
 */
export interface Actor {
  kind: ActorKind;
  name: string;
  role?: Role;
  /** The client address, or "cli". */
  source: string;
}

export interface AuditRecord {
  actor: Actor;
  action: AuditAction;
  /** What was acted on, in a few words ("connection 1234", "user alice"). */
  target?: string;
  /** The request's intent and the result's details: filter, ids, family, method, failures. */
  details?: Record<string, unknown>;
  /** How many entries the action affected (deleted connections, ended sessions). */
  affected?: number;
  outcome: 'ok' | 'failed' | 'denied';
}

/** What an action is about to do, written (outcome "pending") before it starts. */
export interface AuditIntentRecord {
  actor: Actor;
  action: AuditAction;
  target?: string;
  details?: Record<string, unknown>;
  /** How many entries the action expects to affect, when that is known beforehand. */
  expected?: number;
}

/** How a pending intent ended; `details` are merged into the intent's. */
export interface AuditCompletion {
  outcome: 'ok' | 'failed' | 'interrupted';
  affected?: number;
  details?: Record<string, unknown>;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  actorKind: ActorKind;
  role: Role | null;
  source: string;
  action: AuditAction;
  target: string | null;
  details: Record<string, unknown> | null;
  expected: number | null;
  affected: number | null;
  outcome: AuditOutcome;
  /** When the result was written (null while pending). */
  finishedAt: string | null;
}

interface AuditRow {
  id: number;
  at: number;
  actor: string;
  actor_kind: ActorKind;
  role: Role | null;
  source: string;
  action: AuditAction;
  target: string | null;
  details: string | null;
  expected: number | null;
  affected: number | null;
  outcome: AuditOutcome;
  finished_at: number | null;
}

/** Ids listed in full in one entry's details; beyond that the entry keeps the count and the first ones. */
export const AUDIT_MAX_IDS = 10_000;

const dateText = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z' });
const whole = (field: string, min: number, max: number) =>
  z.union([z.number(), z.string().regex(/^\d+$/, `${field} must be a whole number`).transform(Number)]).pipe(z.number().int().min(min, `${field} must be >= ${min}`).max(max, `${field} must be <= ${max}`));

/** GET /api/audit and the /audit page. */
export const auditQuerySchema = z.strictObject({
  action: z.enum(AUDIT_ACTIONS, { message: `action must be one of ${AUDIT_ACTIONS.join(', ')}` }).optional(),
  actor: z.string().min(1, 'actor must not be empty').max(100, 'actor must be at most 100 characters').optional(),
  outcome: z.enum(AUDIT_OUTCOMES, { message: `outcome must be one of ${AUDIT_OUTCOMES.join(', ')}` }).optional(),
  since: dateText.optional(),
  until: dateText.optional(),
  limit: whole('limit', 1, 1000).default(100),
  offset: whole('offset', 0, Number.MAX_SAFE_INTEGER).default(0),
});
export type AuditQuery = z.output<typeof auditQuerySchema>;

const toEntry = (row: AuditRow): AuditEntry => ({
  id: row.id,
  at: new Date(row.at).toISOString(),
  actor: row.actor,
  actorKind: row.actor_kind,
  role: row.role,
  source: row.source,
  action: row.action,
  target: row.target,
  details: row.details === null ? null : (JSON.parse(row.details) as Record<string, unknown>),
  expected: row.expected,
  affected: row.affected,
  outcome: row.outcome,
  finishedAt: row.finished_at === null ? null : new Date(row.finished_at).toISOString(),
});

export class AuditLog {
  constructor(
    private readonly db: Store,
    private readonly now: () => number = Date.now,
  ) {}

  private insert(record: AuditIntentRecord & { affected?: number; outcome: AuditOutcome }): number {
    const at = this.now();
    try {
      const result = this.db
        .prepare('INSERT INTO audit_log (at, actor, actor_kind, role, source, action, target, details, expected, affected, outcome, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(
          at,
          record.actor.name,
          record.actor.kind,
          record.actor.role ?? null,
          record.actor.source,
          record.action,
          record.target ?? null,
          record.details === undefined ? null : JSON.stringify(record.details),
          record.expected ?? null,
          record.affected ?? null,
          record.outcome,
          record.outcome === 'pending' ? null : at,
        );
      return Number(result.lastInsertRowid);
    } catch (error) {
      throw new AuditWriteError(record.action, { cause: error });
    }
  }

  /**
   * Counts one more occurrence of a repeated event in the entry for `group` (details.group) written since `since`,
   * or writes that entry (attempts 1): a flood of refused logins is one entry per lock window, not one per request.
   */
  recordRepeated(record: AuditRecord & { details: Record<string, unknown> }, group: string, since: number): void {
    try {
      this.db.transaction(() => {
        const at = this.now();
        const seen = this.db
          .prepare("SELECT id FROM audit_log WHERE action = ? AND at >= ? AND json_extract(details, '$.group') = ? ORDER BY id DESC LIMIT 1")
          .get(record.action, since, group) as { id: number } | undefined;
        if (seen) {
          this.db
            .prepare("UPDATE audit_log SET details = json_set(details, '$.attempts', json_extract(details, '$.attempts') + 1, '$.lastAt', ?) WHERE id = ?")
            .run(new Date(at).toISOString(), seen.id);
        } else {
          this.record({ ...record, details: { ...record.details, group, attempts: 1, lastAt: new Date(at).toISOString() } });
        }
      })();
    } catch (error) {
      throw error instanceof AuditWriteError ? error : new AuditWriteError(record.action, { cause: error });
    }
  }

  /**
   * Deletes the entries older than `before` (ms) and records that it did (when it deleted any); returns how many.
   * A pending intent (issue 10: written before its action, completed after) is never pruned, however old.
   */
  prune(before: number, retentionDays: number): number {
    return this.db.transaction(() => {
      const { changes } = this.db.prepare("DELETE FROM audit_log WHERE at < ? AND outcome != 'pending'").run(before);
      if (changes > 0) {
        this.record({
          actor: { kind: 'cli', name: 'retention', source: 'server' },
          action: 'audit.prune',
          target: `entries before ${new Date(before).toISOString()}`,
          details: { retentionDays },
          affected: changes,
          outcome: 'ok',
        });
      }
      return changes;
    })();
  }

  /** Writes one finished entry (one statement: one transaction); throws AuditWriteError when it cannot. */
  record(record: AuditRecord): void {
    this.insert(record);
  }

  /** Writes the intent of an action about to start (outcome "pending") and returns its id for complete(). */
  begin(intent: AuditIntentRecord): number {
    try {
      assertRoomToWrite(this.db);
    } catch (error) {
      throw new AuditWriteError(intent.action, { cause: error });
    }
    return this.insert({ ...intent, outcome: 'pending' });
  }

  /** Completes a pending intent with its result. Idempotent: an entry no longer pending is left as it is. */
  complete(id: number, completion: AuditCompletion): void {
    try {
      this.db
        .transaction(() => {
          const row = this.db.prepare("SELECT details FROM audit_log WHERE id = ? AND outcome = 'pending'").get(id) as { details: string | null } | undefined;
          if (!row) return;
          const details = { ...(row.details === null ? {} : (JSON.parse(row.details) as Record<string, unknown>)), ...completion.details };
          this.db
            .prepare('UPDATE audit_log SET outcome = ?, affected = ?, details = ?, finished_at = ? WHERE id = ?')
            .run(completion.outcome, completion.affected ?? null, JSON.stringify(details), this.now(), id);
        })
        .immediate();
    } catch (error) {
      throw new AuditWriteError(`the result of audit entry ${id}`, { cause: error });
    }
  }

  /** Intents still waiting for their result, oldest first. */
  pending(): AuditEntry[] {
    return (this.db.prepare("SELECT * FROM audit_log WHERE outcome = 'pending' ORDER BY id").all() as AuditRow[]).map(toEntry);
  }

  query(query: AuditQuery): { matched: number; items: AuditEntry[] } {
    const conditions: [string, string | number | undefined][] = [
      ['action = ?', query.action],
      ['actor = ?', query.actor],
      ['outcome = ?', query.outcome],
      ['at >= ?', query.since === undefined ? undefined : Date.parse(query.since)],
      ['at < ?', query.until === undefined ? undefined : Date.parse(query.until)],
    ];
    const used = conditions.filter((c): c is [string, string | number] => c[1] !== undefined);
    const where = used.map(([sql]) => sql);
    const args = used.map(([, value]) => value);
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const matched = (this.db.prepare(`SELECT COUNT(*) AS n FROM audit_log ${clause}`).get(...args) as { n: number }).n;
    const rows = this.db.prepare(`SELECT * FROM audit_log ${clause} ORDER BY id DESC LIMIT ? OFFSET ?`).all(...args, query.limit, query.offset) as AuditRow[];
    return { matched, items: rows.map(toEntry) };
  }
}
