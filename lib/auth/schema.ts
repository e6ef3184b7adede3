// The auth module's tables, as numbered migrations (lib/store applies them). Secrets are stored only as SHA-256
// hashes (session ids, API tokens: long random values need no slow hash) or scrypt hashes (passwords).
import type { Migration } from '@/lib/store';

export const AUTH_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'users, sessions, API tokens, login throttling, audit log',
    sql: `
      CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'admin')),
        password_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        password_changed_at INTEGER NOT NULL
      );
      CREATE TABLE sessions (
        id_hash TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        csrf_token TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL,
        address TEXT
      );
      CREATE INDEX sessions_user ON sessions(user_id);
      CREATE TABLE api_tokens (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'admin')),
        token_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        last_used_at INTEGER,
        revoked_at INTEGER
      );
      CREATE TABLE login_failures (
        key TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        last_failure_at INTEGER NOT NULL,
        locked_until INTEGER NOT NULL
      );
      CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        actor_kind TEXT NOT NULL CHECK (actor_kind IN ('user', 'token', 'cli', 'anonymous')),
        role TEXT,
        source TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT,
        details TEXT,
        affected INTEGER,
        outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'failed', 'denied'))
      );
      CREATE INDEX audit_at ON audit_log(at);
      CREATE INDEX audit_action ON audit_log(action, at);
      CREATE INDEX audit_actor ON audit_log(actor, at);
    `,
  },
  {
    version: 2,
    description: 'audit intents: an entry is written pending before the action and completed after it',
    // SQLite cannot change a CHECK constraint in place: the table is rebuilt with the new outcomes, the actor kind
    // of automatic actions (system), the time the action finished and the count it expected to affect.
    sql: `
      CREATE TABLE audit_log_v2 (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        actor_kind TEXT NOT NULL CHECK (actor_kind IN ('user', 'token', 'cli', 'anonymous', 'system')),
        role TEXT,
        source TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT,
        details TEXT,
        expected INTEGER,
        affected INTEGER,
        outcome TEXT NOT NULL CHECK (outcome IN ('pending', 'ok', 'failed', 'denied', 'interrupted')),
        finished_at INTEGER
      );
      INSERT INTO audit_log_v2 (id, at, actor, actor_kind, role, source, action, target, details, affected, outcome, finished_at)
        SELECT id, at, actor, actor_kind, role, source, action, target, details, affected, outcome, at FROM audit_log;
      DROP TABLE audit_log;
      ALTER TABLE audit_log_v2 RENAME TO audit_log;
      CREATE INDEX audit_at ON audit_log(at);
      CREATE INDEX audit_action ON audit_log(action, at);
      CREATE INDEX audit_actor ON audit_log(actor, at);
      CREATE INDEX audit_pending ON audit_log(id) WHERE outcome = 'pending';
      -- /api/health now writes to the audit log itself instead of a probe table of its own.
      DROP TABLE IF EXISTS health_probe;
      DELETE FROM schema_migrations WHERE module = 'health';
    `,
  },
  {
    version: 3,
    description: 'audit actor kind policy: the cleanups the console runs by itself (lib/console/policies.ts)',
    // A CHECK constraint again: the table is rebuilt as in version 2, with every column and index kept.
    sql: `
      CREATE TABLE audit_log_v3 (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        actor_kind TEXT NOT NULL CHECK (actor_kind IN ('user', 'token', 'cli', 'anonymous', 'system', 'policy')),
        role TEXT,
        source TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT,
        details TEXT,
        expected INTEGER,
        affected INTEGER,
        outcome TEXT NOT NULL CHECK (outcome IN ('pending', 'ok', 'failed', 'denied', 'interrupted')),
        finished_at INTEGER
      );
      INSERT INTO audit_log_v3 (id, at, actor, actor_kind, role, source, action, target, details, expected, affected, outcome, finished_at)
        SELECT id, at, actor, actor_kind, role, source, action, target, details, expected, affected, outcome, finished_at FROM audit_log;
      DROP TABLE audit_log;
      ALTER TABLE audit_log_v3 RENAME TO audit_log;
      CREATE INDEX audit_at ON audit_log(at);
      CREATE INDEX audit_action ON audit_log(action, at);
      CREATE INDEX audit_actor ON audit_log(actor, at);
      CREATE INDEX audit_pending ON audit_log(id) WHERE outcome = 'pending';
    `,
  },
];
