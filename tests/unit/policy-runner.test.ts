// The policy runner on a real SQLite audit log: every run is one audit row (actor kind policy, its name, trigger,
// filter, count) whose intent is on record before the cleanup runs; events inside the minimum interval merge into
// the next run and none is lost; a run whose intent cannot be written does not run and keeps its events.
// The cleanups themselves (what gets deleted) are tested against the kernel in tests/integration/policies.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { authService, type AuditEntry, type Principal } from '@/lib/auth';
import type { PolicySetting } from '@/lib/config';
import { currentNotices } from '@/lib/console/notices';
import { PolicyRunner, watches, type PolicyResult, type PolicyWork } from '@/lib/console/policies';
import { logger } from '@/lib/observability';
import type { WanEvent } from '@/lib/router';

const dir = mkdtempSync(join(tmpdir(), 'ctc-policy-runner-'));
const previous = process.env.CONNTRACK_DATA_DIR;

beforeAll(() => {
  process.env.CONNTRACK_DATA_DIR = dir;
  vi.spyOn(logger(), 'error').mockImplementation(() => undefined);
  vi.spyOn(logger(), 'info').mockImplementation(() => undefined);
});

afterAll(() => {
  vi.restoreAllMocks();
  if (previous === undefined) delete process.env.CONNTRACK_DATA_DIR;
  else process.env.CONNTRACK_DATA_DIR = previous;
  rmSync(dir, { recursive: true, force: true });
});

const runsOf = (name: string): AuditEntry[] => authService().audit.query({ action: 'policy.run', actor: name, limit: 100, offset: 0 }).items.reverse();

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// currentNotices reads only the role.
const viewer = { kind: 'token', name: 'v', role: 'viewer' } as Principal;
const removed = (address: string, wan = 'wan2'): WanEvent => ({ kind: 'address-removed', wan, address, family: 'ipv4', at: new Date() });

function policy(overrides: Partial<PolicySetting> & { name: string }): PolicySetting {
  return { on: 'address-removed', wan: 'wan2', dryRun: false, minIntervalSeconds: 0, ...overrides };
}

/** An executor that records what it was given and what the audit log held meanwhile, and waits for `release`. */
function recorder(count: (work: PolicyWork) => number) {
  const calls: { work: PolicyWork; pendingDuring: AuditEntry[]; at: number }[] = [];
  let gate: Promise<void> = Promise.resolve();
  let open: () => void = () => undefined;
  return {
    calls,
    hold: () => {
      gate = new Promise((r) => (open = r));
    },
    release: () => open(),
    execute: async (_: PolicySetting, work: PolicyWork): Promise<PolicyResult> => {
      calls.push({ work: { events: [...work.events], addresses: [...work.addresses] }, pendingDuring: authService().audit.pending(), at: Date.now() });
      await gate;
      const n = count(work);
      return { count: n, matched: n, deleted: n, alreadyGone: 0, failed: 0, wans: ['wan2'], addresses: work.addresses };
    },
  };
}

