// Events: NEW / UPDATE / DESTROY for entries created, updated and deleted with conntrack(8); a burst (read many
// datagrams per thread-pool job) delivers every entry once, as conntrack -L lists it; and overflow: a tiny receive
// buffer under a burst reports lost events, counts exactly how many (received + dropped = sent), and the
// subscription keeps delivering afterwards.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConntrackEvent, ConntrackEvents } from '@/lib/conntrack';
import { deleteWithConntrack, insertWithConntrack, listAll, runConntrack } from '../support/oracle';
import { loadBulk, tupleKey, withTestNamespace } from './conntrack-setup';

// Auto mode (2) only reports entries created while a listener existed; 1 reports everything.
const SYSCTLS = { 'net.netfilter.nf_conntrack_acct': '1', 'net.netfilter.nf_conntrack_timestamp': '1', 'net.netfilter.nf_conntrack_events': '1' };

const repoRoot = resolve(__dirname, '../..');
let scratch: string | undefined;
afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

interface ChildReport {
  ready?: boolean;
  receiveBufferBytes: number;
  overflows: number;
  overflowEvents: number;
  received: number;
  /** The socket's drop counter (/proc/net/netlink). */
  drops: number | null;
  sawAfter: boolean;
}

/** Subscribes with a 4 KiB buffer in the namespace given as argv[2]; reports as JSON lines until stdin ends. */
const OVERFLOW_CHILD = `
import { Conntrack } from ${JSON.stringify(join(repoRoot, 'lib/conntrack/index.ts'))};
import { eventSocketDrops } from ${JSON.stringify(join(repoRoot, 'lib/conntrack/event-support.ts'))};
const events = new Conntrack({ netns: process.argv[2] }).events({ receiveBufferBytes: 4096 });
let overflowEvents = 0;
let sawAfter = false;
events.on('overflow', () => overflowEvents++);
events.on('error', () => {});
events.on('event', (e) => { if (e.kind === 'new' && e.connection.original.src === '10.8.0.1') sawAfter = true; });
const report = (extra = {}) => console.log(JSON.stringify({ receiveBufferBytes: events.receiveBufferBytes, overflows: events.overflows, overflowEvents, received: events.received, drops: eventSocketDrops(process.argv[2]), sawAfter, ...extra }));
report({ ready: true });
process.stdin.on('data', () => {});
process.stdin.on('end', async () => {
  for (let i = 0; i < 100 && !sawAfter; i++) await new Promise((r) => setTimeout(r, 20));
  report();
  events.close();
});
`;

