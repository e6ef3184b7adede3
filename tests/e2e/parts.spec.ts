// The shared parts in Chromium against the real server and kernel, the way a keyboard user and a phone user meet
// them: every dialog keeps Tab and Shift+Tab inside, closes on Escape and gives focus back to its opener, and
// passes axe in both themes; the Connections page can be filtered, sorted, read and cleaned up with the keyboard
// alone (deletes checked with conntrack); the grid's column choice is remembered; the default columns fit
// 1280x720 and no page scrolls sideways at 390x844, where every dialog fits the screen. Screenshots of every
// page in both themes and both sizes go to test-results/screenshots.
import type { Locator, Page } from '@playwright/test';
import { CONSOLE_PAGES } from '../../app/components/shell/pages';
import { expectAccessible, THEMES, useSystemTheme } from './a11y';
import { insertWithConntrack } from '../support/oracle';
import { expect, expectCardsWhole, expectMatched, rows, screenshot, SEEDED, TARGET, test } from './fixtures';

const slug = (href: string) => (href === '/' ? 'connections' : href.slice(1));

/** What has the keyboard focus: its test id, else its tag and accessible label. */
const focused = (page: Page) =>
  page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    return el?.dataset.testid ?? `${el?.tagName.toLowerCase()}:${el?.getAttribute('aria-label') ?? el?.textContent?.trim().slice(0, 40)}`;
  });

const focusInOpenDialog = (page: Page) => page.evaluate(() => !!document.querySelector('dialog[open]')?.contains(document.activeElement));

/** Presses Tab (or Shift+Tab) until the focused element matches, at most `max` times. */
async function tabTo(page: Page, target: Locator, { max = 80, back = false } = {}): Promise<number> {
  for (let n = 1; n <= max; n++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    if (await target.evaluate((el) => el === document.activeElement)) return n;
  }
  throw new Error(`${String(target)} not reached in ${max} ${back ? 'Shift+Tab' : 'Tab'} presses (focus on ${await focused(page)})`);
}

/**
 * The contract of every dialog: focus starts inside, Tab and Shift+Tab go round inside (twice the number of its
 * controls, both ways), axe finds nothing in it, it fits the viewport, Escape closes it and focus is back on
 * the element that opened it.
 */
async function checkDialog(page: Page, dialog: Locator, what: string, opener: Locator): Promise<void> {
  await expect(dialog).toBeVisible();
  expect(await focusInOpenDialog(page), `${what}: focus starts inside`).toBe(true);
  const controls = await dialog.evaluate((el) => el.querySelectorAll('a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea, [tabindex="0"]').length);
  for (const key of ['Tab', 'Shift+Tab']) {
    for (let i = 0; i < controls * 2 + 1; i++) {
      await page.keyboard.press(key);
      expect(await focusInOpenDialog(page), `${what}: ${key} #${i + 1} stays inside (focus on ${await focused(page)})`).toBe(true);
    }
  }
  const box = await dialog.boundingBox();
  const viewport = page.viewportSize();
  expect(box && viewport && box.x >= 0 && box.y >= 0 && box.x + box.width <= viewport.width && box.y + box.height <= viewport.height, `${what} fits the ${viewport?.width}x${viewport?.height} viewport: ${JSON.stringify(box)}`).toBe(true);
  await expectAccessible(page, what, 'dialog[open]');
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(opener, `${what}: focus returns to its opener`).toBeFocused();
}