describe('policy runner', () => {
  it('reacts only to the events of its trigger and WAN', () => {
    const at = new Date();
    const lost = policy({ name: 'l', on: 'route-lost', wan: 'wan1' });
    expect(watches(lost, { kind: 'default-route-lost', wan: 'wan1', family: 'ipv4', at })).toBe(true);
    expect(watches(lost, { kind: 'carrier-lost', wan: 'wan1', at })).toBe(true);
    expect(watches(lost, { kind: 'link-down', wan: 'wan1', at })).toBe(true);
    expect(watches(lost, { kind: 'carrier-lost', wan: 'wan2', at })).toBe(false);
    expect(watches(lost, { kind: 'default-route-gained', wan: 'wan1', family: 'ipv4', at })).toBe(false);
    const back = policy({ name: 'b', on: 'failback', wan: 'wan1' });
    expect(watches(back, { kind: 'default-route-gained', wan: 'wan1', family: 'ipv6', at })).toBe(true);
    expect(watches(back, { kind: 'default-route-lost', wan: 'wan1', family: 'ipv6', at })).toBe(false);
    expect(watches(policy({ name: 'a' }), removed('198.51.100.9'))).toBe(true);
    expect(watches(policy({ name: 'a' }), { kind: 'address-added', wan: 'wan2', address: '198.51.100.9', family: 'ipv4', at })).toBe(false);
  });

  it('runs once per event, on the record before it acts, with actor kind policy, trigger, filter and count', async () => {
    const fake = recorder((w) => w.addresses.length * 3);
    const p = policy({ name: 'single', filter: { text: 'protocol=udp', fields: { protocol: 17 } } });
    const runner = new PolicyRunner({ policy: p, execute: fake.execute });
    try {
      const before = Date.now();
      runner.notify(removed('198.51.100.2'));
      runner.notify(removed('2001:db8:2::2'));
      await until(() => runner.idle && runsOf('single').length === 1, 'the run');
      expect(fake.calls).toHaveLength(1);
      // The intent was written before the executor ran.
      expect(fake.calls[0].pendingDuring.map((e) => [e.actor, e.actorKind, e.action])).toContainEqual(['single', 'policy', 'policy.run']);
      const [entry] = runsOf('single');
      expect(entry).toMatchObject({ actor: 'single', actorKind: 'policy', source: 'console', action: 'policy.run', target: 'policy single', outcome: 'ok', affected: 6 });
      expect(entry.details).toMatchObject({ policy: 'single', on: 'address-removed', wan: 'wan2', filter: 'protocol=udp', dryRun: false, trigger: 'address-removed on wan2 (198.51.100.2, 2001:db8:2::2)', addresses: ['198.51.100.2', '2001:db8:2::2'], count: 6 });
      expect(Date.parse(entry.finishedAt!) - before).toBeLessThan(2000);
      // The notice area shows it.
      const { notices } = await currentNotices(viewer);
      expect(notices.find((n) => n.id === 'policy:single')).toMatchObject({ level: 'info', title: 'Policy single deleted 6 connections' });
    } finally {
      runner.stop();
    }
  }, 20_000);

  it('merges the events within the minimum interval into the next run, dropping none', async () => {
    const fake = recorder((w) => w.addresses.length);
    const runner = new PolicyRunner({ policy: policy({ name: 'merge', minIntervalSeconds: 6 }), execute: fake.execute });
    try {
      fake.hold();
      runner.notify(removed('198.51.100.10'));
      await until(() => fake.calls.length === 1, 'the first run');
      // Nine more while the first runs and right after it: all within the interval (6 s, so that recording the first
      // run on a loaded machine does not use it up).
      for (let i = 11; i < 16; i++) runner.notify(removed(`198.51.100.${i}`));
      fake.release();
      await until(() => runsOf('merge').length === 1 && runsOf('merge')[0].outcome === 'ok', 'the first run recorded');
      for (let i = 16; i < 20; i++) runner.notify(removed(`198.51.100.${i}`));
      await until(() => runner.idle && runsOf('merge').length === 2, 'the merged run');
      expect(fake.calls.map((c) => c.work.addresses.length)).toEqual([1, 9]);
      expect(fake.calls[1].work.addresses).toEqual(Array.from({ length: 9 }, (_, i) => `198.51.100.${i + 11}`));
      expect(fake.calls[1].at - fake.calls[0].at).toBeGreaterThanOrEqual(6000);
      expect(runsOf('merge').map((e) => e.affected)).toEqual([1, 9]);
      expect(runsOf('merge')[1].details?.trigger).toBe('address-removed on wan2 (198.51.100.11, 198.51.100.12, 198.51.100.13, 198.51.100.14, 5 more)');
    } finally {
      runner.stop();
    }
  }, 20_000);

  it('does not run while the intent cannot be written, and runs with every event once it can', async () => {
    const fake = recorder((w) => w.addresses.length);
    const runner = new PolicyRunner({ policy: policy({ name: 'refused' }), execute: fake.execute });
    const { db } = authService();
    db.exec("CREATE TRIGGER audit_refuse BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END");
    try {
      runner.notify(removed('198.51.100.30'));
      await until(async () => (await currentNotices(viewer)).notices.some((n) => n.id === 'policy:refused' && n.title === 'Policy refused could not run'), 'the refusal notice');
      runner.notify(removed('198.51.100.31'));
      expect(fake.calls).toHaveLength(0);
      expect(runsOf('refused')).toHaveLength(0);
    } finally {
      db.exec('DROP TRIGGER audit_refuse');
    }
    try {
      await until(() => runner.idle && runsOf('refused').length === 1, 'the run after storage came back');
      expect(fake.calls.map((c) => c.work.addresses)).toEqual([['198.51.100.30', '198.51.100.31']]);
      expect(runsOf('refused')[0]).toMatchObject({ outcome: 'ok', affected: 2 });
    } finally {
      runner.stop();
    }
  }, 30_000);
});
