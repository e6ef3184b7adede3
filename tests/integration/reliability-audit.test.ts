// Nothing destructive happens off the record, against the real server and kernel: kill -9 in the middle of a
// 100,000-entry delete leaves its intent pending, and the next start closes it as interrupted with what the kernel
// still holds; a full disk (a real tmpfs) or another process holding the database's write lock (a second SQLite
// connection) means 503 audit_unavailable and not one entry deleted - while health answers at once and says why.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withSeededNamespace } from '@/lib/lab/seeder';
import { countWithConntrack, listWithConntrack, runCommand } from '../support/oracle';
import { startServer, type TestServer } from '../support/server';
import { until } from '../support/until';

const FILTER = { family: 'ipv4', protocol: 'tcp', dport: '1-65535' };
const TCP4 = ['-f', 'ipv4', '-p', 'tcp'];

interface AuditRow {
  id: number;
  action: string;
  outcome: string;
  expected: number | null;
  affected: number | null;
  details: string | null;
}

function auditRows(dataDir: string): AuditRow[] {
  const db = new Database(join(dataDir, 'console.db'), { readonly: true });
  try {
    return db.prepare("SELECT id, action, outcome, expected, affected, details FROM audit_log WHERE action LIKE 'connection%' ORDER BY id").all() as AuditRow[];
  } finally {
    db.close();
  }
}

