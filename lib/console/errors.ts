// The one place where errors become HTTP responses. Every route goes through route.ts, which calls this.
import { AuditWriteError, AuthenticationError, AuthInputError, CsrfError, NotFoundError, PermissionError, SetupRequiredError, ThrottledError } from '@/lib/auth';
import { CodecError, NamespaceError, NetlinkError, ValidationError } from '@/lib/conntrack';
import { ShuttingDownError } from '@/lib/lifecycle';
import { logger } from '@/lib/observability';
import { TooManyOpenError } from './limits';
import { BUSY_RETRY_AFTER_SECONDS, describeStoreError, isBusy, sqliteCode, StoreBusyError } from '@/lib/store';
import { shareErrorClass } from '@/lib/process';

/** The intent of a destructive action could not be written, so the action was not carried out. */
export class AuditUnavailableError extends Error {
  override readonly name = 'AuditUnavailableError';
  constructor(
    readonly action: string,
    readonly reason: string,
    /** The database was only locked: the same request may succeed in a moment. */
    readonly busy: boolean,
  ) {
    super(`the audit log cannot record ${action} (${reason}), so nothing was done`);
  }
}

/** A snapshot id the registry never had (404) or has already dropped (410). */
export class SnapshotNotFoundError extends Error {
  override readonly name = 'SnapshotNotFoundError';
  constructor(
    readonly id: string,
    readonly expired: boolean,
  ) {
    super(expired ? `snapshot ${id} has been replaced by newer ones: take a new snapshot` : `no snapshot with id ${id}`);
  }
}

/** The connection a request names is not in the table (any more). */
export class ConnectionGoneError extends Error {
  override readonly name = 'ConnectionGoneError';
  constructor(readonly id: number) {
    super(`connection ${id} is not in the table (it is gone, or the id is unknown)`);
  }
}

/** A setting the console will not change here (a statistic, a global limit, a read-only /proc/sys, ...). */
export class SettingReadOnlyError extends Error {
  override readonly name = 'SettingReadOnlyError';
  constructor(
    readonly setting: string,
    readonly reason: string,
    message: string,
  ) {
    super(`${setting} cannot be changed here: ${message}`);
  }
}

/** The expectation a request names is not in the table (any more: used, timed out or deleted). */
export class ExpectationGoneError extends Error {
  override readonly name = 'ExpectationGoneError';
  constructor(readonly id: number) {
    super(`expectation ${id} is not in the table (it was used, timed out or deleted, or the id is unknown)`);
  }
}

/** The body of every error response. */
export interface ApiErrorBody {
  error: {
    code: string;
    message: string;
    /** The request field that was wrong (400 only). */
    field?: string;
    /** For kernel errors: what failed and the errno name. */
    operation?: string;
    errno?: string;
    /** 503 setup_required: the command that creates the first administrator. */
    command?: string;
    /** 409 setting_read_only: the setting and why it cannot be changed here. */
    setting?: string;
    reason?: string;
    /** 429 (another login, feed or export) and 503 database_busy: seconds until the request may be tried again (also in Retry-After). */
    retryAfterSeconds?: number;
  };
}

const json = (status: number, error: ApiErrorBody['error'], headers?: HeadersInit): Response => Response.json({ error } satisfies ApiErrorBody, { status, headers });

export function invalidRequest(field: string, message: string): Response {
  return json(400, { code: 'invalid_request', field, message });
}

