// The quick start's promise: `npm run demo` starts the console on the lab and prints a URL and the credentials a
// person on the host uses to log in; the Connections table then shows the lab's traffic, and the Router page the
// runs of the demo's cleanup policies after the failover it simulates. Ctrl+C stops everything and removes the lab.
import { expect, test } from '@playwright/test';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });

/** The lab's namespaces (`<lab>-lan`, `<lab>-router`, `<lab>-internet`). */
const namespacesOf = (lab: string): string[] =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.split(' ')[0])
    .filter((name) => name.startsWith(`${lab}-`));

/** Everything the process printed (stdout and stderr), as it arrives. */
function outputOf(child: ChildProcess): () => string {
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return () => output;
}

async function waitForOutput(child: ChildProcess, output: () => string, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = output().match(pattern);
    if (match) return match;
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`demo exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}; output:\n${output()}`);
    if (Date.now() > deadline) throw new Error(`no output matching ${pattern} within ${timeoutMs} ms; output:\n${output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const exitOf = (child: ChildProcess): Promise<number | null> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve(child.exitCode) : new Promise((resolve) => child.once('exit', resolve));

/** Ctrl+C in a terminal: SIGINT to the whole foreground process group (npx, its shell, tsx and the demo). */
const ctrlC = (child: ChildProcess): void => {
  if (child.pid) process.kill(-child.pid, 'SIGINT');
};

/** The processes still running in the group (zombies have exited; the console server has a group of its own). */
const groupMembers = (pgid: number): string[] =>
  execFileSync('ps', ['-e', '-o', 'pgid=,pid=,stat=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([group, , stat]) => group === String(pgid) && !stat.startsWith('Z'))
    .map((fields) => fields.join(' '));

test('npm run demo serves the console on the lab, logs in with the printed credentials, and cleans up on Ctrl+C', async ({ page }) => {
  test.setTimeout(330_000);
  const port = await freePort();
  // Its own process group, as in a terminal, so that Ctrl+C reaches every process the way a terminal sends it.
  const demo = spawn('npx', ['tsx', 'scripts/demo.ts'], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const output = outputOf(demo);
  try {
    const [, name, password] = await waitForOutput(demo, output, /Log in as "([^"]+)" with password "([^"]+)"/, 240_000);
    const [, url] = output().match(/Conntrack Console: (http:\/\/\S+)/) ?? [];
    const [, lab] = output().match(/^lab (ctc-\d+-[0-9a-f]+): /m) ?? [];
    expect(url, output()).toBe(`http://127.0.0.1:${port}/`);
    expect(lab, output()).toBeTruthy();
    expect(namespacesOf(lab).sort()).toEqual(['internet', 'lan', 'router'].map((role) => `${lab}-${role}`));

    // Like a person: open the URL, land on the login page, type what the demo printed.
    await page.goto(url);
    await expect(page).toHaveURL(/\/login/);
    await expect(page).toHaveTitle(/Conntrack Console/);
    await page.getByRole('textbox', { name: 'User name' }).fill(name);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();

    await expect(page).toHaveURL(url);
    await expect(page.getByTestId('account-user')).toContainText(`${name} (admin)`);
    const table = page.getByRole('table', { name: 'Connections' });
    await expect(table).toHaveAttribute('aria-busy', 'false');
    await expect(page.getByTestId('grid-row').first()).toBeVisible();
    const total = Number(/([\d,]+) in this snapshot/.exec((await page.getByTestId('snapshot-info').textContent()) ?? '')?.[1].replaceAll(',', ''));
    expect(total).toBeGreaterThan(0);
    await expect(page.getByTestId('pager-range')).toHaveText(new RegExp(`of ${total.toLocaleString('en-US')}$`));
    await expect(page.getByTestId('count-protocol-tcp')).toBeVisible();
    // The lab's dnsmasq lease file names the LAN hosts beside their addresses.
    await expect(page.getByTestId('name-src').filter({ hasText: /^(laptop|phone|nas)$/ }).first()).toBeVisible();
    mkdirSync('test-results/screenshots', { recursive: true });
    await page.screenshot({ path: 'test-results/screenshots/demo.png', fullPage: true });

    // The Settings page shows the lab router's own sysctls: acct and timestamps switched on by the lab.
    await page.goto(`${url}settings`);
    const routerNs = `${lab}-router`;
    for (const name of ['nf_conntrack_acct', 'nf_conntrack_timestamp', 'nf_conntrack_udp_timeout']) {
      const value = execFileSync('ip', ['netns', 'exec', routerNs, 'sysctl', '-n', `net.netfilter.${name}`], { encoding: 'utf8' }).trim();
      await expect(page.locator(`[data-testid="setting-row"][data-setting="${name}"]`).getByTestId('setting-value')).toContainText(value);
    }
    await expect(page.locator('[data-setting="nf_conntrack_acct"]').getByTestId('setting-value')).toContainText('1 (on)');
    await expect(page.getByTestId('settings-namespace')).toContainText(routerNs);
    await page.screenshot({ path: 'test-results/screenshots/demo-settings.png' });

    // The failover the demo simulates once the console is up: its cleanup policies ran by themselves.
    await waitForOutput(demo, output, /Simulated a failover from wan2 back to wan1/, 60_000);
    await expect(async () => {
      await page.goto(`${url}router`);
      await expect(page.locator('[data-policy="wan2-failover-udp"]').getByTestId('policy-runs')).toContainText(/OK\s*deleted \d+/i, { timeout: 2000 });
    }).toPass({ timeout: 30_000 });
    await expect(page.locator('[data-policy="wan1-failback-tcp"]').getByTestId('policy-runs')).toContainText(/would delete \d+/);
    await page.screenshot({ path: 'test-results/screenshots/demo-router.png', fullPage: true });

    // The Overview on the lab: a mix in the groups (a WAN, several destination ports), sampled points in the
    // charts, and the policy runs of the failover marked on them.
    await page.goto(`${url}overview`);
    await expect.poll(() => page.getByTestId('groups-wan').getByTestId('group-link').count()).toBeGreaterThan(0);
    await expect.poll(() => page.getByTestId('groups-dport').getByTestId('group-link').count()).toBeGreaterThan(1);
    await expect(page.getByTestId('series-source')).toContainText(/^[1-9][\d,]* points? of 10-second samples/);
    await expect(page.getByTestId('marker').filter({ hasText: 'policy run' }).first()).toBeVisible();
    // The dry run's marker says what it would have deleted, as its notice does (not "0 entries").
    await expect(page.getByTestId('marker').filter({ hasText: /\(policy wan1-failback-tcp\): would delete \d+ entr(y|ies) \(dry run\)$/ })).toBeVisible();
    await page.screenshot({ path: 'test-results/screenshots/demo-overview.png', fullPage: true });

    ctrlC(demo);
    await exitOf(demo);
    // npm hands the signal on, waits for the demo, then re-raises SIGINT on itself (so a shell sees 130): its own
    // status says nothing about the demo's. The demo's is its last line: "stopped" after a clean shutdown, with
    // no "demo: <error>" before it (an error exits 1 through the same shutdown).
    expect(demo.exitCode === 0 || demo.signalCode === 'SIGINT', `npx ended with ${demo.exitCode ?? demo.signalCode}`).toBe(true);
    expect(output().trimEnd(), output()).toMatch(/demo: stopped, lab removed$/);
    expect(output().match(/^demo: (?!stopped|building).*/gm), output()).toBeNull();
    expect(groupMembers(demo.pid!), 'processes left in the demo\'s group').toEqual([]);
    expect(namespacesOf(lab)).toEqual([]);
  } finally {
    // A failed test must not leave the lab behind: Ctrl+C, and only if that does not stop it, SIGKILL (the next
    // lab then removes the namespaces of a demo that is gone).
    if (demo.pid && groupMembers(demo.pid).length) {
      ctrlC(demo);
      const stopped = await Promise.race([exitOf(demo).then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20_000))]);
      if (!stopped || groupMembers(demo.pid).length) process.kill(-demo.pid, 'SIGKILL');
    }
  }
});
