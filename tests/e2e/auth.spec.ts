// Logging in and out in Chromium against the real server (scripts/serve.ts) and kernel; what a viewer may do
// is checked with conntrack-tools, never with what the page says.
import { test as base, expect, type Page } from '@playwright/test';
import { createUser, loginViaApi, type Credentials } from '../support/auth';
import { countWithConntrack, createTestNamespace, loadWithConntrack, type InsertSpec, type TestNamespace } from '../support/oracle';
import { startServer, type TestServer } from '../support/server';

const SEEDED = 12;
const seed = (): InsertSpec[] =>
  Array.from({ length: SEEDED }, (_, i) => ({ protocol: 'tcp', src: '192.168.5.10', dst: `198.51.100.${i + 1}`, sport: 41000 + i, dport: 443, state: 'ESTABLISHED', timeout: 3600 }));

interface AuthLab {
  ns: TestNamespace;
  server: TestServer;
  viewer: Credentials;
}

const test = base.extend<{ cspViolations: string[] }, { authLab: AuthLab }>({
  authLab: [
    async ({}, provide) => {
      const ns = await createTestNamespace('ctc-e2e-auth');
      let server: TestServer | undefined;
      try {
        await loadWithConntrack(ns.name, seed());
        server = await startServer({ netns: ns.name });
        const viewer = await createUser(server.dataDir, { name: 'watcher', role: 'viewer' });
        await provide({ ns, server, viewer });
      } finally {
        await server?.stop();
        await ns.dispose();
      }
    },
    { scope: 'worker', timeout: 300_000 },
  ],
  baseURL: async ({ authLab }, provide) => provide(authLab.server.url),
  // Every page must run under the nonce CSP without a single refused script or style.
  cspViolations: async ({ page }, provide) => {
    const violations: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    await provide(violations);
    expect(violations).toEqual([]);
  },
});

async function logInWithForm(page: Page, name: string, password: string): Promise<void> {
  await page.getByTestId('login-name').fill(name);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
}

