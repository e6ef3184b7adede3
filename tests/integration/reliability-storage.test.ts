// Bad storage is caught at start, before the server listens: a corrupt file header, a corrupt audit table and a
// read-only data directory (a real read-only bind mount: root ignores file modes) each end the start with exit 2
// and one line naming the file and the problem. A corrupt history table does not stop the console: recording stops
// and health says so, while deletes (the audit log) keep working.
import Database from 'better-sqlite3';
import { mkdtempSync, openSync, rmSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestNamespace, runCommand, type TestNamespace } from '../support/oracle';
import { createToken, createUser } from '../support/auth';
import { startServer } from '../support/server';
import { until } from '../support/until';

/** A data directory with an administrator and an admin token, as `ctconsole` leaves it. */
async function dataDirWithUsers(): Promise<{ dir: string; admin: { name: string; password: string; role: 'admin'; token: string } }> {
  const dir = mkdtempSync(join(tmpdir(), 'ctc-storage-'));
  const user = await createUser(dir, { name: 'admin', role: 'admin' });
  const token = await createToken(dir, { name: 'tests', role: 'admin' });
  return { dir, admin: { ...user, role: 'admin', token } };
}

/** Overwrites the first bytes of the root page of `table` (checkpointed into the main file first). */
function corruptTable(dir: string, table: string, rows: (db: Database.Database) => void): void {
  const file = join(dir, 'console.db');
  const db = new Database(file);
  rows(db);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.pragma('journal_mode = DELETE');
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const { rootpage } = db.prepare('SELECT rootpage FROM sqlite_master WHERE name = ?').get(table) as { rootpage: number };
  db.close();
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.alloc(64, 0xa5), 0, 64, (rootpage - 1) * pageSize);
  closeSync(fd);
}

async function refusedStart(netns: string, dir: string): Promise<string> {
  const error = await startServer({ netns, dataDir: dir, admin: { name: 'admin', password: 'x', role: 'admin', token: 'x' } }).then(
    async (server) => {
      await server.stop();
      throw new Error('the server started');
    },
    (e: unknown) => (e instanceof Error ? e.message : String(e)),
  );
  return error;
}

describe('storage checked at start', () => {
  let ns: TestNamespace | undefined;

  it('refuses to start on a corrupt header, a corrupt audit table or a read-only data directory (exit 2, one line)', async () => {
    ns = await createTestNamespace('ctc-store');
    const dirs: string[] = [];
    try {
      const header = await dataDirWithUsers();
      dirs.push(header.dir);
      const file = join(header.dir, 'console.db');
      const db = new Database(file);
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.pragma('journal_mode = DELETE');
      db.close();
      const fd = openSync(file, 'r+');
      writeSync(fd, Buffer.from('this is not an SQLite database!!'), 0, 32, 0);
      closeSync(fd);
      expect(await refusedStart(ns.name, header.dir)).toMatch(new RegExp(`exited with 2:\\n(.*\\n)*storage: ${file}: the database file is corrupt \\(SQLITE_NOTADB\\)`));

      const audit = await dataDirWithUsers();
      dirs.push(audit.dir);
      corruptTable(audit.dir, 'audit_log', (d) => {
        const insert = d.prepare("INSERT INTO audit_log (at, actor, actor_kind, source, action, outcome) VALUES (?, 'admin', 'user', '127.0.0.1', 'login', 'ok')");
        d.transaction(() => {
          for (let i = 0; i < 5000; i++) insert.run(i);
        })();
      });
      expect(await refusedStart(ns.name, audit.dir)).toMatch(/exited with 2:\n(.*\n)*storage: .*console\.db: table audit_log is corrupt.+: restore it from a backup\n/);

      const readOnly = await dataDirWithUsers();
      dirs.push(readOnly.dir);
      expect((await runCommand(['mount', '--bind', readOnly.dir, readOnly.dir])).exitCode).toBe(0);
      try {
        expect((await runCommand(['mount', '-o', 'remount,bind,ro', readOnly.dir])).exitCode).toBe(0);
        expect(await refusedStart(ns.name, readOnly.dir)).toMatch(/exited with 2:\n(.*\n)*storage: .*console\.db: .*(read-only|cannot be opened).*/);
      } finally {
        await runCommand(['umount', readOnly.dir]);
      }
    } finally {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
      await ns.dispose();
    }
  }, 600_000);

  it('a corrupt history table stops recording, health says why, and a delete still goes through with its audit row', async () => {
    const history = await createTestNamespace('ctc-hist');
    const data = await dataDirWithUsers();
    try {
      // A first start creates the history tables (partition 0 is "history"); the check at start does not read them.
      await (await startServer({ netns: history.name, dataDir: data.dir, admin: data.admin })).stop();
      corruptTable(data.dir, 'history', () => undefined);
      const server = await startServer({ netns: history.name, dataDir: data.dir, admin: data.admin });
      try {
        const recorder = await until(
          'the recorder check to fail',
          async () => ((await (await fetch(`${server.url}/api/health`, { headers: server.authHeaders() })).json()) as { checks: Record<string, { status: string; detail: string }> }).checks.recorder,
          { done: (check) => check?.status === 'fail', timeoutMs: 60_000 },
        );
        expect(recorder.detail).toMatch(/^the history table is corrupt or unreadable: .*recording has stopped/);

        const made = await runCommand(['ip', 'netns', 'exec', history.name, 'conntrack', '-I', '-p', 'tcp', '-s', '192.0.2.7', '-d', '198.51.100.7', '--sport', '40000', '--dport', '443', '--state', 'ESTABLISHED', '-t', '600']);
        expect(made.exitCode).toBe(0);
        const page = (await (await fetch(`${server.url}/api/connections?src=192.0.2.7`, { headers: server.authHeaders() })).json()) as { items: { id: number }[] };
        expect(page.items).toHaveLength(1);
        const deleted = await fetch(`${server.url}/api/connections/delete`, {
          method: 'POST',
          headers: { ...server.authHeaders(), 'Content-Type': 'application/json' },
          body: JSON.stringify({ ids: [page.items[0].id] }),
        });
        expect(deleted.status).toBe(200);
        const listed = await runCommand(['ip', 'netns', 'exec', history.name, 'conntrack', '-L', '-s', '192.0.2.7']);
        expect(listed.stdout).not.toContain('192.0.2.7');
        const db = new Database(join(data.dir, 'console.db'), { readonly: true });
        try {
          const rows = db.prepare("SELECT outcome, affected FROM audit_log WHERE action LIKE 'connection%' ORDER BY id").all();
          expect(rows).toEqual([{ outcome: 'ok', affected: 1 }]);
        } finally {
          db.close();
        }
      } finally {
        await server.stop();
      }
    } finally {
      rmSync(data.dir, { recursive: true, force: true });
      await history.dispose();
    }
  }, 300_000);
});
