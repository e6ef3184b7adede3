// What the Connections page says about the kernel and about its own freshness, checked against the real kernel:
// the kernel counters against `conntrack -S`, in the lab namespace the server manages.
import type { Page } from '@playwright/test';
import { expectAccessible } from './a11y';
import { expect, expectMatched, rows, screenshot, SEEDED, test, type Lab } from './fixtures';
import { insertWithConntrack, runConntrack } from '../support/oracle';

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
  test.slow(); // two rounds of packets and three snapshots
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

test('a row deleted with conntrack -D after the snapshot is reported gone by the confirmation; the result names the ids', async ({ page, lab }) => {
  await page.goto('/?src=192.168.1.10&dport=443&sort=sport&order=asc');
  await expect(page.getByRole('table', { name: 'Connections' })).toHaveAttribute('aria-busy', 'false');
  const picked = rows(page);
  await expect(picked.first()).toContainText('192.168.1.10:40000');
  await picked.nth(0).click();
  await picked.nth(2).click({ modifiers: ['Shift'] });
  const ids = await Promise.all([0, 1, 2].map((i) => picked.nth(i).getAttribute('data-row-id')));
  // The first of the three goes behind the console's back, after the snapshot was taken.
  const removed = await runConntrack(lab.ns.name, ['-D', '-p', 'tcp', '-s', '192.168.1.10', '--sport', '40000']);
  expect(removed.exitCode, removed.stderr).toBe(0);
  await page.keyboard.press('Delete');
  const dialog = page.getByTestId('delete-dialog');
  await expect(dialog.getByTestId('delete-summary')).toHaveText('1 of the 3 no longer exist; delete the remaining 2?');
  await expect(dialog.getByTestId('delete-gone')).toContainText(`id ${ids[0]}`);
  await screenshot(page, 'delete-some-gone');
  await dialog.getByTestId('confirm-delete').click();
  const banner = page.getByTestId('result-banner');
  // The ids in any order (the grid keeps its selection by id, not by the rows' order on screen).
  await expect(banner).toContainText(/Deleted 2 connections \(ids \d+, \d+\)/);
  const named = /Deleted 2 connections \(ids (\d+), (\d+)\)/.exec((await banner.textContent()) ?? '');
  expect(named?.slice(1).sort()).toEqual([ids[1], ids[2]].sort());
  await expect(banner).toContainText(`Already gone: id ${ids[0]}`);
  // Marked gone at once, without a refresh; the kernel agrees.
  for (const id of ids) await expect(page.locator(`[data-row-id="${id}"]`)).toHaveClass(/opacity-50/);
  for (const sport of ['40000', '40001', '40002']) expect(await lab.count(['-p', 'tcp', '-s', '192.168.1.10', '--sport', sport])).toBe(0);
});

test('the snapshot age ticks and warns past 60 s; time left counts down; navigation replaces an old snapshot, filter changes keep it', async ({ page, lab }) => {
  test.slow(); // it waits for the snapshot to pass 60 s
  // An entry of its own with 20 s to live, in a snapshot the page takes.
  await insertWithConntrack(lab.ns.name, { protocol: 'udp', src: '192.168.1.99', dst: '198.51.100.99', sport: 7777, dport: 53, timeout: 20 });
  await page.goto('/?src=192.168.1.99');
  await refreshAndWait(page);
  await expectMatched(page, 1);
  const info = page.getByTestId('snapshot-info');
  const held = await info.getAttribute('data-snapshot-id');
  await expect(info).toContainText(/[\d,]+ in this snapshot/);
  await expect(page.getByTestId('table-usage')).toContainText('now in the kernel');
  const age = page.getByTestId('snapshot-age');
  const first = await age.textContent();
  await expect(age).not.toHaveText(first ?? '');
  await expect(age).toHaveAttribute('data-stale', 'false');
  // Time left counts down from the snapshot's figure, then reads "expired?".
  const timeLeft = rows(page).first().getByTestId('time-left');
  const before = await timeLeft.textContent();
  await expect(timeLeft).not.toHaveText(before ?? '');
  await expect(timeLeft).toHaveText('expired?', { timeout: 60_000 });

  // Past 60 s: the warning colour and a prompt to refresh. The server's own figure says when that is.
  await expect
    .poll(async () => ((await (await page.request.get(`/api/connections/summary?snapshot=${held}`)).json()) as { snapshot: { ageMs: number } }).snapshot.ageMs, { timeout: 120_000, intervals: [2000] })
    .toBeGreaterThan(61_000);
  await expect(age).toHaveAttribute('data-stale', 'true');
  await expect(page.getByTestId('stale-refresh')).toBeVisible();
  await screenshot(page, 'snapshot-stale');

  // A filter change reads the same (old) snapshot.
  await page.getByTestId('filter-protocol').selectOption('udp');
  await page.getByTestId('apply-filters').click();
  await expect(page).toHaveURL(/protocol=udp/);
  await expectMatched(page, 1);
  await expect(info).toHaveAttribute('data-snapshot-id', held ?? '');

  // Opening the page again (another page, then Connections) takes a new one: older than 30 s.
  await page.getByTestId('nav-history').click();
  await expect(page).toHaveURL(/\/history/);
  await page.getByTestId('nav-connections').click();
  await expect(info).not.toHaveAttribute('data-snapshot-id', held ?? '');
  await expect(age).toHaveAttribute('data-stale', 'false');
  await expect(page.getByTestId('stale-refresh')).toHaveCount(0);
});