test('log in through the form, see the console, log out', async ({ page, authLab, cspViolations }) => {
  await page.goto('/');
  await expect(page).toHaveURL(/\/login$/);
  await logInWithForm(page, authLab.server.admin.name, authLab.server.admin.password);
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole('table', { name: 'Connections' })).toBeVisible();
  await expect(page.getByTestId('pager-range')).toHaveText(new RegExp(`of ${SEEDED}$`));

  // The session cookie is out of reach of scripts; the CSRF cookie is meant to be read.
  const cookies = await page.context().cookies();
  expect(cookies.find((c) => c.name === 'ctc_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
  expect(await page.evaluate(() => document.cookie)).not.toContain('ctc_session');

  await page.goto('/audit');
  await expect(page.getByRole('heading', { name: 'Audit log' })).toBeVisible();
  await expect(page.getByTestId('audit-row').first()).toContainText('login');
  await page.getByTestId('logout').click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto('/');
  await expect(page).toHaveURL(/\/login$/);
  expect(cspViolations).toEqual([]);
});

test('a login link cannot send the browser to another site: after the form it lands on the console', async ({ page, authLab }) => {
  const origin = new URL(authLab.server.url).origin;
  for (const next of ['/%09/example.org/', '//example.org/', '/%5Cexample.org/']) {
    await page.context().clearCookies();
    await page.goto(`/login?next=${encodeURIComponent(decodeURIComponent(next))}`);
    await logInWithForm(page, authLab.server.admin.name, authLab.server.admin.password);
    await expect(page.getByRole('table', { name: 'Connections' })).toBeVisible();
    expect(new URL(page.url()).origin).toBe(origin);
    expect(new URL(page.url()).pathname).toBe('/');
  }
});

test('a wrong password is refused with the same message as an unknown user', async ({ page }) => {
  await page.goto('/login');
  await logInWithForm(page, 'admin', 'certainly-not-it');
  await expect(page.getByTestId('login-error')).toHaveText('wrong user name or password');
  await logInWithForm(page, 'nobody-at-all', 'certainly-not-it');
  await expect(page.getByTestId('login-error')).toHaveText('wrong user name or password');
  await expect(page).toHaveURL(/\/login$/);
});

test('a viewer sees the table, but the server refuses deletes and flushes from the viewer\'s browser', async ({ page, authLab }) => {
  await loginViaApi(page, authLab.viewer);
  await page.goto('/');
  await expect(page.getByRole('table', { name: 'Connections' })).toBeVisible();
  await expect(page.getByTestId('pager-range')).toHaveText(new RegExp(`of ${SEEDED}$`));
  const before = await countWithConntrack(authLab.ns.name);
  const statuses = await page.evaluate(async () => {
    const csrf = document.cookie.split('; ').find((c) => c.startsWith('ctc_csrf='))?.split('=')[1] ?? '';
    const headers = { 'content-type': 'application/json', 'x-csrf-token': csrf };
    const flush = await fetch('/api/connections/flush', { method: 'POST', headers, body: '{}' });
    const del = await fetch('/api/connections/delete', { method: 'POST', headers, body: JSON.stringify({ filter: { protocol: 'tcp' } }) });
    return [flush.status, del.status];
  });
  expect(statuses).toEqual([403, 403]);
  expect(await countWithConntrack(authLab.ns.name)).toBe(before);
  // Viewers have no audit page.
  const audit = await page.goto('/audit');
  expect(audit?.status()).toBe(403);
});

test.describe('the page offers what the role permits', () => {
  test('a viewer sees the table and who is logged in, but no delete, flush or cleanup control; the API refuses a delete anyway', async ({ page, authLab }) => {
    await loginViaApi(page, authLab.viewer);
    await page.goto('/');
    await expect(page.getByTestId('pager-range')).toHaveText(new RegExp(`of ${SEEDED}$`));
    await expect(page.getByTestId('account-user')).toHaveText(`${authLab.viewer.name} (viewer)`);
    await expect(page.getByTestId('logout')).toBeVisible();
    await expect(page.getByTestId('nav-audit')).toHaveCount(0);
    await expect(page.getByTestId('count-protocol-tcp')).toContainText(String(SEEDED));
    for (const control of ['open-flush', 'open-multiwan', 'delete-selected', 'delete-matching']) await expect(page.getByTestId(control)).toHaveCount(0);

    // Neither the context menu, the Delete key nor the details panel leads to a delete.
    await page.getByTestId('grid-row').first().click({ button: 'right' });
    await expect(page.getByRole('menuitem', { name: 'Copy as JSON' })).toBeVisible();
    await expect(page.getByRole('menuitem', { name: /Delete/ })).toHaveCount(0);
    await page.keyboard.press('Escape');
    await page.getByTestId('grid-row').first().click();
    await expect(page.getByTestId('selection-count')).toHaveText('1 selected');
    await page.keyboard.press('Delete');
    await page.getByRole('button', { name: /^Details of connection/ }).first().click();
    await expect(page.getByTestId('details-panel')).toBeVisible();
    await expect(page.getByTestId('details-panel').getByRole('button', { name: 'Delete…' })).toHaveCount(0);
    await expect(page.getByTestId('delete-dialog')).toHaveCount(0);

    // What the page does not offer, the server refuses from the viewer's own session.
    const before = await countWithConntrack(authLab.ns.name);
    const ids = await page.evaluate(async () => ((await (await fetch('/api/connections?limit=3')).json()) as { items: { id: number }[] }).items.map((c) => c.id));
    expect(ids).toHaveLength(3);
    const status = await page.evaluate(async (picked) => {
      const csrf = document.cookie.split('; ').find((c) => c.startsWith('ctc_csrf='))?.split('=')[1] ?? '';
      const response = await fetch('/api/connections/delete', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify({ ids: picked }) });
      return response.status;
    }, ids);
    expect(status).toBe(403);
    expect(await countWithConntrack(authLab.ns.name)).toBe(before);
    expect(before).toBe(SEEDED);
  });

  test('an administrator gets every control and the audit link, and logs out from the header', async ({ page, authLab }) => {
    await loginViaApi(page, authLab.server.admin);
    await page.goto('/');
    await expect(page.getByTestId('pager-range')).toHaveText(new RegExp(`of ${SEEDED}$`));
    await expect(page.getByTestId('account-user')).toHaveText(`${authLab.server.admin.name} (admin)`);
    for (const control of ['open-flush', 'open-multiwan', 'delete-selected', 'delete-matching', 'nav-audit']) await expect(page.getByTestId(control)).toBeVisible();
    await page.getByTestId('grid-row').first().click({ button: 'right' });
    await expect(page.getByRole('menuitem', { name: 'Delete this connection…' })).toBeVisible();
    await page.keyboard.press('Escape');

    await page.getByTestId('logout').click();
    await expect(page).toHaveURL(/\/login$/);
    await page.goto('/');
    await expect(page).toHaveURL(/\/login$/);
    expect(await countWithConntrack(authLab.ns.name)).toBe(SEEDED);
  });

  test('when the session ends, the next request leads to the login page and back to the same view', async ({ page, context, authLab }) => {
    await loginViaApi(page, authLab.viewer);
    await page.goto('/?protocol=tcp&size=50');
    await expect(page.getByTestId('pager-range')).toHaveText(new RegExp(`of ${SEEDED}$`));
    await context.clearCookies();
    // Refresh is the next request, unless the shell's notice poll (every 15 s) gets there first: either way the
    // browser goes to the login page.
    await Promise.race([page.getByTestId('refresh').click(), page.waitForURL(/\/login/)]);
    await expect(page).toHaveURL(/\/login\?next=%2F%3Fprotocol%3Dtcp%26size%3D50$/);
    await logInWithForm(page, authLab.viewer.name, authLab.viewer.password);
    await expect(page).toHaveURL(/\/\?protocol=tcp&size=50$/);
    await expect(page.getByTestId('pager-range')).toHaveText(new RegExp(`of ${SEEDED}$`));
  });
});
