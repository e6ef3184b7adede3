// The auth service for this process: the store (migrated once), the configuration, and the parts built on them.
import { dataDir, migrate, sharedStore, type Store } from '@/lib/store';
import { AuditLog } from './audit';
import { authConfig, type AuthConfig } from './config';
import { SetupRequiredError } from './errors';
import { AUTH_MIGRATIONS } from './schema';
import { Sessions } from './sessions';
import { LoginThrottle } from './throttle';
import { ApiTokens } from './tokens';
import { Users } from './users';
import { processValue } from '@/lib/process';

export interface AuthService {
  db: Store;
  config: AuthConfig;
  users: Users;
  sessions: Sessions;
  tokens: ApiTokens;
  throttle: LoginThrottle;
  audit: AuditLog;
  /** The shell command that creates the first administrator for this data directory. */
  setupCommand: string;
}

const quote = (value: string): string => (/^[\w./@:=-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`);

export function firstAdminCommand(dir: string, cwd: string = process.cwd()): string {
  return `cd ${quote(cwd)} && CONNTRACK_DATA_DIR=${quote(dir)} npx ctconsole user add admin --role admin`;
}

export function createAuthService(options: { db: Store; dir: string; config?: AuthConfig; now?: () => number }): AuthService {
  const { db } = options;
  const config = options.config ?? authConfig();
  const now = options.now ?? Date.now;
  migrate(db, 'auth', AUTH_MIGRATIONS);
  return {
    db,
    config,
    users: new Users(db, now),
    sessions: new Sessions(db, config, now),
    tokens: new ApiTokens(db, now),
    throttle: new LoginThrottle(db, config, now),
    audit: new AuditLog(db, now),
    setupCommand: firstAdminCommand(options.dir),
  };
}

/** How often the server prunes the audit log beyond its retention. */
const AUDIT_PRUNE_EVERY_MS = 3600_000;

/** Deletes audit entries older than the retention (CONNTRACK_AUDIT_RETENTION_DAYS); the pruning is itself audited. */
export function pruneAudit(service: AuthService, now: number = Date.now()): number {
  return service.audit.prune(now - service.config.auditRetentionMs, Math.round(service.config.auditRetentionMs / 86_400_000));
}

/** The service for this server process, on the database in CONNTRACK_DATA_DIR (default ./data). */
export function authService(): AuthService {
  return processValue('auth', () => {
    const dir = dataDir();
    const service = createAuthService({ db: sharedStore(dir), dir });
    pruneAudit(service);
    setInterval(() => pruneAudit(service), AUDIT_PRUNE_EVERY_MS).unref();
    return service;
  });
}

/** Throws SetupRequiredError until a user exists. */
export function requireSetup(service: AuthService): void {
  if (service.users.count() === 0) throw new SetupRequiredError(service.setupCommand);
}
