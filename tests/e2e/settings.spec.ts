// The Settings page in Chromium against the real server and kernel: an administrator changes a timeout, sees the
// change as a diff, applies it, and copies the line that keeps it; `sysctl -n` in the namespace is the oracle.
import { expectDialogAccessible } from './a11y';
import { expect, screenshot, test } from './fixtures';

const NAME = 'nf_conntrack_udp_timeout';
const KEY = `net.netfilter.${NAME}`;

test.use({ permissions: ['clipboard-read', 'clipboard-write'] });

async function sysctlN(exec: (argv: string[]) => Promise<{ exitCode: number; stdout: string; stderr: string }>): Promise<string> {
  const r = await exec(['sysctl', '-n', KEY]);
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout.trim();
}

test('change a timeout: diff, apply, copy the persistence line', async ({ page, lab }) => {
  const before = await sysctlN(lab.ns.exec);
  const after = before === '45' ? '46' : '45';
  try {
    await page.goto('/settings');
    await expect(page).toHaveTitle(/Settings/);
    await expect(page.getByRole('heading', { name: 'Timeouts per protocol' })).toBeVisible();
    const row = page.locator(`[data-testid="setting-row"][data-setting="${NAME}"]`);
    await expect(row.getByTestId('setting-value')).toContainText(before);
    // The global limits are shown read-only, with where to change them.
    await expect(page.locator('[data-setting="nf_conntrack_max"]').getByTestId('setting-read-only')).toHaveAttribute('data-reason', 'global');
    await expect(page.getByTestId('settings-global-note')).toContainText('Change them on the host');
    await screenshot(page, 'settings-1280');
    await page.screenshot({ path: 'test-results/screenshots/settings-1280x720.png' });

    await row.getByRole('button', { name: `Change ${KEY}` }).click();
    const dialog = page.getByTestId('setting-dialog');
    const input = dialog.getByLabel(/New value/);
    await expect(input).toBeFocused();
    await input.fill('0');
    await expect(dialog.getByTestId('setting-input-hint')).toContainText('must be from 1 to 2147483');
    await expect(dialog.getByTestId('setting-apply')).toBeDisabled();
    await expectDialogAccessible(page, 'the setting dialog with a refused value');

    await input.fill(after);
    const diff = dialog.getByTestId('setting-diff');
    await expect(diff).toContainText(KEY);
    await expect(diff.getByTestId('diff-before')).toHaveText(`- before: ${before}`);
    await expect(diff.getByTestId('diff-after')).toHaveText(`+ after: ${after}`);
    expect(await sysctlN(lab.ns.exec), 'nothing changes before Apply').toBe(before);
    await page.screenshot({ path: 'test-results/screenshots/settings-diff-1280x720.png' });
    await dialog.getByTestId('setting-apply').click();

    const result = page.getByTestId('setting-result');
    await expect(result.getByTestId('setting-applied-diff').getByTestId('diff-after')).toHaveText(`+ after: ${after}`);
    expect(await sysctlN(lab.ns.exec)).toBe(after);
    const line = `ip netns exec ${lab.ns.name} sysctl -w ${KEY}=${after}`;
    await expect(result.getByTestId('persistence-line')).toHaveText(line);
    await expectDialogAccessible(page, 'the setting result');
    await result.getByTestId('persistence-copy').click();
    await expect(result.getByTestId('persistence-copy-status')).toHaveText('Copied.');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(line);
    await page.screenshot({ path: 'test-results/screenshots/settings-applied-1280x720.png' });

    await result.getByRole('button', { name: 'Close', exact: true }).last().click();
    await expect(row.getByTestId('setting-value')).toContainText(after);
    await expect(row.getByTestId('setting-default')).toContainText('changed');
  } finally {
    await lab.ns.exec(['sysctl', '-q', '-w', `${KEY}=${before}`]);
  }
});

test('the page fits a phone (dark colour scheme)', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto('/settings');
  await expect(page.getByRole('heading', { name: 'Timeouts per protocol' })).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow, 'no sideways scrolling of the page itself').toBeLessThanOrEqual(0);
  await screenshot(page, 'settings-390-dark');
  await page.screenshot({ path: 'test-results/screenshots/settings-390-top.png' });
});