// A fresh connection per request: the oracle's slow listings between requests outlast the server's keep-alive,
// and a reused connection the server is just closing fails with "other side closed".
const headers = (server: TestServer) => ({ ...server.authHeaders(), Connection: 'close' });
const post = (server: TestServer, path: string, body: unknown) =>
  fetch(`${server.url}${path}`, { method: 'POST', headers: { ...headers(server), 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

/** The ids of the latest snapshot's first `n` TCP entries (GET /api/connections takes the snapshot). */
async function someIds(server: TestServer, n: number): Promise<number[]> {
  const ids: number[] = [];
  for (let offset = 0; ids.length < n; offset += 1000) {
    const page = (await (await fetch(`${server.url}/api/connections?protocol=tcp&limit=1000&offset=${offset}`, { headers: headers(server) })).json()) as { items: { id: number }[] };
    if (!page.items.length) break;
    ids.push(...page.items.map((item) => item.id));
  }
  return ids.slice(0, n);
}

/** How many of `ids` the kernel still holds (conntrack -L -o id). Seeded entries also expire on their own. */
async function present(netns: string, ids: readonly number[]): Promise<number> {
  const wanted = new Set(ids);
  // Distinct ids: conntrack ids are 32-bit hashes, so among 20,000 entries another entry can share a wanted id.
  const seen = (await listWithConntrack({ netns, ktimestamp: false, icmpDetails: false })).filter((entry) => entry.id !== undefined && wanted.has(entry.id));
  return new Set(seen.map((entry) => entry.id)).size;
}

const timed = async <T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> => {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
};

describe('audit intents on a real server', () => {
  it('kill -9 mid-delete leaves the intent pending; the next start closes it as interrupted with what is left', async () => {
    await withSeededNamespace({ count: 200_000, role: 'rel' }, async (ns) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'ctc-rel-'));
      let server = await startServer({ netns: ns.name, dataDir, env: { CONNTRACK_METRICS_COUNT_INTERVAL_SECONDS: '0' } });
      try {
        // The snapshot the operator looked at gives the intent its expected count.
        await someIds(server, 1);
        const before = await countWithConntrack(ns.name, TCP4);
        expect(before).toBeGreaterThan(100_000);
        const total = await countWithConntrack(ns.name);
        const reply = post(server, '/api/connections/delete', { filter: FILTER }).catch((error: unknown) => error);
        // `conntrack -C` reads the kernel's counter at once (a filtered listing of 200,000 entries takes longer
        // than the whole delete on an idle machine), so the kill lands while the pipelined deletes still run.
        await until('entries to go', async () => (await countWithConntrack(ns.name)) < total - 1000, { timeoutMs: 120_000, everyMs: 5 });
        server.kill('SIGKILL');
        expect(await server.exited()).toEqual({ code: null, signal: 'SIGKILL' });
        expect(await reply).toBeInstanceOf(Error);
        const [pending] = auditRows(dataDir);
        expect(pending).toMatchObject({ action: 'connections.delete-matching', outcome: 'pending', expected: before, affected: null });
        expect(JSON.parse(pending.details ?? '{}')).toMatchObject({ filter: FILTER });

        const left = await countWithConntrack(ns.name, TCP4);
        expect(left).toBeGreaterThan(0);
        server = await startServer({ netns: ns.name, dataDir, admin: server.admin, env: { CONNTRACK_METRICS_COUNT_INTERVAL_SECONDS: '0' } });
        const closed = await until('the entry to be closed', () => auditRows(dataDir).find((row) => row.id === pending.id && row.outcome !== 'pending'), { timeoutMs: 120_000, everyMs: 100 });
        expect(closed).toMatchObject({ outcome: 'interrupted', expected: before, affected: before - left });
        expect(JSON.parse(closed.details ?? '{}')).toMatchObject({ filter: FILTER, remaining: left, affectedEstimated: true });
        expect(server.output()).toContain('an action of the previous run was interrupted');
      } finally {
        await server.stop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  }, 600_000);

  it('refuses to delete on a full disk (tmpfs): 503 audit_unavailable, nothing deleted, health names the disk', async () => {
    await withSeededNamespace({ count: 20_000, role: 'rel' }, async (ns) => {
      const mount = mkdtempSync(join(tmpdir(), 'ctc-full-'));
      expect((await runCommand(['mount', '-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mount])).exitCode).toBe(0);
      let server: TestServer | undefined;
      try {
        server = await startServer({ netns: ns.name, dataDir: join(mount, 'data'), env: { CONNTRACK_METRICS_COUNT_INTERVAL_SECONDS: '0' } });
        const ids = await someIds(server, 5000);
        // Fill what is left of the file system (dd stops with ENOSPC).
        await runCommand(['dd', 'if=/dev/zero', `of=${join(mount, 'fill')}`, 'bs=64k']);
        const refused = await post(server, '/api/connections/delete', { ids });
        expect(refused.status).toBe(503);
        const body = (await refused.json()) as { error: { code: string; message: string } };
        expect(body.error).toMatchObject({ code: 'audit_unavailable', message: expect.stringContaining('disk holding the data directory is full') });
        const health = await fetch(`${server.url}/api/health`, { headers: headers(server) });
        expect(health.status).toBe(503);
        const report = (await health.json()) as { checks: Record<string, { status: string; detail?: string }> };
        expect(report.checks.database).toMatchObject({ status: 'fail', detail: expect.stringContaining('disk holding the data directory is full') });
        // Seeded entries do not expire during the test: every id the snapshot had is still there.
        const before = await present(ns.name, ids);
        expect(before).toBe(ids.length);

        rmSync(join(mount, 'fill'));
        const done = await post(server, '/api/connections/delete', { ids });
        expect(done.status).toBe(200);
        const outcome = (await done.json()) as { deleted: number; audit: string };
        expect(outcome).toMatchObject({ deleted: ids.length, failed: 0, audit: 'recorded' });
        expect(await present(ns.name, ids)).toBe(0);
      } finally {
        await server?.stop();
        await runCommand(['umount', mount]);
        rmSync(mount, { recursive: true, force: true });
      }
    });
  }, 600_000);

  it('while another process holds the write lock: deletes are refused at once, health and lists answer quickly', async () => {
    await withSeededNamespace({ count: 20_000, role: 'rel' }, async (ns) => {
      const server = await startServer({ netns: ns.name, env: { CONNTRACK_METRICS_COUNT_INTERVAL_SECONDS: '0' } });
      const other = new Database(join(server.dataDir, 'console.db'));
      try {
        const ids = await someIds(server, 100);
        const list = () => fetch(`${server.url}/api/connections?limit=100`, { headers: headers(server) });
        const health = () => fetch(`${server.url}/api/health`, { headers: headers(server) });
        const free = { list: (await timed(list)).ms, health: (await timed(health)).ms };
        other.exec('BEGIN IMMEDIATE');
        const refused = await timed(() => post(server, '/api/connections/delete', { ids }));
        expect(refused.value.status).toBe(503);
        expect(refused.value.headers.get('retry-after')).toBe('1');
        expect(((await refused.value.json()) as { error: { code: string } }).error.code).toBe('audit_unavailable');
        expect(await present(ns.name, ids)).toBe(ids.length);
        const locked = { list: await timed(list), health: await timed(health) };
        expect(locked.list.value.status).toBe(200);
        expect(locked.health.value.status).toBe(503);
        const report = (await locked.health.value.json()) as { checks: Record<string, { status: string; detail?: string }> };
        expect(report.checks.database).toMatchObject({ status: 'fail', detail: expect.stringContaining('locked by another process') });
        expect(report.checks.netlink.status).toBe('ok');
        // Figures for the report (no timed assertions: the machine is shared).
        console.log(
          `write lock held: health ${locked.health.ms.toFixed(0)} ms (free ${free.health.toFixed(0)} ms), list ${locked.list.ms.toFixed(0)} ms (free ${free.list.toFixed(0)} ms), refused delete ${refused.ms.toFixed(0)} ms`,
        );
        other.exec('ROLLBACK');

        const done = await post(server, '/api/connections/delete', { ids });
        expect(done.status).toBe(200);
        expect(await present(ns.name, ids)).toBe(0);
      } finally {
        if (other.inTransaction) other.exec('ROLLBACK');
        other.close();
        await server.stop();
      }
    });
  }, 600_000);
});
