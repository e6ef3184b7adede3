// Users, sessions, API tokens, permissions, login throttling and the audit log. Knows HTTP requests and cookies,
// nothing of conntrack: lib/console calls into it from its one route wrapper.
export { AUDIT_ACTIONS, AUDIT_MAX_IDS, AUDIT_OUTCOMES, AuditLog, auditQuerySchema, type Actor, type AuditAction, type AuditCompletion, type AuditEntry, type AuditIntentRecord, type AuditOutcome, type AuditQuery, type AuditRecord } from './audit';
export { authConfig, type AuthConfig } from './config';
export { AuditWriteError, AuthenticationError, AuthInputError, CsrfError, NotFoundError, PermissionError, SetupRequiredError, ThrottledError } from './errors';
export {
  actorOf,
  authenticate,
  authorize,
  checkCsrf,
  checkOrigin,
  clientAddress,
  cookie,
  CSRF_COOKIE,
  CSRF_HEADER,
  SESSION_COOKIE,
  stillAllowed,
  type Principal,
} from './http';
export { describePrincipal, login, loginBodySchema, logout, throttledCheck, WRONG_CREDENTIALS, type LoginBody, type Me } from './login';
export { PERMISSIONS, ROLES, roleAllows, type Permission, type Role } from './roles';
export { authService, createAuthService, firstAdminCommand, pruneAudit, requireSetup, type AuthService } from './service';
export { TOKEN_PREFIX, type ApiToken } from './tokens';
export type { Attempt } from './throttle';
export type { User } from './users';
export { AUTH_TABLES, checkAuthStorage, checkStartupStorage, probeAuthStorage } from './storage';
export { pageAccess, pageAccessFromHeaders, safeNextPath, type PageAccess } from './pages';
export { changeOwnPassword, passwordChangeSchema, WRONG_CURRENT_PASSWORD, type PasswordChange } from './account';