/** The element lies inside the viewport, sideways and (for dialogs) downwards too. */
async function expectInside(page: Page, what: string, box: { x: number; y: number; width: number; height: number } | null, vertical = false): Promise<void> {
  const viewport = page.viewportSize();
  expect(box, what).not.toBeNull();
  if (!box || !viewport) return;
  expect(box.x, `${what}: left edge`).toBeGreaterThanOrEqual(0);
  expect(box.x + box.width, `${what}: right edge`).toBeLessThanOrEqual(viewport.width + 0.5);
  if (vertical) expect(box.y + box.height, `${what}: bottom edge`).toBeLessThanOrEqual(viewport.height + 0.5);
}

for (const theme of ['light', 'dark'] as const) {
  test(`at 390 px (${theme}) the filters fold behind "Filters (N)", the IP field and the dialogs fit`, async ({ page, lab }) => {
    void lab;
    await page.setViewportSize({ width: 390, height: 844 });
    await page.emulateMedia({ colorScheme: theme });
    await page.goto('/?protocol=tcp&state=ESTABLISHED');
    await expect(page.getByRole('table', { name: 'Connections' })).toHaveAttribute('aria-busy', 'false');
    const toggle = page.getByTestId('filters-toggle');
    await expect(toggle).toHaveText('Filters (2)');
    await expect(page.getByTestId('filter-form')).toBeHidden();
    await expectInside(page, 'kernel counters', await page.getByTestId('kernel-counters').boundingBox());
    await screenshot(page, `connections-390-${theme}`);
    await toggle.click();
    await expect(page.getByTestId('filter-form')).toBeVisible();
    await expectInside(page, 'IP field', await page.getByTestId('filter-ip').boundingBox());
    await expectInside(page, 'port field', await page.getByTestId('filter-port').boundingBox());
    await expectAccessible(page, `the unfolded filters at 390 px (${theme})`);
    await screenshot(page, `connections-390-filters-${theme}`);

    await page.getByTestId('open-multiwan').click();
    const cleanup = page.getByRole('dialog');
    await expect(cleanup).toBeVisible();
    await expectInside(page, 'the cleanup dialog', await cleanup.boundingBox(), true);
    await screenshot(page, `cleanup-dialog-390-${theme}`);
    await page.keyboard.press('Escape');
    await expect(cleanup).toBeHidden();

    await page.getByTestId('open-flush').click();
    const flush = page.getByRole('dialog');
    await expect(flush).toBeVisible();
    await expectInside(page, 'the flush dialog', await flush.boundingBox(), true);
    await page.keyboard.press('Escape');

    await rows(page).first().click();
    await page.keyboard.press('Delete');
    const del = page.getByTestId('delete-dialog');
    await expect(del.getByTestId('delete-summary')).toBeVisible();
    await expectInside(page, 'the delete dialog', await del.boundingBox(), true);
    await screenshot(page, `delete-dialog-390-${theme}`);
    await page.keyboard.press('Escape');
  });

  test(`at 1280x720 (${theme}) the header, counters and filters fit`, async ({ page, lab }) => {
    void lab;
    await page.setViewportSize({ width: 1280, height: 720 });
    await page.emulateMedia({ colorScheme: theme });
    await page.goto('/');
    await expectMatched(page, SEEDED);
    await expect(page.getByTestId('filters-toggle')).toBeHidden();
    await expect(page.getByTestId('filter-form')).toBeVisible();
    for (const id of ['kernel-counters', 'filter-form', 'snapshot-info', 'table-usage']) await expectInside(page, id, await page.getByTestId(id).boundingBox());
    await expectAccessible(page, `the Connections page at 1280 (${theme})`);
    await screenshot(page, `connections-1280-${theme}`);
  });
}
