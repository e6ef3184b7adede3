// The Overview page in Chromium against the real server and kernel: usage, top groups and the charts at 1280x720
// and 390 px in both themes (no sideways scroll, axe-clean, screenshots); a bar opens Connections showing exactly
// its group; deleting a group removes its entries from the kernel (`conntrack -L` in the test's namespace) and
// leaves an audit row; a flush through the API appears as a marker; a viewer gets no delete controls.
// Aliased: the hooks lint rule reads any use* name as a React hook, and this one is called in a loop.
import { THEMES, expectAccessible, expectDialogAccessible, useSystemTheme as showSystemTheme } from './a11y';
import { OLD_WAN, SEEDED, expect, expectMatched, screenshot, seedEntries, test } from './fixtures';
import { createUser, loginViaApi } from '../support/auth';
import { loadWithConntrack } from '../support/oracle';

const VIEWPORTS = [
  { name: '1280', width: 1280, height: 720 },
  { name: '390', width: 390, height: 844 },
] as const;

interface SeriesAnswer {
  times: number[];
}

test('overview at 1280x720 and 390 px in both themes: usage, groups, charts with a flush marked', async ({ page, lab }) => {
  // A flush through the console is audited; the charts mark it. Then the table is seeded again.
  const flushed = await fetch(`${lab.server.url}/api/connections/flush`, { method: 'POST', headers: { ...lab.auth, 'content-type': 'application/json' }, body: '{}' });
  expect(flushed.status, await flushed.clone().text()).toBe(200);
  await loadWithConntrack(lab.ns.name, seedEntries());
  // The sampler writes a point every 10 s: wait for the first one so the charts have a line.
  await expect
    .poll(async () => ((await (await fetch(`${lab.server.url}/api/stats/series`, { headers: lab.auth })).json()) as SeriesAnswer).times.length, { timeout: 60_000 })
    .toBeGreaterThan(0);

  const maxEntries = (await lab.ns.exec(['sysctl', '-n', 'net.netfilter.nf_conntrack_max'])).stdout.trim();

  for (const theme of THEMES) {
    await showSystemTheme(page, theme);
    for (const viewport of VIEWPORTS) {
      await page.setViewportSize({ width: viewport.width, height: viewport.height });
      await page.goto('/overview');
      await expect(page).toHaveTitle('Overview · Conntrack Console');
      // Entries as the kernel counts them (the short-lived UDP and ICMP ones may have expired meanwhile), of the kernel's maximum.
      const entries = Number((await page.getByTestId('usage-entries').textContent())?.replace(/,/g, ''));
      expect(entries).toBeGreaterThanOrEqual(SEEDED - 12);
      expect(entries).toBeLessThanOrEqual(SEEDED);
      await expect(page.getByTestId('usage-max')).toHaveText(Number(maxEntries).toLocaleString('en-US'));
      // The counters as rates: per second since the previous reading.
      await expect(page.getByTestId('counter-found').getByTestId('counter-change')).toHaveText(/^[\d,.]+\/s$/);
      await expect(page.getByTestId('counter-chaintoolong')).toBeVisible();
      await expect(page.getByTestId('feature-acct')).toBeVisible();
      // The source-host card: 192.168.1.10 holds 120 of the seeded entries, the most.
      const top = page.getByTestId('groups-src').getByTestId('group-link').first();
      await expect(top).toHaveAttribute('data-key', '192.168.1.10');
      await expect(top.getByTestId('group-count')).toHaveText('120');
      await expect(page.getByTestId('groups-dport').getByTestId('group-link').first()).toContainText('https');
      await expect(page.getByTestId('trend-chart')).toHaveCount(3);
      await expect(page.locator('[data-testid="time-chart"] canvas')).toHaveCount(3);
      await expect(page.getByTestId('marker').first()).toContainText('flush');
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, `sideways scroll at ${viewport.width} px, ${theme}`).toBeLessThanOrEqual(0);
      await expectAccessible(page, `overview ${viewport.name} ${theme}`);
      await screenshot(page, `overview-${viewport.name}-${theme}`);
    }
  }
});

