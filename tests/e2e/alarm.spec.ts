// The table alarm against the real kernel, in Chromium. nf_conntrack_max is global (read-only inside a namespace)
// and checked against each namespace's own count, so a fresh namespace filled by the bulk seeder reaches any share
// of the host's maximum without touching the host's table or sysctls. Step by step - 92% (warning), 96%
// (critical), 92% (still critical: it clears 5 points below 95), 88% (a warning: that clears 5 points below 90),
// below 85% (none) - the notice in the shell's notice area, /api/health `alarm` and /metrics
// conntrack_console_table_alarm agree with the level the thresholds give for `conntrack -C`. Then the table at
// 100% and new flows sent over a veth from a second namespace: the kernel drops or early-drops them (its
// counters rise) and the drop alarm is critical. (It clears after 5 minutes at 0: the unit test of the alarm
// drives that with its own clock.)
//
// Cost: up to the host's nf_conntrack_max entries in one namespace (about a million here, a few hundred MB of
// kernel memory; the seeder makes them in well under a minute). Run it alone under `flock /tmp/ctc-bench.lock`.
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { createNamespace, type Namespace } from '@/lib/lab/namespace';
import { seed } from '@/lib/lab/seeder';
import { countWithConntrack, runConntrack } from '../support/oracle';
import { startServer, type TestServer } from '../support/server';

/** The defaults: CONNTRACK_ALARM_WARN_PERCENT, CONNTRACK_ALARM_CRIT_PERCENT, and the 5 points of hysteresis. */
const WARN = 90;
const CRIT = 95;
const HYSTERESIS = 5;
const LEVELS = ['none', 'warning', 'critical'] as const;
type Level = (typeof LEVELS)[number];

/** The usage level the rule gives for `percent` after `before` (written here, not taken from the console). */
function usageLevel(percent: number, before: Level): Level {
  if (percent >= CRIT || (before === 'critical' && percent >= CRIT - HYSTERESIS)) return 'critical';
  if (percent >= WARN || (before !== 'none' && percent >= WARN - HYSTERESIS)) return 'warning';
  return 'none';
}

const max = Number(readFileSync('/proc/sys/net/netfilter/nf_conntrack_max', 'utf8').trim());
let ns: Namespace;
let peer: Namespace;
let server: TestServer;
/** Entries the seeder has made so far (the next call continues its sequence after them). */
let seeded = 0;

test.describe.configure({ mode: 'serial' });
test.setTimeout(600_000);

