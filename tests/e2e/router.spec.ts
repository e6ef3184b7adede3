// The Router page, the stale notice and cleanup by uplink in Chromium, at 1280x720 and 390 px: the lab's
// namespace gets an uplink holding the old external address, which is then replaced by the new one (as a PPPoE
// reconnect would), so the old address's entries are stale and the uplink's cleanup covers both addresses.
import { expectDialogAccessible } from './a11y';
import { expect, NEW_WAN, OLD_WAN, screenshot, SEEDED, test, type Lab } from './fixtures';

async function ip(lab: Lab, args: string[]): Promise<void> {
  const r = await lab.ns.exec(['ip', ...args]);
  if (r.exitCode !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

for (const viewport of [
  { name: 'desktop', width: 1280, height: 720 },
  { name: 'phone', width: 390, height: 844 },
]) {
  test(`Router page, stale notice and cleanup by uplink (${viewport.name})`, async ({ page, lab }) => {
    await page.setViewportSize({ width: viewport.width, height: viewport.height });
    await ip(lab, ['link', 'add', 'ctcwan', 'type', 'veth', 'peer', 'name', 'ctcpeer']);
    try {
      await ip(lab, ['address', 'add', `${OLD_WAN}/24`, 'dev', 'ctcwan']);
      await ip(lab, ['link', 'set', 'ctcwan', 'up']);
      await ip(lab, ['link', 'set', 'ctcpeer', 'up']);
      await ip(lab, ['route', 'add', 'default', 'via', '203.0.113.1', 'dev', 'ctcwan']);

      await page.goto('/router');
      const card = page.locator('[data-testid="wan-card"][data-wan="ctcwan"]');
      await expect(card).toContainText('DEFAULT ROUTE');
      await expect(card).toContainText(OLD_WAN);

      // The uplink's address changes: the old one's 30 entries are stale now.
      // Old one first: a second address in the same /24 would be a secondary, removed with the primary.
      await ip(lab, ['address', 'del', `${OLD_WAN}/24`, 'dev', 'ctcwan']);
      await ip(lab, ['address', 'add', `${NEW_WAN}/24`, 'dev', 'ctcwan']);
      await ip(lab, ['route', 'replace', 'default', 'via', '203.0.113.1', 'dev', 'ctcwan']);
      await page.goto('/router');
      await expect(page.getByTestId('former-addresses')).toContainText(`${OLD_WAN} was on ctcwan until`);
      // The shell's notice area says so, on every page, with one click to the cleanup.
      const notice = page.locator('[data-notice-id="router:stale"]');
      await expect(notice).toContainText('30 connections use an address no interface holds any more');
      await screenshot(page, `router-${viewport.name}`);
      // A stale entry's details say where its address was until when.
      const [onOld] = await lab.list(['-q', OLD_WAN]);
      await page.goto(`/?id=${onOld.id}`);
      // The first page of a fresh server on a loaded machine: more than the usual 15 s.
      await expect(page.getByTestId('details-wan')).toContainText(`stale: ${OLD_WAN} was on ctcwan until`, { timeout: 45_000 });
      await page.goto('/history');
      await expect(notice).toContainText('30 connections use an address no interface holds any more');
      await notice.getByRole('link', { name: 'Clean up by uplink' }).click();
      await expect(page).toHaveURL(/\/router\?cleanup=ctcwan$/);

      const dialog = page.getByTestId('uplink-cleanup');
      await expect(dialog.getByRole('radio', { name: /ctcwan/ })).toBeChecked();
      await dialog.getByTestId('cleanup-preview').click();
      await expect(dialog.getByTestId('cleanup-outbound')).toContainText('60 connections');
      await expect(dialog.getByRole('alert')).toContainText('this cuts live connections of the active uplink');
      await expectDialogAccessible(page, `the cleanup preview (${viewport.name})`);
      await screenshot(page, `router-cleanup-${viewport.name}`);
      await dialog.getByTestId('cleanup-confirm').click();
      await expect(page.getByTestId('router-result')).toContainText('Deleted 60 connections NATed to ctcwan');
      // The cleanup took a new snapshot and asked the notice area again: nothing is stale any more.
      await expect(notice).toHaveCount(0);
      expect(await lab.count(['-q', OLD_WAN])).toBe(0);
      expect(await lab.count(['-q', NEW_WAN])).toBe(0);
      expect(await lab.count()).toBe(SEEDED - 60);
    } finally {
      await lab.ns.exec(['ip', 'link', 'del', 'ctcwan']);
    }
  });
}