async function waitFor(what: string, done: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function collect(events: ConntrackEvents): ConntrackEvent[] {
  const seen: ConntrackEvent[] = [];
  events.on('event', (event) => seen.push(event));
  return seen;
}

describe('events', () => {
  for (const family of ['ipv4', 'ipv6'] as const) {
    it(`NEW, UPDATE and DESTROY arrive for an ${family} entry created, updated and deleted with conntrack`, async () => {
      await withTestNamespace(async (ns, ct) => {
        const src = family === 'ipv4' ? '10.7.0.1' : 'fd00:7::1';
        const dst = family === 'ipv4' ? '10.7.0.2' : 'fd00:7::2';
        const tuple = ['-p', 'tcp', '-s', src, '-d', dst, '--sport', '4321', '--dport', '443'];
        const events = ct.events();
        const seen = collect(events);
        const errors: Error[] = [];
        events.on('error', (error) => errors.push(error));
        try {
          const ours = (e: ConntrackEvent) => e.connection.original.src === src && e.connection.original.sport === 4321;
          await insertWithConntrack(ns.name, [...tuple, '--state', 'SYN_SENT', '-t', '600']);
          await waitFor('NEW', () => seen.some((e) => ours(e) && e.kind === 'new'));
          const [listed] = await listAll(ns.name);

          const update = await runConntrack(ns.name, ['-U', ...tuple, '-m', '42']);
          expect(update.exitCode, update.stderr).toBe(0);
          await waitFor('UPDATE', () => seen.some((e) => ours(e) && e.kind === 'update'));

          expect((await deleteWithConntrack(ns.name, tuple)).deleted).toBe(1);
          await waitFor('DESTROY', () => seen.some((e) => ours(e) && e.kind === 'destroy'));

          const mine = seen.filter(ours);
          expect(mine.map((e) => e.kind)).toEqual(['new', 'update', 'destroy']);
          for (const event of mine) {
            expect(event.connection.family).toBe(family);
            expect(event.connection.id).toBe(listed.id);
            expect(event.connection.original).toMatchObject({ src, dst, protocol: 6, sport: 4321, dport: 443 });
            expect(event.connection.reply).toMatchObject({ src: dst, dst: src, sport: 443, dport: 4321 });
          }
          expect(mine[0].connection.protoinfo?.tcp?.state).toBe('SYN_SENT');
          expect(mine[1].connection.mark).toBe(42);
          expect(mine[2].connection.mark).toBe(42);
          expect(errors).toEqual([]);
          expect(events.overflows).toBe(0);
          expect(events.received).toBe(seen.length);
        } finally {
          events.close();
        }
      }, SYSCTLS);
    });
  }

  it('a burst arrives whole: one NEW and one DESTROY per entry, with the ids and tuples conntrack -L lists', async () => {
    await withTestNamespace(async (ns, ct) => {
      const events = ct.events();
      const seen = collect(events);
      const errors: Error[] = [];
      events.on('error', (error) => errors.push(error));
      try {
        // Inserted by conntrack(8) in one go: the reads take many queued datagrams at a time.
        const created = await loadBulk(ns.name, 1500);
        const listed = await listAll(ns.name);
        expect(listed).toHaveLength(created);
        await waitFor(`${created} NEW events`, () => seen.filter((e) => e.kind === 'new').length >= created, 30_000);
        await ct.flush();
        await waitFor(`${created} DESTROY events`, () => seen.filter((e) => e.kind === 'destroy').length >= created, 30_000);
        const byKind = (kind: string) => new Map(seen.filter((e) => e.kind === kind).map((e) => [e.connection.id, tupleKey(e.connection)]));
        const expected = new Map(listed.map((c) => [c.id, tupleKey(c)]));
        expect(seen.filter((e) => e.kind === 'new')).toHaveLength(created);
        expect(byKind('new')).toEqual(expected);
        expect(seen.filter((e) => e.kind === 'destroy')).toHaveLength(created);
        expect(byKind('destroy')).toEqual(expected);
        expect(errors).toEqual([]);
        expect(events.overflows).toBe(0);
        expect(events.received).toBe(seen.length);
      } finally {
        events.close();
      }
    }, SYSCTLS);
  });

  // The subscriber runs in a child process: an overflow that reaches the native socket as POLLERR aborts the
  // process (see OVERFLOW_CHILD), and that must fail this test, not kill the test worker.
  it('with a tiny receive buffer a burst overflows, is reported, and events keep arriving afterwards', async () => {
    await withTestNamespace(async (ns, ct) => {
      scratch ??= await mkdtemp(join(tmpdir(), 'ctc-events-test-'));
      const script = join(scratch, 'overflow-child.mts');
      await writeFile(script, OVERFLOW_CHILD);
      const child = spawn(process.execPath, ['--import', 'tsx', script, ns.name], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exit = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
      const lines = createInterface({ input: child.stdout });
      const reports: ChildReport[] = [];
      let ready!: () => void;
      const isReady = new Promise<void>((resolve) => (ready = resolve));
      lines.on('line', (line) => {
        const report = JSON.parse(line) as ChildReport;
        reports.push(report);
        if (report.ready) ready();
      });
      try {
        await Promise.race([isReady, exit]);
        const created = await loadBulk(ns.name, 2000);
        await ct.flush();
        await new Promise((resolve) => setTimeout(resolve, 300));
        await insertWithConntrack(ns.name, { protocol: 'udp', src: '10.8.0.1', dst: '10.8.0.2', sport: 777, dport: 53, timeout: 600 });
        child.stdin.end('done\n');
        const code = await Promise.race([exit, new Promise<string>((resolve) => setTimeout(() => resolve('timeout'), 10_000))]);
        expect({ code, stderr: stderr.trim() }, 'the subscriber process must survive the overflow').toEqual({ code: 0, stderr: '' });
        const last = reports[reports.length - 1];
        expect(last.receiveBufferBytes).toBeLessThan(64 * 1024);
        expect(last.overflows).toBeGreaterThan(0);
        expect(last.overflowEvents).toBe(last.overflows);
        expect(last.received).toBeLessThan(2 * created);
        // Every event sent is either received or counted as dropped: a NEW and a DESTROY per entry, and the NEW after.
        expect(last.received + (last.drops ?? Number.NaN)).toBe(2 * created + 1);
        expect(last.sawAfter, 'the NEW event of the entry inserted after the overflow').toBe(true);
      } finally {
        child.kill('SIGKILL');
      }
    }, SYSCTLS);
  });
});
