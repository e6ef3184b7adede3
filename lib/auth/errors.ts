import { shareErrorClass } from '@/lib/process';
// What can go wrong when a request asks who it is and what it may do. lib/console/errors.ts maps these to HTTP.

/** No valid credentials: no session, an expired or ended one, an unknown or revoked token, a wrong password. */
export class AuthenticationError extends Error {
  override readonly name = 'AuthenticationError';
}

/** Authenticated, but the role does not grant the permission. */
export class PermissionError extends Error {
  override readonly name = 'PermissionError';
  constructor(
    readonly role: string,
    readonly permission: string,
  ) {
    super(`the ${role} role may not ${permission}: ask an administrator`);
  }
}

/** A state-changing browser request that failed the Origin or CSRF-token check. */
export class CsrfError extends Error {
  override readonly name = 'CsrfError';
}

/** Too many failed logins from this address or for this name: try again after retryAfterSeconds. */
export class ThrottledError extends Error {
  override readonly name = 'ThrottledError';
  constructor(readonly retryAfterSeconds: number) {
    super(`too many failed logins: wait ${retryAfterSeconds} s before trying again`);
  }
}

/** No user exists yet: the console refuses to serve until an administrator is created with the CLI. */
export class SetupRequiredError extends Error {
  override readonly name = 'SetupRequiredError';
  constructor(readonly command: string) {
    super(`no administrator exists yet: create the first one on the server with: ${command}`);
  }
}

/** The audit log could not be written; the action it describes must be reported as failed. */
export class AuditWriteError extends Error {
  override readonly name = 'AuditWriteError';
  constructor(
    readonly action: string,
    options: { cause: unknown },
  ) {
    super(`the audit log could not record ${action}`, options);
  }
}

/** Input to a user or token operation that is not acceptable (CLI exit code 2, HTTP 400). */
export class AuthInputError extends Error {
  override readonly name = 'AuthInputError';
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(reason.startsWith(`${field} `) ? reason : `${field}: ${reason}`);
  }
}

/** A user or token the operation names does not exist. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

// Recognised whichever bundle threw them (see shareErrorClass).
shareErrorClass(AuthenticationError, 'AuthenticationError');
shareErrorClass(PermissionError, 'PermissionError');
shareErrorClass(CsrfError, 'CsrfError');
shareErrorClass(ThrottledError, 'ThrottledError');
shareErrorClass(SetupRequiredError, 'SetupRequiredError');
shareErrorClass(AuditWriteError, 'AuditWriteError');
shareErrorClass(AuthInputError, 'AuthInputError');
shareErrorClass(NotFoundError, 'NotFoundError');