for (const theme of THEMES) {
  test(`every dialog of the Connections page keeps focus, closes on Escape and passes axe (${theme})`, async ({ page, lab }) => {
    void lab;
    await useSystemTheme(page, theme);
    await page.goto(`/?src=${TARGET.src}`);
    await expectMatched(page, 1);
    const row = rows(page).first();

    // The details, opened from the row with Enter.
    await row.focus();
    await page.keyboard.press('Enter');
    await checkDialog(page, page.getByTestId('details-panel'), `details (${theme})`, row);

    // The delete confirmation, from the Delete key on the selected row.
    await page.keyboard.press('Space');
    await expect(page.getByTestId('selection-count')).toHaveText('1 selected');
    await page.keyboard.press('Delete');
    await expect(page.getByTestId('delete-summary')).toBeVisible();
    await checkDialog(page, page.getByTestId('delete-dialog'), `delete (${theme})`, row);

    // The row's actions menu from the keyboard, and a dialog opened from it returns focus to the row.
    await page.keyboard.press('Shift+F10');
    const menu = page.getByRole('menu', { name: `Actions for connection ${await row.getAttribute('data-row-id')}` });
    await expect(menu).toBeVisible();
    await expectAccessible(page, `row menu (${theme})`, '[role="menu"]');
    await page.keyboard.press('Escape');
    await expect(menu).toBeHidden();
    await expect(row).toBeFocused();
    await row.getByTestId('row-actions').click();
    await page.getByRole('menuitem', { name: 'Delete this connection…' }).click();
    await expect(page.getByTestId('delete-summary')).toBeVisible();
    await page.keyboard.press('Escape');
    await expect(row.getByTestId('row-actions')).toBeFocused();

    // Flush, from its button; the keyboard shortcuts list, from `?`.
    const flush = page.getByTestId('open-flush');
    await flush.focus();
    await page.keyboard.press('Enter');
    await checkDialog(page, page.getByTestId('flush-dialog'), `flush (${theme})`, flush);
    await row.focus();
    await page.keyboard.press('?');
    await expect(page.getByTestId('shortcuts-dialog')).toContainText('Refresh');
    await checkDialog(page, page.getByTestId('shortcuts-dialog'), `shortcuts (${theme})`, row);
    await screenshot(page, `connections-keyboard-${theme}`);
  });
}

test('keyboard only: filter, sort, open details and delete with confirmation', async ({ page, lab }) => {
  await page.goto('/');
  await expectMatched(page, SEEDED);
  // `/` goes to the search; the filters apply with Enter and the focus stays where it was.
  await page.keyboard.press('/');
  await expect(page.getByTestId('filter-q')).toBeFocused();
  await page.keyboard.type(TARGET.src);
  await page.keyboard.press('Enter');
  await expectMatched(page, 1);
  await expect(page.getByTestId('filter-q')).toBeFocused();
  await page.getByTestId('filter-q').fill('');
  await page.keyboard.press('Enter');
  await expectMatched(page, SEEDED);
  // Established entries: their hour-long timeouts outlast a slow run (UDP ones expire in 30 s).
  const state = page.getByTestId('filter-state');
  await tabTo(page, state, { back: true });
  await state.selectOption('ESTABLISHED');
  await tabTo(page, page.getByTestId('apply-filters'));
  await page.keyboard.press('Enter');
  await expectMatched(page, 124);
  await expect(page.getByTestId('apply-filters')).toBeFocused();

  // Sort by ID with the header button, then reach the first row in a few Tabs (the body is one tab stop).
  const sortId = page.getByTestId('sort-id');
  await tabTo(page, sortId);
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/sort=id&order=asc/);
  await expectMatched(page, 124);
  await expect(sortId).toBeFocused();
  const ids = (await rows(page).evaluateAll((els) => els.map((el) => Number(el.getAttribute('data-row-id'))))).slice();
  expect(ids).toEqual([...ids].sort((a, b) => a - b));
  const tabs = await tabTo(page, rows(page).first(), { max: 20 });
  expect(tabs, 'Tabs from the sort button to the first row').toBeLessThanOrEqual(12);

  // Arrow down to the third row, open its details with Enter, close them with Escape: focus is back on it.
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  const third = rows(page).nth(2);
  await expect(third).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(new RegExp(`id=${ids[2]}`));
  await expect(page.getByTestId('details-panel')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('details-panel')).toBeHidden();
  await expect(third).toBeFocused();

  // Space selects it and the next one (Shift+ArrowDown extends); Delete asks; the confirmation by keyboard.
  await page.keyboard.press('Space');
  await page.keyboard.press('Shift+ArrowDown');
  await expect(page.getByTestId('selection-count')).toHaveText('2 selected');
  await page.keyboard.press('Delete');
  const dialog = page.getByTestId('delete-dialog');
  await expect(dialog.getByTestId('delete-summary')).toHaveText(/^Delete 2 connections selected/);
  await tabTo(page, dialog.getByTestId('confirm-delete'), { max: 10 });
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('result-banner')).toContainText('Deleted 2 connections');
  expect(await lab.count(['-p', 'tcp', '--state', 'ESTABLISHED'])).toBe(122);
  const left = await lab.list(['-p', 'tcp', '--state', 'ESTABLISHED']);
  expect(left.map((e) => e.id)).not.toContain(ids[2]);
  expect(left.map((e) => e.id)).not.toContain(ids[3]);

  // `r` refreshes; Ctrl+A selects the page, Escape clears it.
  await rows(page).first().focus();
  const before = await page.getByTestId('snapshot-info').getAttribute('data-snapshot-id');
  await page.keyboard.press('r');
  await expect(page.getByTestId('snapshot-info')).not.toHaveAttribute('data-snapshot-id', before ?? '');
  await expectMatched(page, 122);
  await page.keyboard.press('ControlOrMeta+a');
  await expect(page.getByTestId('selection-count')).toHaveText('100 selected');
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('selection-count')).toHaveText('No selection');

  // The Refresh button keeps the focus while it works and after.
  const refresh = page.getByTestId('refresh');
  await refresh.focus();
  await page.keyboard.press('Enter');
  await expectMatched(page, 122);
  await expect(refresh).toBeFocused();
});

