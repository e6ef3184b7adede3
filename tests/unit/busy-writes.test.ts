// The server's own writes while another connection holds the database's write lock: the history writer's thread
// under churn (a few milliseconds at a time), or a second connection holding it longer than the server's 20 ms
// busy_timeout. A login (throttle, session, audit) and a stats sample are tried again and succeed once the lock is
// free; a lock held past the retry budget is StoreBusyError (503 database_busy), not a half-done login.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Stats } from '@/lib/conntrack';
import { authConfig, createAuthService, login, type AuthService } from '@/lib/auth';
import { HistoryStore, type HistoryRecord } from '@/lib/history';
import { HistoryWriter } from '@/lib/history/writer';
import { StatsSampler, StatsStore } from '@/lib/stats';
import { BUSY_BUDGET_MS, openStore, StoreBusyError, type Store } from '@/lib/store';

let dir: string;
let db: Store;
let service: AuthService;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ctc-busy-writes-'));
  db = openStore(dir);
  service = createAuthService({ db, dir, config: authConfig({}) });
  await service.users.add({ name: 'alice', role: 'admin', password: 'the-right-password' });
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const loginRequest = () => new Request('http://console.test/api/auth/login', { method: 'POST', headers: { 'x-forwarded-for': '10.0.0.1' } });
const logIn = () => login(service, loginRequest(), { name: 'alice', password: 'the-right-password' });
const sessions = () => (db.prepare('SELECT COUNT(*) AS n FROM sessions').get() as { n: number }).n;

/** A second connection to the same file holding the write lock until release(). */
function lockHolder(): { release: () => void } {
  const other = new Database(db.name);
  other.exec('BEGIN IMMEDIATE');
  other.prepare('INSERT INTO schema_migrations (module, version, description, applied_at) VALUES (?, ?, ?, ?)').run('lock-holder', 1, 'held', 'now');
  return {
    release: () => {
      other.exec('ROLLBACK');
      other.close();
    },
  };
}

const stats: Stats = {
  entries: 10,
  maxEntries: 100,
  fillRatio: 0.1,
  perCpu: [],
  totals: { found: 0, invalid: 0, insert: 0, insertFailed: 0, drop: 0, earlyDrop: 0, error: 0, searchRestart: 0, clashResolve: 0, chainTooLong: 0 },
  sysctl: { acct: true, timestamp: true, events: 1, buckets: 1024 },
};

describe('writes while another connection holds the lock', () => {
  it('a login waits for a lock held longer than the busy timeout and succeeds once it is free', async () => {
    const holder = lockHolder();
    // Released well within the retry budget, but after several of the server's 20 ms waits.
    setTimeout(() => holder.release(), BUSY_BUDGET_MS / 3);
    const { me, cookies } = await logIn();
    expect(me.name).toBe('alice');
    expect(cookies.length).toBeGreaterThan(0);
    expect(sessions()).toBe(1);
    const audited = db.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'login'").get() as { n: number };
    expect(audited.n).toBe(1);
  });

  it('a lock held past the retry budget refuses the login as busy, and leaves no session', async () => {
    const holder = lockHolder();
    try {
      await expect(logIn()).rejects.toBeInstanceOf(StoreBusyError);
      expect(sessions()).toBe(0);
    } finally {
      holder.release();
    }
    // And once it is free, the same login works.
    await logIn();
    expect(sessions()).toBe(1);
  });

  it('a stats sample waits for the lock and is stored', async () => {
    const store = new StatsStore(db);
    const sampler = new StatsSampler({ source: { stats: () => Promise.resolve(stats) }, store, intervalSeconds: 0 });
    const holder = lockHolder();
    setTimeout(() => holder.release(), BUSY_BUDGET_MS / 3);
    const point = await sampler.sample();
    expect(point.entries).toBe(10);
    expect((db.prepare('SELECT COUNT(*) AS n FROM stats_points').get() as { n: number }).n).toBe(1);
  });

  it('logins while the history writer thread inserts and prunes thousands of rows all succeed', async () => {
    // Partitions of 1,000 rows: the retention below retires 15 of them and empties them.
    const history = new HistoryStore(db, { maxRows: 16_000 });
    const writer = new HistoryWriter(history, () => undefined);
    const rows: HistoryRecord[] = Array.from({ length: 20_000 }, (_v, i) => ({
      id: i,
      family: 'ipv4',
      original: { src: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, dst: '192.0.2.1', protocol: 17, sport: 1024 + (i % 60000), dport: 53 },
      reply: { src: '192.0.2.1', dst: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, protocol: 17, sport: 53, dport: 1024 + (i % 60000) },
      status: 0,
      zone: 0,
      mark: 0,
      endedAt: 1_000_000 + i,
      cause: 'timeout',
    }));
    try {
      expect(writer.threaded).toBe(true);
      let written = false;
      const inserting = new Promise<void>((resolve) =>
        writer.insert(rows, (result) => {
          written = result.error === undefined && result.rows === rows.length;
          resolve();
        }),
      );
      let logins = 0;
      // Logins one after another for as long as the writer works (at least one).
      do {
        await logIn();
        logins++;
      } while (!written && logins < 200);
      await inserting;
      expect(written).toBe(true);
      const pruned = await writer.prune({ maxRows: 5000 });
      expect(pruned).toMatchObject({ rows: 15_000 });
      expect(pruned.error).toBeUndefined();
      expect(sessions()).toBe(logins);
    } finally {
      writer.close();
    }
  }, 120_000);
});
