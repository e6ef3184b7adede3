// What the Connections page says about the kernel and about its own freshness, checked against the real kernel:
// the kernel counters against `conntrack -S`, in the lab namespace the server manages.
import type { Page } from '@playwright/test';
import { expectAccessible } from './a11y';
import { expect, expectMatched, screenshot, SEEDED, test, type Lab } from './fixtures';
import { runConntrack } from '../support/oracle';

/** `conntrack -S` per CPU: cpu -> counter name -> value. */
async function conntrackS(lab: Lab): Promise<Map<number, Record<string, number>>> {
  const r = await runConntrack(lab.ns.name, ['-S']);
  expect(r.exitCode, r.stderr).toBe(0);
  const cpus = new Map<number, Record<string, number>>();
  for (const line of r.stdout.split('\n').filter((l) => l.includes('cpu='))) {
    const values = Object.fromEntries([...line.matchAll(/(\w+)=(\d+)/g)].map(([, key, value]) => [key, Number(value)]));
    cpus.set(values.cpu, values);
  }
  expect(cpus.size, r.stdout).toBeGreaterThan(0);
  return cpus;
}

const total = (cpus: Map<number, Record<string, number>>, name: string): number => [...cpus.values()].reduce((sum, cpu) => sum + cpu[name], 0);

/**
 * Makes the kernel count invalid packets in the namespace: an output chain before conntrack turns the SYNs to
 * port 9 into SYN+FIN (a combination TCP never sends), which conntrack counts as invalid; bash's /dev/tcp sends them.
 */
async function sendInvalidPackets(lab: Lab): Promise<void> {
  const rules = `table inet ctc_invalid {
    chain mangle { type filter hook output priority -300; tcp dport 9 tcp flags set syn|fin; }
    chain seen { type filter hook output priority 0; ct state invalid counter; }
  }`;
  await lab.ns.exec(['ip', 'link', 'set', 'lo', 'up']);
  const nft = await lab.ns.exec(['nft', rules]);
  expect(nft.exitCode, nft.stderr).toBe(0);
  await lab.ns.exec(['timeout', '2', 'bash', '-c', 'echo > /dev/tcp/127.0.0.1/9']);
  await lab.ns.exec(['nft', 'delete table inet ctc_invalid']);
}

/** Clicks Refresh and waits until the page shows the new snapshot. */
async function refreshAndWait(page: Page): Promise<void> {
  const info = page.getByTestId('snapshot-info');
  const before = await info.getAttribute('data-snapshot-id');
  await page.getByTestId('refresh').click();
  await expect(info).not.toHaveAttribute('data-snapshot-id', before ?? '');
  // Not the seeded count: its 30 s UDP and ICMP entries may have expired by now.
  await expect(page.getByRole('table', { name: 'Connections' })).toHaveAttribute('aria-busy', 'false');
}

const COUNTERS = ['invalid', 'drop', 'early_drop', 'insert_failed', 'search_restart'];

test('kernel counters equal conntrack -S, with the increase since the previous snapshot and per CPU', async ({ page, lab }) => {
  await sendInvalidPackets(lab);
  await page.goto('/');
  await expectMatched(page, SEEDED);
  const counters = page.getByTestId('kernel-counters');
  let before = await conntrackS(lab);
  expect(total(before, 'invalid'), 'the namespace counted invalid packets').toBeGreaterThan(0);
  for (const name of COUNTERS) await expect(counters.getByTestId(`counter-${name}`).getByTestId('counter-total')).toHaveText(total(before, name).toLocaleString('en-US'));

  // A new snapshot (its counters are the next one's baseline), more invalid packets, another snapshot: the totals
  // follow the kernel and the change is what it counted between the two snapshots.
  await refreshAndWait(page);
  await expect(counters.getByTestId('counter-invalid')).toHaveAttribute('data-total', String(total(before, 'invalid')));
  before = await conntrackS(lab);
  await sendInvalidPackets(lab);
  await refreshAndWait(page);
  const after = await conntrackS(lab);
  const invalid = counters.getByTestId('counter-invalid');
  await expect(invalid.getByTestId('counter-total')).toHaveText(total(after, 'invalid').toLocaleString('en-US'));
  await expect(invalid.getByTestId('counter-change')).toHaveText(`+${(total(after, 'invalid') - total(before, 'invalid')).toLocaleString('en-US')}`);
  await expect(counters).toContainText('since the previous snapshot');

  // Per CPU, in a popover opened from the counter (keyboard: Enter on the focused button).
  await invalid.focus();
  await page.keyboard.press('Enter');
  const popover = page.getByTestId('counter-invalid-cpus');
  await expect(popover).toBeVisible();
  const cpuRows = popover.getByTestId('cpu-row');
  await expect(cpuRows).toHaveCount(after.size);
  for (const [index, [cpu, values]] of [...after].entries()) {
    await expect(cpuRows.nth(index).locator('th')).toHaveText(String(cpu));
    await expect(cpuRows.nth(index).locator('td').first()).toHaveText(values.invalid.toLocaleString('en-US'));
  }
  await expectAccessible(page, 'the per-CPU popover');
  await screenshot(page, 'kernel-counters-per-cpu');
  await page.keyboard.press('Escape');
  await expect(popover).toBeHidden();

  // The lab has accounting and timestamps on: both read "on", no instructions.
  await expect(counters.getByTestId('feature-acct')).toContainText('on');
  await expect(counters.getByTestId('feature-timestamp')).toContainText('on');
  await expect(counters.getByTestId('acct-off')).toHaveCount(0);
});

test('with timestamps off the page names the sysctl that turns them on and what is missing', async ({ page, lab }) => {
  await lab.ns.exec(['sysctl', '-q', '-w', 'net.netfilter.nf_conntrack_timestamp=0']);
  try {
    await page.goto('/');
    await expectMatched(page, SEEDED);
    const off = page.getByTestId('timestamps-off');
    await expect(off).toContainText('sysctl -w net.netfilter.nf_conntrack_timestamp=1');
    await expect(off).toContainText('no start time');
    await expect(page.getByTestId('feature-timestamp')).toContainText('off');
    await expect(page.getByTestId('acct-off')).toHaveCount(0);
  } finally {
    await lab.ns.exec(['sysctl', '-q', '-w', 'net.netfilter.nf_conntrack_timestamp=1']);
  }
});