test('the column chooser shows, hides and reorders columns, and the browser remembers it', async ({ page, lab }) => {
  void lab;
  await page.goto('/');
  await expectMatched(page, SEEDED);
  const headers = () => page.getByTestId('grid').locator('thead th').evaluateAll((els) => els.map((el) => el.getAttribute('data-column')));
  expect(await headers()).toEqual(['__select', 'id', 'protocol', 'src', 'state', 'bytes', 'timeout', 'startedAt', '__actions']);
  await page.getByTestId('column-chooser').click();
  const panel = page.getByTestId('column-chooser-panel');
  await expectAccessible(page, 'column chooser', '[data-testid="column-chooser-panel"]');
  await panel.getByTestId('chooser-mark').getByRole('checkbox').check();
  await panel.getByTestId('chooser-state').getByRole('checkbox').uncheck();
  await panel.getByRole('button', { name: 'Move Time left earlier' }).click();
  await expect(panel.getByRole('button', { name: 'Move Time left earlier' })).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(panel).toBeHidden();
  await expect(page.getByTestId('column-chooser')).toBeFocused();
  const afterChoice = ['__select', 'id', 'protocol', 'src', 'timeout', 'bytes', 'startedAt', 'mark', '__actions'];
  expect(await headers()).toEqual(afterChoice);
  await page.reload();
  await expectMatched(page, SEEDED);
  expect(await headers()).toEqual(afterChoice);
  await page.getByTestId('column-chooser').click();
  await page.getByTestId('column-reset').click();
  expect(await headers()).toEqual(['__select', 'id', 'protocol', 'src', 'state', 'bytes', 'timeout', 'startedAt', '__actions']);
});

test('at 1280x720 the default columns end inside the viewport', async ({ page, lab }) => {
  void lab;
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.goto('/');
  await expectMatched(page, SEEDED);
  const right = await page.getByTestId('grid').locator('thead th').last().evaluate((el) => el.getBoundingClientRect().right);
  expect(right).toBeLessThanOrEqual(1280);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  // The grid's own box fits the viewport's height, so its header and its horizontal scrollbar stay reachable.
  const grid = await page.getByTestId('grid').boundingBox();
  expect(grid?.height ?? Infinity).toBeLessThanOrEqual(720);
  // Scrolled inside the grid, the header stays on top of it.
  await page.getByTestId('grid').evaluate((el) => el.scrollBy(0, 400));
  const scrolled = await page.getByTestId('grid').evaluate((el) => [el.scrollTop, el.getBoundingClientRect().top, el.querySelector('thead')!.getBoundingClientRect().top]);
  expect(scrolled[0]).toBeGreaterThan(0);
  expect(Math.abs(scrolled[2] - scrolled[1])).toBeLessThanOrEqual(2);
});

