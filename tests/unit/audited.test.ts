// Intent-first auditing through the real route wrapper on a real SQLite file: the intent is on record before the
// handler runs, a failed intent write means the handler never runs (503 audit_unavailable), a failed result write
// is reported ("pending") and retried, a second connection holding the write lock is answered within the retry
// budget, and pending entries of a dead process are closed as interrupted.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { authService, type Actor } from '@/lib/auth';
import { audited, closeInterruptedActions, retryCompletions, unwrittenCompletions } from '@/lib/console/audited';
import { route } from '@/lib/console/route';
import { logger } from '@/lib/observability';
import { DATABASE_FILE } from '@/lib/store';

const dir = mkdtempSync(join(tmpdir(), 'ctc-audited-unit-'));
const previous = process.env.CONNTRACK_DATA_DIR;
let secret = '';

beforeAll(async () => {
  process.env.CONNTRACK_DATA_DIR = dir;
  const service = authService();
  await service.users.add({ name: 'admin', role: 'admin', password: 'long-enough-pw' });
  secret = service.tokens.create({ name: 'script', role: 'admin', createdBy: 'test' }).secret;
  vi.spyOn(logger(), 'error').mockImplementation(() => undefined);
  vi.spyOn(logger(), 'warn').mockImplementation(() => undefined);
});

afterAll(() => {
  vi.restoreAllMocks();
  if (previous === undefined) delete process.env.CONNTRACK_DATA_DIR;
  else process.env.CONNTRACK_DATA_DIR = previous;
  rmSync(dir, { recursive: true, force: true });
});

interface Row {
  id: number;
  outcome: string;
  expected: number | null;
  affected: number | null;
  details: string | null;
  finished_at: number | null;
}
const rows = (): Row[] => authService().db.prepare("SELECT id, outcome, expected, affected, details, finished_at FROM audit_log WHERE action = 'connections.flush' ORDER BY id").all() as Row[];

/** A flush-like route whose handler reports what the audit log held while it ran. */
function flushRoute() {
  const seen: Row[][] = [];
  const handler = route({
    permission: 'flush',
    source: 'body',
    schema: z.strictObject({}),
    audit: { intent: () => ({ action: 'connections.flush', target: 'whole table', expected: 10 }), result: (r: { deleted: number }) => ({ affected: r.deleted, details: { method: 'test' } }) },
    handler: () => {
      seen.push(rows());
      return Promise.resolve({ deleted: 7 });
    },
  });
  const call = () => handler(new Request('http://console.test/api/x', { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'x-forwarded-for': '192.0.2.7' }, body: '{}' }), { params: Promise.resolve({}) });
  return { call, seen };
}

describe('an audited route', () => {
  it('writes the intent (pending, with the expected count) before the handler runs, and completes it after', async () => {
    const { call, seen } = flushRoute();
    const response = await call();
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ deleted: 7, audit: 'recorded' });
    expect(response.headers.get('x-audit')).toBe('recorded');
    const during = seen[0].at(-1);
    expect(during).toMatchObject({ outcome: 'pending', expected: 10, affected: null, finished_at: null });
    const after = rows().at(-1);
    expect(after).toMatchObject({ id: during?.id, outcome: 'ok', expected: 10, affected: 7 });
    expect(after?.finished_at).toEqual(expect.any(Number));
    expect(JSON.parse(after?.details ?? '{}')).toEqual({ method: 'test' });
  });

  it('does not run the handler when the intent cannot be written: 503 audit_unavailable with the reason', async () => {
    const { call, seen } = flushRoute();
    const before = rows().length;
    authService().db.exec("CREATE TRIGGER audit_full BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    try {
      const response = await call();
      expect(response.status).toBe(503);
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('audit_unavailable');
      expect(body.error.message).toMatch(/cannot record connections\.flush \(.+\), so nothing was done/);
      expect(seen).toHaveLength(0);
      expect(rows()).toHaveLength(before);
    } finally {
      authService().db.exec('DROP TRIGGER audit_full');
    }
  });

  it('says "pending" when the result cannot be written, and writes it on a retry', async () => {
    const { call, seen } = flushRoute();
    authService().db.exec("CREATE TRIGGER audit_stuck BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    let id: number | undefined;
    try {
      const response = await call();
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ deleted: 7, audit: 'pending' });
      expect(seen).toHaveLength(1);
      id = rows().at(-1)?.id;
      expect(rows().at(-1)).toMatchObject({ outcome: 'pending', affected: null });
      expect(unwrittenCompletions()).toBe(1);
      expect(retryCompletions()).toBe(1);
    } finally {
      authService().db.exec('DROP TRIGGER audit_stuck');
    }
    expect(retryCompletions()).toBe(0);
    expect(rows().find((row) => row.id === id)).toMatchObject({ outcome: 'ok', affected: 7 });
  });

  it('answers 503 audit_unavailable (Retry-After) without running the handler while another connection holds the write lock', async () => {
    const { call, seen } = flushRoute();
    const other = new Database(join(dir, DATABASE_FILE));
    other.exec('BEGIN IMMEDIATE');
    try {
      const response = await call();
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('1');
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(body.error).toMatchObject({ code: 'audit_unavailable', message: expect.stringContaining('locked by another process') });
      expect(seen).toHaveLength(0);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect((await call()).status).toBe(200);
  });

  it('records a failed action as failed, with the error', async () => {
    const actor: Actor = { kind: 'system', name: 'policy', source: 'console' };
    await expect(audited({ actor, intent: { action: 'connections.flush', expected: 3 }, result: () => ({ affected: 0 }) }, () => Promise.reject(new RangeError('kernel said no')))).rejects.toThrow('kernel said no');
    expect(rows().at(-1)).toMatchObject({ outcome: 'failed', expected: 3, affected: null });
    expect(JSON.parse(rows().at(-1)?.details ?? '{}')).toEqual({ error: 'RangeError' });
  });
});

describe('closing interrupted actions', () => {
  it('closes what a dead process left pending as interrupted, with the remaining count and the estimate', async () => {
    const { audit } = authService();
    const actor: Actor = { kind: 'user', name: 'admin', source: '127.0.0.1' };
    const counted = audit.begin({ actor, action: 'connections.flush', details: { family: 'all' }, expected: 100 });
    const unknown = audit.begin({ actor, action: 'connections.flush', details: { family: 'all' } });
    expect(audit.pending().map((entry) => entry.id)).toEqual([counted, unknown]);
    const closed = await closeInterruptedActions((entry) => Promise.resolve(entry.id === counted ? 40 : undefined));
    expect(closed).toBe(2);
    expect(audit.pending()).toEqual([]);
    const byId = new Map(rows().map((row) => [row.id, row]));
    expect(byId.get(counted)).toMatchObject({ outcome: 'interrupted', expected: 100, affected: 60 });
    expect(JSON.parse(byId.get(counted)?.details ?? '{}')).toMatchObject({ family: 'all', remaining: 40, affectedEstimated: true });
    expect(byId.get(unknown)).toMatchObject({ outcome: 'interrupted', expected: null, affected: null });
    expect(JSON.parse(byId.get(unknown)?.details ?? '{}')).toMatchObject({ remaining: null, affectedEstimated: false });
  });
});
