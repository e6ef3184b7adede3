// What happens around the recorder and the process, against the real server and kernel: SIGTERM with only a live
// feed open exits 0 at once; a managed namespace deleted and created again under the same name is followed (events
// switched on again, new connections recorded); the time a kill -9 kept the console down is a gap in the history;
// a namespace that cannot be entered or does not exist is named as such.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestNamespace, insertWithConntrack, runCommand, runConntrack } from '../support/oracle';
import { startServer, type TestServer } from '../support/server';
import { until } from '../support/until';

const QUIET = { CONNTRACK_METRICS_COUNT_INTERVAL_SECONDS: '0' };

type Report = { status: string; checks: Record<string, { status: string; detail?: string }> };
const health = async (server: TestServer): Promise<Report> => (await (await fetch(`${server.url}/api/health`, { headers: { ...server.authHeaders(), Connection: 'close' } })).json()) as Report;

describe('the process and the recorder', () => {
  it('SIGTERM with only a live feed open: the feed ends at once and the server exits 0', async () => {
    const ns = await createTestNamespace('ctc-life');
    const server = await startServer({ netns: ns.name, env: QUIET });
    try {
      await until('the recorder', async () => (await health(server)).checks.recorder?.status === 'ok', { timeoutMs: 60_000 });
      const feed = await fetch(`${server.url}/api/connections/live?new=1`, { headers: server.authHeaders() });
      expect(feed.status).toBe(200);
      const reader = (feed.body as ReadableStream<Uint8Array>).getReader();
      const first = await reader.read();
      expect(new TextDecoder().decode(first.value)).toContain('event: status');
      const started = performance.now();
      server.kill('SIGTERM');
      // The rest of the feed: the shutdown event, then the end of the stream.
      let rest = '';
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
      expect(rest).toContain('event: shutdown');
      expect(await server.exited()).toEqual({ code: 0, signal: null });
      const seconds = (performance.now() - started) / 1000;
      console.log(`SIGTERM with one live feed open: exit 0 after ${seconds.toFixed(2)} s (deadline 30 s)`);
      expect(server.output()).toMatch(/"feeds":1\b/);
    } finally {
      await server.stop();
      await ns.dispose();
    }
  }, 300_000);

  it('follows a namespace deleted and created again under the same name: events on again, connections recorded', async () => {
    const ns = await createTestNamespace('ctc-life', {});
    const server = await startServer({ netns: ns.name, env: QUIET });
    try {
      const first = await until('the recorder', async () => {
        const check = (await health(server)).checks.recorder;
        return check?.status === 'ok' ? check : undefined;
      }, { timeoutMs: 60_000 });
      expect(first.detail).toContain('net.netfilter.nf_conntrack_events=1: every connection reports its end');
      expect((await runCommand(['ip', 'netns', 'del', ns.name])).exitCode).toBe(0);
      expect((await runCommand(['ip', 'netns', 'add', ns.name])).exitCode).toBe(0);
      // A new namespace starts with events on demand (2); the recorder must set 1 there again.
      const again = await until('the recorder to subscribe again', async () => {
        const check = (await health(server)).checks.recorder;
        return check?.status === 'ok' && check.detail?.includes('subscribed again') ? check : undefined;
      }, { timeoutMs: 30_000 });
      expect(again.detail).toContain('net.netfilter.nf_conntrack_events=1');
      expect((await runCommand(['ip', 'netns', 'exec', ns.name, 'sysctl', '-n', 'net.netfilter.nf_conntrack_events'])).stdout.trim()).toBe('1');
      // An entry created and deleted in the new namespace reaches the history.
      await insertWithConntrack(ns.name, { protocol: 'tcp', src: '10.99.0.1', dst: '10.99.0.2', sport: 41000, dport: 443, state: 'ESTABLISHED', timeout: 600 });
      expect((await runConntrack(ns.name, ['-D', '-s', '10.99.0.1'])).exitCode).toBe(0);
      await until('the history row', async () => {
        const page = (await (await fetch(`${server.url}/api/history?src=10.99.0.1`, { headers: { ...server.authHeaders(), Connection: 'close' } })).json()) as { matched: number };
        return page.matched === 1;
      }, { timeoutMs: 60_000 });
      const status = (await (await fetch(`${server.url}/api/history?limit=1`, { headers: server.authHeaders() })).json()) as { status: { loss: { namespaceReplaced: number } } };
      expect(status.status.loss.namespaceReplaced).toBe(1);
    } finally {
      await server.stop();
      await ns.dispose();
    }
  }, 300_000);

  it('records the time a kill -9 kept the console down as a gap at the next start', async () => {
    const ns = await createTestNamespace('ctc-life');
    const dataDir = mkdtempSync(join(tmpdir(), 'ctc-life-'));
    let server = await startServer({ netns: ns.name, dataDir, env: QUIET });
    try {
      await until('the recorder', async () => (await health(server)).checks.recorder?.status === 'ok', { timeoutMs: 60_000 });
      server.kill('SIGKILL');
      const killedAt = Date.now();
      await server.exited();
      await new Promise((r) => setTimeout(r, 2000));
      const restartedAt = Date.now();
      server = await startServer({ netns: ns.name, dataDir, admin: server.admin, env: QUIET });
      const gap = await until('the gap', () => {
        const db = new Database(join(dataDir, 'console.db'), { readonly: true });
        try {
          return db.prepare("SELECT started_at, ended_at FROM history_gaps WHERE reason = 'down'").get() as { started_at: number; ended_at: number } | undefined;
        } finally {
          db.close();
        }
      }, { timeoutMs: 60_000 });
      expect(gap.started_at).toBeLessThanOrEqual(killedAt);
      expect(gap.ended_at).toBeGreaterThanOrEqual(restartedAt);
      const page = (await (await fetch(`${server.url}/api/history?limit=1`, { headers: server.authHeaders() })).json()) as { status: { loss: { down: { gaps: number; ms: number } } } };
      expect(page.status.loss.down.gaps).toBe(1);
      expect(page.status.loss.down.ms).toBeGreaterThanOrEqual(2000);
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
      await ns.dispose();
    }
  }, 300_000);

  it('names the cause when the namespace cannot be entered (no CAP_SYS_ADMIN) or does not exist', async () => {
    const ns = await createTestNamespace('ctc-life');
    const noAdmin = await startServer({ netns: ns.name, env: QUIET, wrapper: ['setpriv', '--bounding-set=-sys_admin'] });
    try {
      const reply = await fetch(`${noAdmin.url}/api/connections`, { headers: noAdmin.authHeaders() });
      expect(reply.status).toBe(503);
      const body = (await reply.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('namespace_unavailable');
      expect(body.error.message).toContain('needs CAP_SYS_ADMIN besides CAP_NET_ADMIN');
      expect(body.error.message).not.toMatch(/needs CAP_NET_ADMIN \(/);
      expect((await health(noAdmin)).checks.netlink).toMatchObject({ status: 'fail', detail: expect.stringContaining('CAP_SYS_ADMIN') });
    } finally {
      await noAdmin.stop();
      await ns.dispose();
    }
    const missing = await startServer({ netns: 'ctc-no-such-namespace', env: QUIET });
    try {
      const reply = await fetch(`${missing.url}/api/connections`, { headers: missing.authHeaders() });
      expect(reply.status).toBe(503);
      const body = (await reply.json()) as { error: { code: string; message: string } };
      expect(body.error).toMatchObject({ code: 'namespace_unavailable', message: expect.stringContaining('does not exist (no /var/run/netns/ctc-no-such-namespace)') });
      expect(body.error.message).not.toContain('already gone');
    } finally {
      await missing.stop();
    }
  }, 300_000);
});