// A long IPv6 address on both sides and a NAT line as long: the table row cuts them short, the card shows them.
const LONG_V6 = { src: '2001:db8:1234:5678:9abc:def0:1234:5678', dst: '2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff', nat: '2001:db8:ffff:eeee:dddd:cccc:bbbb:aaaa' };

test('at 390 px the cards show every value whole: long IPv6 addresses and their NAT wrap, nothing is cut short', async ({ page, lab }) => {
  await insertWithConntrack(lab.ns.name, ['-p', 'tcp', '-s', LONG_V6.src, '-d', LONG_V6.dst, '--sport', '61000', '--dport', '443', '--state', 'ESTABLISHED', '-t', '600', '--src-nat', LONG_V6.nat]);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`/?src=${LONG_V6.src}`);
  const info = page.getByTestId('snapshot-info');
  const held = await info.getAttribute('data-snapshot-id');
  await page.getByTestId('refresh').click();
  await expect(info).not.toHaveAttribute('data-snapshot-id', held ?? '');
  await expectMatched(page, 1);
  const card = rows(page).first();
  await expect(card.getByTestId('nat-line')).toContainText(LONG_V6.nat);
  expect(await expectCardsWhole(page, 'a long IPv6 row at 390 px')).toBeGreaterThan(3);
  // Whole means readable on the card: the addresses are on screen, not only in a tooltip.
  for (const address of [LONG_V6.src, LONG_V6.dst]) await expect(card).toContainText(address);
  const box = await card.boundingBox();
  expect(box && box.x >= 0 && box.x + box.width <= 390, `the card fits: ${JSON.stringify(box)}`).toBe(true);
  await screenshot(page, 'card-long-ipv6-390');
});

for (const theme of THEMES) {
  test(`every page at 1280x720 and 390x844 (${theme}): no sideways scrolling on a phone, screenshots`, async ({ page, lab }) => {
    void lab;
    // Twelve page loads and three dialogs: more than the default two minutes on a shared machine.
    test.setTimeout(360_000);
    await useSystemTheme(page, theme);
    for (const size of [
      { width: 1280, height: 720 },
      { width: 390, height: 844 },
    ]) {
      await page.setViewportSize(size);
      for (const entry of CONSOLE_PAGES) {
        await page.goto(entry.href);
        await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
        await page.waitForLoadState('networkidle');
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        if (size.width === 390) {
          expect(overflow, `${entry.href} at 390 px scrolls sideways by ${overflow} px`).toBeLessThanOrEqual(0);
          await expectCardsWhole(page, `${entry.href} at 390 px (${theme})`);
        }
        await screenshot(page, `page-${slug(entry.href)}-${size.width}-${theme}`);
      }
    }
    // The Connections page's dialogs fit the phone's screen. (Not the seeded count: twelve page loads on a busy
    // machine outlast the seeded UDP and ICMP entries' 30 s, and opening the page takes a new snapshot by then.)
    await page.goto('/');
    await expect(page.getByRole('table', { name: 'Connections' })).toHaveAttribute('aria-busy', 'false');
    await expect(rows(page).first()).toBeVisible();
    for (const [opener, dialog] of [
      ['open-flush', 'flush-dialog'],
      ['open-multiwan', 'uplink-cleanup'],
    ] as const) {
      const button = page.getByTestId(opener);
      if ((await button.count()) === 0) continue;
      await button.click();
      await checkDialog(page, page.getByTestId(dialog), `${dialog} at 390 px (${theme})`, button);
    }
    await rows(page).first().getByTestId('row-actions').click();
    await page.getByRole('menuitem', { name: 'Show details' }).click();
    await expect(page.getByTestId('details-panel')).toBeVisible();
    await screenshot(page, `details-390-${theme}`);
    const box = await page.getByTestId('details-panel').boundingBox();
    expect(box && box.x >= 0 && box.x + box.width <= 390 && box.y + box.height <= 844, `details fit: ${JSON.stringify(box)}`).toBe(true);
  });
}
