// Lifetimes and limits, from the environment with defaults that suit an administrator's console.

export interface AuthConfig {
  /** A session unused this long ends (CONNTRACK_SESSION_IDLE_SECONDS, default 30 min). */
  sessionIdleMs: number;
  /** A session ends this long after login, however busy (CONNTRACK_SESSION_MAX_SECONDS, default 12 h). */
  sessionAbsoluteMs: number;
  /** Failed logins allowed (per address and per name) before each further one waits (CONNTRACK_LOGIN_FREE_FAILURES, default 5). */
  loginFreeFailures: number;
  /** The first wait; it doubles with each further failure (CONNTRACK_LOGIN_BACKOFF_SECONDS, default 2). */
  loginBackoffMs: number;
  /** The longest wait (15 min). */
  loginMaxBackoffMs: number;
  /** Failures older than this are forgotten (1 h). */
  loginFailureMemoryMs: number;
  /** Origins, besides the request's own, that browsers may send state-changing requests from (CONNTRACK_ALLOWED_ORIGINS, comma-separated). */
  allowedOrigins: string[];
  /** Mark cookies Secure even when the request arrived over plain HTTP (behind a TLS-terminating proxy; CONNTRACK_SECURE_COOKIES=1). */
  forceSecureCookies: boolean;
}

function seconds(env: Readonly<Record<string, string | undefined>>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback * 1000;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number of seconds, not "${raw}"`);
  return value * 1000;
}

export function authConfig(env: Readonly<Record<string, string | undefined>> = process.env): AuthConfig {
  const free = env.CONNTRACK_LOGIN_FREE_FAILURES;
  const loginFreeFailures = free === undefined || free === '' ? 5 : Number(free);
  if (!Number.isInteger(loginFreeFailures) || loginFreeFailures < 1) throw new Error(`CONNTRACK_LOGIN_FREE_FAILURES must be a whole number >= 1, not "${free}"`);
  return {
    sessionIdleMs: seconds(env, 'CONNTRACK_SESSION_IDLE_SECONDS', 30 * 60),
    sessionAbsoluteMs: seconds(env, 'CONNTRACK_SESSION_MAX_SECONDS', 12 * 3600),
    loginFreeFailures,
    loginBackoffMs: seconds(env, 'CONNTRACK_LOGIN_BACKOFF_SECONDS', 2),
    loginMaxBackoffMs: 15 * 60_000,
    loginFailureMemoryMs: 3600_000,
    allowedOrigins: (env.CONNTRACK_ALLOWED_ORIGINS ?? '')
      .split(',')
      .map((o) => o.trim().replace(/\/+$/, ''))
      .filter(Boolean),
    forceSecureCookies: env.CONNTRACK_SECURE_COOKIES === '1',
  };
}