test.beforeAll(async () => {
  test.setTimeout(600_000);
  ns = await createNamespace({ role: 'alarm', tracking: true });
  peer = await createNamespace({ role: 'alarmpeer' });
  await peer.exec('ip', ['link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'down0', 'netns', ns.name]);
  await peer.exec('ip', ['addr', 'add', '10.97.0.2/24', 'dev', 'up0']);
  await peer.exec('ip', ['link', 'set', 'up0', 'up']);
  await ns.exec('ip', ['addr', 'add', '10.97.0.1/24', 'dev', 'down0']);
  await ns.exec('ip', ['link', 'set', 'down0', 'up']);
  // A sample a second; no history recorder (a million NEW events would only cost time here).
  server = await startServer({ netns: ns.name, env: { CONNTRACK_STATS_SAMPLE_SECONDS: '1', CONNTRACK_HISTORY: 'off' } });
});

test.afterAll(async () => {
  await server?.stop();
  await peer?.destroy();
  await ns?.destroy();
});

async function get(path: string): Promise<Response> {
  return fetch(`${server.url}${path}`, { headers: server.authHeaders() });
}

const healthAlarm = async (): Promise<string> => ((await (await get('/api/health')).json()) as { alarm: string }).alarm;
async function gauge(): Promise<number | undefined> {
  const match = /^conntrack_console_table_alarm(?:\{[^}]*\})? (\S+)$/m.exec(await (await get('/metrics')).text());
  return match ? Number(match[1]) : undefined;
}

/** Grows the table to `entries` with the next entries of the seeder's sequence. */
async function fillTo(entries: number): Promise<void> {
  const current = await countWithConntrack(ns.name);
  const result = await seed({ netns: ns.name, count: entries - current, skip: seeded, seed: 3 });
  seeded += result.count;
  expect(await countWithConntrack(ns.name)).toBe(entries);
}

/** The three views of the alarm agree on `level`, and the page's notices are exactly `notices` (by id). */
async function expectAlarm(page: Page, level: Level, notices: string[]): Promise<void> {
  await expect.poll(healthAlarm, { timeout: 30_000, message: '/api/health alarm' }).toBe(level);
  await expect.poll(gauge, { timeout: 30_000, message: '/metrics conntrack_console_table_alarm' }).toBe(LEVELS.indexOf(level));
  // The shell polls the notices every 15 s: up to a poll later the page shows them, without a reload.
  const shown = page.getByTestId('notices').locator('[data-notice-id^="table:"]');
  await expect.poll(async () => (await shown.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-notice-id')))).sort(), { timeout: 45_000, message: 'the alarm notices in the page' }).toEqual([...notices].sort());
  if (level !== 'none') await expect(shown.first()).toHaveAttribute('data-level', level);
}

test('usage alarm: warning at 92%, critical at 96%, each clearing 5 points below its threshold', async ({ page }) => {
  test.setTimeout(600_000);
  const login = await page.request.post(`${server.url}/api/auth/login`, { data: { name: server.admin.name, password: server.admin.password } });
  expect(login.ok(), await login.text()).toBe(true);
  // A page that reads nothing of the table itself: only the shell's notices follow it.
  await page.goto(`${server.url}/account`);
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  await expectAlarm(page, 'none', []);

  let before: Level = 'none';
  const step = async (what: string, change: () => Promise<void>, band: [number, number]) => {
    await change();
    const entries = await countWithConntrack(ns.name);
    const percent = (entries / max) * 100;
    expect(percent, `${what}: ${entries} of ${max}`).toBeGreaterThanOrEqual(band[0]);
    expect(percent, `${what}: ${entries} of ${max}`).toBeLessThan(band[1]);
    const level = usageLevel(percent, before);
    await expectAlarm(page, level, level === 'none' ? [] : ['table:usage']);
    await expect(page.locator('[data-notice-id="table:usage"]')).toHaveCount(level === 'none' ? 0 : 1);
    if (level !== 'none') await expect(page.locator('[data-notice-id="table:usage"]')).toContainText(`${Math.floor(percent)}% full`);
    before = level;
    return level;
  };

  expect(await step('92%', () => fillTo(Math.ceil(max * 0.92)), [92, 93])).toBe('warning');
  expect(await step('96%', () => fillTo(Math.ceil(max * 0.96)), [96, 97])).toBe('critical');
  // The seeder marks about 15% of its entries with one of four marks: each mark is ~3.75% of the table.
  const deleteMark = async (mark: string) => expect((await runConntrack(ns.name, ['-D', '-m', mark])).exitCode).toBe(0);
  expect(await step('mark 0x1 deleted', () => deleteMark('1'), [CRIT - HYSTERESIS, CRIT])).toBe('critical');
  expect(await step('mark 0x2 deleted', () => deleteMark('2'), [WARN - HYSTERESIS, WARN])).toBe('warning');
  // IPv6 is about 15% of the seeded entries.
  expect(await step('IPv6 deleted', async () => expect((await runConntrack(ns.name, ['-D', '-f', 'ipv6'])).exitCode).toBe(0), [0, WARN - HYSTERESIS])).toBe('none');
});

test('drop alarm: a full table drops new flows sent over a veth, and the alarm is critical', async ({ page }) => {
  test.setTimeout(600_000);
  const login = await page.request.post(`${server.url}/api/auth/login`, { data: { name: server.admin.name, password: server.admin.password } });
  expect(login.ok(), await login.text()).toBe(true);
  await page.goto(`${server.url}/account`);
  await fillTo(max);
  const counters = async () => {
    const listed = await runConntrack(ns.name, ['-S']);
    let drops = 0;
    for (const m of listed.stdout.matchAll(/\b(?:drop|early_drop)=(\d+)/g)) drops += Number(m[1]);
    return drops;
  };
  const dropsBefore = await counters();
  // New UDP flows (a new source port each, bash's /dev/udp) for a few seconds: more than the sampler's 1 s.
  const flows = peer.exec('bash', ['-c', 'end=$((SECONDS + 6)); p=0; while [ $SECONDS -lt $end ]; do for i in $(seq 50); do echo x > /dev/udp/10.97.0.1/$((1000 + p % 60000)); p=$((p + 1)); done; done; echo $p']);
  await expectAlarm(page, 'critical', ['table:drops', 'table:usage']);
  const sent = Number((await flows).stdout.trim());
  expect(sent).toBeGreaterThan(0);
  expect(await counters(), 'the kernel counted drops or early drops').toBeGreaterThan(dropsBefore);
  await expect(page.locator('[data-notice-id="table:drops"]')).toHaveAttribute('data-level', 'critical');
  await expect(page.locator('[data-notice-id="table:drops"]')).toContainText(/dropp(ing|ed) packets/);
  // The table stays full (what was early-dropped was replaced by the new flows).
  expect(await countWithConntrack(ns.name)).toBeGreaterThan(max * 0.99);
});
