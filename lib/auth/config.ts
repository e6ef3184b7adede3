// Lifetimes and limits, from the console's configuration (lib/config: environment, config file, defaults).
import { config, loadConfig } from '@/lib/config';

export interface AuthConfig {
  /** A session unused this long ends (CONNTRACK_SESSION_IDLE_SECONDS, default 30 min). */
  sessionIdleMs: number;
  /** A session ends this long after login, however busy (CONNTRACK_SESSION_MAX_SECONDS, default 12 h). */
  sessionAbsoluteMs: number;
  /** Failed logins for one name from one address before that pair is locked, and for one name before its attempts are slowed (CONNTRACK_LOGIN_FREE_FAILURES, default 5). */
  loginFreeFailures: number;
  /** Failed logins from one address, for any names, before the address is locked (CONNTRACK_LOGIN_ADDRESS_FREE_FAILURES, default 20). */
  loginAddressFreeFailures: number;
  /** The first wait; it doubles with each further failure (CONNTRACK_LOGIN_BACKOFF_SECONDS, default 2). */
  loginBackoffMs: number;
  /** The longest lock (15 min). */
  loginMaxBackoffMs: number;
  /** The longest delay before checking a password for a name under attack (10 s): it slows guessing, never locks the owner out. */
  loginNameMaxDelayMs: number;
  /** Failures older than this are forgotten (1 h). */
  loginFailureMemoryMs: number;
  /** Audit entries older than this are pruned, pending intents never (CONNTRACK_AUDIT_RETENTION_DAYS, default 365). */
  auditRetentionMs: number;
  /** Origins, besides the request's own, that browsers may send state-changing requests from (CONNTRACK_ALLOWED_ORIGINS, comma-separated). */
  allowedOrigins: string[];
  /** Mark cookies Secure even when the request arrived over plain HTTP (behind a TLS-terminating proxy; CONNTRACK_SECURE_COOKIES=1). */
  forceSecureCookies: boolean;
}

/**
 * The auth part of the console's configuration (lib/config): the process's own, or the one `env` describes (the
 * CLI and tests pass an environment; its CONNTRACK_CONFIG file is read too).
 */
export function authConfig(env?: Readonly<Record<string, string | undefined>>): AuthConfig {
  const c = env ? loadConfig({ env }) : config();
  return {
    sessionIdleMs: c.session.idleSeconds * 1000,
    sessionAbsoluteMs: c.session.maxSeconds * 1000,
    loginFreeFailures: c.login.freeFailures,
    loginAddressFreeFailures: c.login.addressFreeFailures,
    loginBackoffMs: c.login.backoffSeconds * 1000,
    loginMaxBackoffMs: 15 * 60_000,
    loginNameMaxDelayMs: 10_000,
    loginFailureMemoryMs: 3600_000,
    auditRetentionMs: c.audit.retentionDays * 86_400_000,
    allowedOrigins: c.allowedOrigins,
    forceSecureCookies: c.secureCookies,
  };
}
