// SIGTERM while a large delete-matching runs: the delete finishes, its audit entry is completed, the server
// exits 0. With a deadline too short for it, the server exits 1 - and the intent is on record all the same: the
// entry reads "pending" (the next start closes it as interrupted).
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withSeededNamespace } from '@/lib/lab/seeder';
import { countWithConntrack } from '../support/oracle';
import { startServer, type TestServer } from '../support/server';

const ENTRIES = 200_000;
// A port range is not something the kernel can filter a flush by: the console dumps, then deletes one by one.
const FILTER = { family: 'ipv4', dport: '1-65535' };

interface AuditRow {
  action: string;
  outcome: string;
  affected: number | null;
  details: string | null;
}

function auditRows(server: TestServer): AuditRow[] {
  const db = new Database(join(server.dataDir, 'console.db'), { readonly: true });
  try {
    return db.prepare("SELECT action, outcome, affected, details FROM audit_log WHERE action LIKE 'connections.%' ORDER BY id").all() as AuditRow[];
  } finally {
    db.close();
  }
}

/** Starts the delete, waits until entries are actually going, then sends SIGTERM. */
async function deleteThenTerminate(server: TestServer, netns: string): Promise<{ reply: Promise<Response | Error>; before: number }> {
  const before = await countWithConntrack(netns);
  const reply = fetch(`${server.url}/api/connections/delete`, {
    method: 'POST',
    headers: { ...server.authHeaders(), 'Content-Type': 'application/json' },
    body: JSON.stringify({ filter: FILTER }),
  }).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
  for (let i = 0; i < 600 && (await countWithConntrack(netns)) >= before; i++) await new Promise((r) => setTimeout(r, 50));
  expect(await countWithConntrack(netns)).toBeLessThan(before);
  server.kill('SIGTERM');
  return { reply, before };
}

describe('graceful shutdown', () => {
  it('finishes an in-flight delete of ~170,000 entries, writes its audit row, then exits 0', async () => {
    await withSeededNamespace({ count: ENTRIES, role: 'ops' }, async (ns) => {
      const server = await startServer({ netns: ns.name, env: { CONNTRACK_SHUTDOWN_TIMEOUT_SECONDS: '300', CONNTRACK_METRICS_COUNT_INTERVAL_SECONDS: '0' } });
      try {
        const { reply, before } = await deleteThenTerminate(server, ns.name);
        const response = await reply;
        if (response instanceof Error) throw response;
        const outcome = (await response.json()) as { matched: number; deleted: number; method: string; failed: number };
        expect(response.status).toBe(200);
        expect(outcome).toMatchObject({ method: 'dump-delete', failed: 0 });
        expect(outcome.deleted).toBeGreaterThan(100_000);
        expect(await server.exited()).toEqual({ code: 0, signal: null });
        expect(await countWithConntrack(ns.name)).toBe(before - outcome.deleted);
        const rows = auditRows(server);
        expect(rows).toHaveLength(1);
        expect(rows[0]).toMatchObject({ action: 'connections.delete-matching', outcome: 'ok', affected: outcome.deleted });
        expect(JSON.parse(rows[0].details ?? '{}')).toMatchObject({ filter: FILTER, matched: outcome.matched, method: 'dump-delete' });
        const log = server.output();
        expect(log).toMatch(/"msg":"shutting down"/);
        expect(log).toMatch(/"operations":1\b/);
        expect(log).toMatch(/"msg":"stopped"/);
      } finally {
        await server.stop();
      }
    });
  }, 600_000);

  it('exits 1 when the deadline passes first, leaving the intent on record as pending', async () => {
    await withSeededNamespace({ count: ENTRIES, role: 'ops' }, async (ns) => {
      const server = await startServer({ netns: ns.name, env: { CONNTRACK_SHUTDOWN_TIMEOUT_SECONDS: '0.2', CONNTRACK_METRICS_COUNT_INTERVAL_SECONDS: '0' } });
      try {
        const { reply } = await deleteThenTerminate(server, ns.name);
        expect(await server.exited()).toEqual({ code: 1, signal: null });
        expect(await reply).toBeInstanceOf(Error);
        expect(server.output()).toMatch(/"msg":"shutdown deadline passed: exiting with work unfinished"/);
        // The intent was written before the kernel was asked; the process ended before the result was.
        expect(auditRows(server)).toEqual([expect.objectContaining({ action: 'connections.delete-matching', outcome: 'pending', affected: null })]);
      } finally {
        await server.stop();
      }
    });
  }, 600_000);
});
