// The console's shell in Chromium against the real server: every signed-in page has the same frame (navigation
// from the one page list, a distinct title, a skip link, the notice area), passes axe in both themes, logs no
// console error and meets no 404, and the notice area shows what the server raises without a reload. Screenshots
// of every page in both themes go to test-results/screenshots.
import { createUser, loginViaApi } from '../support/auth';
import { runCommand } from '../support/oracle';
import { CONSOLE_PAGES } from '../../app/components/shell/pages';
import { expectAccessible, THEMES, useSystemTheme } from './a11y';
import { expect, screenshot, test } from './fixtures';

const slug = (href: string) => (href === '/' ? 'connections' : href.slice(1));

for (const theme of THEMES) {
  test(`every page: one frame, its own title, axe-clean, ${theme}`, async ({ page, lab }) => {
    void lab;
    // Eight pages, each loaded, axe-checked and photographed: on two busy cores that outlasts the default 120 s.
    test.setTimeout(300_000);
    await useSystemTheme(page, theme);
    // No page logs an error or asks for something the server does not have (the favicon's 404 was one).
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`${page.url()}: console error: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`${page.url()}: uncaught ${error.message}`));
    page.on('response', (response) => {
      if (response.status() === 404) problems.push(`${page.url()}: 404 for ${response.url()}`);
    });
    const titles = new Set<string>();
    for (const entry of CONSOLE_PAGES) {
      await page.goto(entry.href);
      await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
      await expect(page).toHaveTitle(`${entry.label} · Conntrack Console`);
      titles.add(await page.title());
      const nav = page.getByRole('navigation', { name: 'Main' });
      await expect(nav.getByRole('link', { name: 'Connections' })).toBeVisible();
      await expect(nav.getByRole('link', { name: 'History' })).toBeVisible();
      await expect(nav.getByRole('link', { name: 'Audit log' })).toBeVisible();
      if (entry.inNav !== false) await expect(nav.getByRole('link', { name: entry.label })).toHaveAttribute('aria-current', 'page');
      await expect(page.getByTestId('account-user')).toHaveText('e2e-admin (admin)');
      await expect(page.getByTestId('logout')).toBeVisible();
      // The page shows the colours of the theme asked for (the background of <body>).
      const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      const lightness = await page.evaluate((colour) => {
        // Any CSS colour syntax (lab(), oklch(), rgb()) to sRGB through a 1-pixel canvas.
        const context = document.createElement('canvas').getContext('2d')!;
        context.fillStyle = colour;
        context.fillRect(0, 0, 1, 1);
        const [r, g, b] = context.getImageData(0, 0, 1, 1).data;
        return (r + g + b) / 3;
      }, background);
      expect(theme === 'dark' ? lightness < 60 : lightness > 200, `body background ${background} in ${theme}`).toBe(true);
      await page.waitForLoadState('networkidle');
      await expectAccessible(page, `${entry.href} (${theme})`);
      await screenshot(page, `page-${slug(entry.href)}-${theme}`);
    }
    expect(titles.size, 'every page has its own title').toBe(CONSOLE_PAGES.length);
    expect(problems, 'console errors and 404s while the pages loaded').toEqual([]);
  });
}

test('skip link, favicon and app icons', async ({ page, lab }) => {
  void lab;
  await page.goto('/history');
  await page.keyboard.press('Tab');
  const skip = page.getByTestId('skip-link');
  await expect(skip).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.locator('main#main')).toBeFocused();
  for (const [path, type] of [
    ['/favicon.ico', /image\/(x-icon|vnd\.microsoft\.icon)/],
    ['/icon.svg', /image\/svg\+xml/],
    ['/apple-touch-icon.png', /image\/png/],
    ['/manifest.webmanifest', /manifest\+json|application\/json/],
  ] as const) {
    const response = await page.request.get(path);
    expect(response.status(), path).toBe(200);
    expect(response.headers()['content-type'], path).toMatch(type);
  }
  const icon = await page.locator('link[rel="icon"]').first().getAttribute('href');
  expect(icon).toBeTruthy();
});

test('the theme toggle overrides the system setting and is remembered', async ({ page, lab }) => {
  void lab;
  await useSystemTheme(page, 'light');
  await page.goto('/account');
  await expect(page.locator('html')).not.toHaveAttribute('data-theme', /./);
  await page.getByTestId('theme').selectOption('dark');
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await page.reload();
  // Rendered dark by the server from the cookie: no flash of the light theme.
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await expect(page.getByTestId('theme')).toHaveValue('dark');
  await page.getByTestId('theme').selectOption('system');
  await expect(page.locator('html')).not.toHaveAttribute('data-theme', /./);
});

test('the notice area shows a server-side notice without a reload, and drops it when it clears', async ({ page, lab }) => {
  const sysctl = (value: number) => runCommand(['ip', 'netns', 'exec', lab.ns.name, 'sysctl', '-qw', `net.netfilter.nf_conntrack_events=${value}`]);
  const notice = page.locator('[data-notice-id="conntrack:events"]');
  await page.goto('/history');
  // (The seeded table's NAT addresses are on no interface of the lab: its stale notice is there throughout.)
  await expect(notice).toHaveCount(0);
  try {
    expect((await sysctl(0)).exitCode).toBe(0);
    // Within one poll (15 s), with room for a loaded machine; the page is not reloaded.
    await expect(notice).toBeVisible({ timeout: 45_000 });
    await expect(notice).toContainText('nf_conntrack_events=0');
    await expect(notice).toContainText('sysctl -w net.netfilter.nf_conntrack_events=1');
    await expectAccessible(page, 'a page with a notice');
  } finally {
    await sysctl(1);
  }
  await expect(page.locator('[data-notice-id="conntrack:events"]')).toHaveCount(0, { timeout: 45_000 });
});

test('password change: old password refused, other sessions end, audited', async ({ page, browser, lab }) => {
  const user = await createUser(lab.dataDir, { name: `pw-${Date.now()}`, role: 'viewer' });
  const other = await browser.newContext({ baseURL: lab.server.url });
  const otherPage = await other.newPage();
  try {
    await page.context().clearCookies();
    await loginViaApi(page, user);
    await loginViaApi(otherPage, user);
    await page.goto('/account');
    await expect(page.getByRole('heading', { name: 'Account', level: 1 })).toBeVisible();
    await expectAccessible(page, 'the account page of a viewer');

    // Keyboard only: Tab to each field, type, Enter submits.
    const form = page.getByTestId('password-form');
    await form.getByLabel('Current password').fill('not-the-password');
    await form.getByLabel('New password', { exact: true }).fill('a-new-password-123');
    await form.getByLabel('New password again').fill('a-new-password-123');
    await form.getByLabel('New password again').press('Enter');
    await expect(page.getByTestId('password-problem')).toContainText('current password is wrong');
    await expect(form.getByLabel('Current password')).toBeFocused();

    await form.getByLabel('Current password').fill(user.password);
    await form.getByLabel('New password', { exact: true }).fill('a-new-password-123');
    await form.getByLabel('New password again').fill('a-new-password-124');
    await page.getByTestId('password-submit').click();
    await expect(page.getByTestId('password-problem')).toContainText('the two new passwords differ');

    await form.getByLabel('Current password').fill(user.password);
    await form.getByLabel('New password', { exact: true }).fill('a-new-password-123');
    await form.getByLabel('New password again').fill('a-new-password-123');
    await page.getByTestId('password-submit').click();
    await expect(page.getByTestId('password-done')).toHaveText('Password changed. 1 other session ended.');

    // This session stays; the other one ended; the old password no longer works, the new one does.
    expect((await page.request.get('/api/auth/me')).status()).toBe(200);
    expect((await otherPage.request.get('/api/auth/me')).status()).toBe(401);
    const old = await otherPage.request.post('/api/auth/login', { data: { name: user.name, password: user.password } });
    expect(old.status()).toBe(401);
    await loginViaApi(otherPage, { name: user.name, password: 'a-new-password-123' });

    const audit = await fetch(`${lab.server.url}/api/audit?action=user.passwd&actor=${user.name}`, { headers: lab.auth });
    expect(audit.status).toBe(200);
    const { items } = (await audit.json()) as { items: { outcome: string; affected: number | null }[] };
    expect(items.map((i) => [i.outcome, i.affected])).toEqual([
      ['ok', 1],
      ['failed', null],
    ]);
  } finally {
    await other.close();
  }
});