test('groups ordered by bytes; a bar opens Connections showing exactly its group', async ({ page, lab }) => {
  await page.goto('/overview');
  // Ordering by bytes asks the API for it, card by card.
  const byBytes = page.waitForResponse((r) => r.url().includes('/api/overview?by=src&metric=bytes'));
  await page.getByTestId('metric-bytes').click();
  expect((await byBytes).status()).toBe(200);
  await expect(page.getByTestId('metric-bytes')).toHaveAttribute('aria-pressed', 'true');
  // 192.168.1.11: the five SYN_SENT entries (120 s timeout: still there when the table is read).
  const link = page.getByTestId('groups-src').locator('[data-testid="group-link"][data-key="192.168.1.11"]');
  await expect(link.getByTestId('group-count')).toHaveText('5');
  await link.focus();
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/\?src=192\.168\.1\.11$/);
  const oracle = await lab.list(['-s', '192.168.1.11']);
  expect(oracle).toHaveLength(5);
  await expectMatched(page, oracle.length);
});

test('delete a group: preview, confirm; the kernel no longer has its entries and the audit log has the delete', async ({ page, lab }) => {
  await page.goto('/overview');
  const group = page.getByTestId('groups-external').getByTestId('group').filter({ has: page.locator(`[data-key="${OLD_WAN}"]`) });
  const expected = await lab.count(['--reply-dst', OLD_WAN]);
  expect(expected).toBe(30);
  await group.getByTestId('group-delete').click();
  const dialog = page.getByTestId('delete-dialog');
  await expect(dialog.getByTestId('delete-summary')).toContainText(`Delete ${expected} connections`);
  await expectDialogAccessible(page, 'delete a group');
  await dialog.getByTestId('confirm-delete').click();
  await expect(dialog).toBeHidden();
  await expect.poll(() => lab.count(['--reply-dst', OLD_WAN])).toBe(0);
  expect(await lab.count()).toBe(SEEDED - expected);
  // The page took a new snapshot: the group is gone from its card.
  await expect(page.getByTestId('overview-snapshot')).toContainText(`${SEEDED - expected} entries`);
  await expect(page.getByTestId('groups-external').locator(`[data-key="${OLD_WAN}"]`)).toHaveCount(0);
  const audit = (await (await fetch(`${lab.server.url}/api/audit?action=connections.delete-matching`, { headers: lab.auth })).json()) as {
    items: { affected: number | null; outcome: string; details: { filter?: Record<string, string> } | null }[];
  };
  expect(audit.items[0]).toMatchObject({ affected: expected, outcome: 'ok', details: { filter: { status: 'SRC_NAT', replyDst: OLD_WAN } } });
});

test('a viewer sees the groups and the charts (crosshair, 30 days) but no delete control and no audit markers', async ({ browser, lab }) => {
  const viewer = await createUser(lab.dataDir, { name: `overview-viewer-${Date.now()}`, role: 'viewer' });
  const context = await browser.newContext({ baseURL: lab.server.url, storageState: { cookies: [], origins: [] } });
  try {
    const page = await context.newPage();
    await loginViaApi(page, viewer);
    await page.goto('/overview');
    await expect(page.getByTestId('groups-src').getByTestId('group-link').first()).toBeVisible();
    await expect(page.getByTestId('group-delete')).toHaveCount(0);
    await expect(page.getByTestId('trend-chart')).toHaveCount(3);
    await expect(page.getByTestId('markers')).toHaveCount(0);
    // The crosshair: over a chart, the legend shows the values at the pointer's time instead of the latest ones.
    const chart = page.getByTestId('time-chart').first();
    await expect(chart.locator('.u-series').first().locator('.u-value')).toHaveText('latest');
    const over = chart.locator('.u-over');
    await over.scrollIntoViewIfNeeded();
    const box = (await over.boundingBox())!;
    await over.hover({ position: { x: box.width - 2, y: box.height / 2 } });
    await expect(chart.locator('.u-series').first().locator('.u-value')).toHaveText(/^\d\d\/\d\d\/\d{4}, \d\d:\d\d:\d\d$/);
    // 30 days come from the 5-minute summaries.
    await page.getByTestId('range-30d').click();
    await expect(page.getByTestId('range-30d')).toHaveAttribute('aria-pressed', 'true');
    await expect(page.getByTestId('series-source')).toContainText('5-minute summaries');
  } finally {
    await context.close();
  }
});
