// The Audit page in Chromium against the real server: a delete done through the API is listed with its details
// as readable text (expandable from the keyboard), the date pickers narrow the range, filters live in the URL.
import { expectAccessible } from './a11y';
import { expect, screenshot, TARGET, test } from './fixtures';

test('lists a delete with its details as text, expands it, filters by action and by date', async ({ page, lab }) => {
  const api = (path: string, body: unknown) => fetch(`${lab.server.url}${path}`, { method: 'POST', headers: { ...lab.auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect((await api('/api/connections/refresh', {})).status).toBe(200);
  const deleted = await api('/api/connections/delete', { filter: { src: TARGET.src } });
  expect(deleted.status, await deleted.clone().text()).toBe(200);

  await page.goto('/audit?action=connections.delete-matching');
  const row = page.getByTestId('audit-row').first();
  await expect(row).toContainText('connections.delete-matching');
  // The details read as words, never as a JSON object.
  const details = row.getByTestId('audit-details');
  await expect(details).toContainText(`src=${TARGET.src}`);
  await expect(details).not.toContainText('{"');
  await row.focus();
  await page.keyboard.press('Enter');
  await expect(row).toHaveAttribute('data-expanded', 'true');
  await expect(row.getByTestId('audit-details-full')).toBeVisible();
  await expectAccessible(page, 'the audit page with an expanded row');
  await screenshot(page, 'audit-expanded');
  await page.keyboard.press('Enter');
  await expect(row).toHaveAttribute('data-expanded', 'false');

  // A range that ends before the delete: nothing; the pickers write ISO instants into the URL.
  await page.getByTestId('audit-until').fill('2020-01-01T00:00');
  await page.getByTestId('audit-apply').click();
  await expect(page).toHaveURL(/until=2020-01-01T/);
  await expect(page.getByTestId('audit-matched')).toHaveText(/^0 entries/);
  await page.getByTestId('audit-until').fill('');
  await page.getByTestId('audit-since').fill('2020-01-01T00:00');
  await page.getByTestId('audit-apply').click();
  await expect(page).toHaveURL(/since=2020-01-01T/);
  await expect(page.getByTestId('audit-row').first()).toContainText('connections.delete-matching');
  // A range that ends before it starts is named at once (the History page's date range, the same part) and not sent.
  await page.getByTestId('audit-until').fill('2019-06-15T12:00');
  await expect(page.getByTestId('date-range-problem')).toHaveText(/^The range ends before it starts/);
  await expect(page.getByTestId('audit-until')).toHaveAttribute('aria-invalid', 'true');
  await expectAccessible(page, 'the audit filters with an inverted date range');
  await screenshot(page, 'audit-inverted-range');
  await page.getByTestId('audit-apply').click();
  await expect(page).not.toHaveURL(/until=/);
  await expect(page.getByTestId('audit-row').first()).toContainText('connections.delete-matching');
  await page.getByTestId('audit-until').fill('');

  // The action filter speaks the pages' words, never a code; the URL keeps the code.
  const action = page.getByTestId('audit-action');
  await expect(action.locator('option:checked')).toHaveText('Delete the connections matching a filter');
  const labels = await action.locator('option').allTextContents();
  expect(labels.length).toBeGreaterThan(10);
  expect(labels.filter((label) => /^[a-z]+([.-][a-z]+)+$/.test(label))).toEqual([]);
  await action.selectOption({ label: 'Clean up an old external address (MultiWAN)' });
  await page.getByTestId('audit-apply').click();
  await expect(page).toHaveURL(/[?&]action=connections\.cleanup(&|$)/);
  await expect(page.getByRole('table', { name: 'Audit log' })).toHaveAttribute('aria-busy', 'false');
  await expect(page.getByTestId('audit-row').filter({ hasNotText: 'connections.cleanup' })).toHaveCount(0);
  await action.selectOption({ label: 'Delete the connections matching a filter' });
  await page.getByTestId('audit-apply').click();
  await expect(page).toHaveURL(/[?&]action=connections\.delete-matching(&|$)/);
  await expect(page.getByTestId('audit-row').first()).toContainText('connections.delete-matching');
});