/** Maps any thrown value to a response; logs what the client must not see (with the request id). */
export function errorResponse(error: unknown, requestId?: string): Response {
  const log = (message: string, extra: Record<string, unknown> = {}) => logger().error({ err: error, requestId, ...extra }, message);
  if (error instanceof ValidationError) return invalidRequest(error.field, error.message);
  if (error instanceof AuthInputError) return invalidRequest(error.field, error.message);
  if (error instanceof AuthenticationError) return json(401, { code: 'unauthenticated', message: error.message });
  if (error instanceof PermissionError) return json(403, { code: 'forbidden', message: error.message });
  if (error instanceof CsrfError) return json(403, { code: 'csrf_rejected', message: error.message });
  if (error instanceof ThrottledError) {
    return json(429, { code: 'too_many_attempts', message: error.message, retryAfterSeconds: error.retryAfterSeconds }, { 'Retry-After': String(error.retryAfterSeconds) });
  }
  if (error instanceof TooManyOpenError) {
    return json(429, { code: 'too_many_open', message: error.message, retryAfterSeconds: error.retryAfterSeconds }, { 'Retry-After': String(error.retryAfterSeconds) });
  }
  if (error instanceof SetupRequiredError) return json(503, { code: 'setup_required', message: error.message, command: error.command });
  if (error instanceof NotFoundError) return json(404, { code: 'not_found', message: error.message });
  if (error instanceof AuditUnavailableError) {
    return json(503, { code: 'audit_unavailable', message: error.message }, error.busy ? { 'Retry-After': String(BUSY_RETRY_AFTER_SECONDS) } : undefined);
  }
  if (error instanceof AuditWriteError) {
    log('audit entry not written', { cause: error.cause });
    return json(503, { code: 'audit_unavailable', message: `${error.message}: ${describeStoreError(error.cause)}` });
  }
  if (error instanceof StoreBusyError || isBusy(error)) {
    return json(503, { code: 'database_busy', message: describeStoreError(error), retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS }, { 'Retry-After': String(BUSY_RETRY_AFTER_SECONDS) });
  }
  if (sqliteCode(error)) {
    log('database error');
    return json(503, { code: 'database_unavailable', message: describeStoreError(error) });
  }
  if (error instanceof SnapshotNotFoundError) {
    return json(error.expired ? 410 : 404, { code: error.expired ? 'snapshot_expired' : 'snapshot_not_found', message: error.message });
  }
  if (error instanceof SettingReadOnlyError) return json(409, { code: 'setting_read_only', message: error.message, setting: error.setting, reason: error.reason });
  if (error instanceof ConnectionGoneError || error instanceof ExpectationGoneError) return json(404, { code: 'not_found', message: error.message });
  if (error instanceof ShuttingDownError) return json(503, { code: 'shutting_down', message: error.message }, { 'Retry-After': '5', Connection: 'close' });
  if (error instanceof NamespaceError) {
    log('managed namespace unavailable');
    return json(503, { code: 'namespace_unavailable', message: `the managed network namespace "${error.netns}" cannot be used: ${error.problem}`, operation: error.operation, errno: error.code });
  }
  if (error instanceof NetlinkError) {
    if (error.code === 'EPERM' || error.code === 'EACCES') {
      return json(503, {
        code: 'insufficient_privileges',
        message: 'the server lacks CAP_NET_ADMIN: run it as root or grant it the capability (setcap cap_net_admin+ep on node)',
        operation: error.operation,
        errno: error.code,
      });
    }
    if (error.code === 'ENOENT') return json(404, { code: 'not_found', message: error.message, operation: error.operation, errno: error.code });
    log('kernel error');
    return json(502, { code: 'kernel_error', message: error.message, operation: error.operation, errno: error.code });
  }
  log(error instanceof CodecError ? 'undecodable kernel message' : 'unexpected error');
  return json(500, { code: 'internal_error', message: 'internal server error (details are in the server log)' });
}

// Recognised whichever bundle threw them (see shareErrorClass).
shareErrorClass(AuditUnavailableError, 'AuditUnavailableError');
shareErrorClass(SnapshotNotFoundError, 'SnapshotNotFoundError');
shareErrorClass(ConnectionGoneError, 'ConnectionGoneError');
shareErrorClass(SettingReadOnlyError, 'SettingReadOnlyError');
shareErrorClass(ExpectationGoneError, 'ExpectationGoneError');
