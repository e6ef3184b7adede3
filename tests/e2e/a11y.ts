// Accessibility checks every page and dialog test uses: axe-core (WCAG 2.x A and AA rules, best practices) with
// no violation of impact moderate or higher, in the theme the page is showing.
import AxeBuilder from '@axe-core/playwright';
import { expect, type Page } from '@playwright/test';

const BLOCKING = new Set(['moderate', 'serious', 'critical']);

/** Runs axe on the page (or only inside `include`, e.g. an open dialog) and fails with every offending node. */
export async function expectAccessible(page: Page, what: string, include?: string): Promise<void> {
  let builder = new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']);
  if (include) builder = builder.include(include);
  const { violations } = await builder.analyze();
  const blocking = violations.filter((v) => BLOCKING.has(v.impact ?? ''));
  const report = blocking.map((v) => `${v.impact} ${v.id}: ${v.help}\n${v.nodes.map((n) => `  ${n.target.join(' ')}: ${n.failureSummary?.replace(/\n/g, ' ')}`).join('\n')}`);
  expect(report, `axe violations on ${what}`).toEqual([]);
}

export const THEMES = ['light', 'dark'] as const;
export type ShownTheme = (typeof THEMES)[number];

/** Shows the page in a theme the way a user gets it: the system setting (no choice made in the toggle). */
export async function useSystemTheme(page: Page, theme: ShownTheme): Promise<void> {
  await page.emulateMedia({ colorScheme: theme });
}

/**
 * Axe on an open dialog in both themes: the system setting is switched while it stays open, then set back to
 * what the page showed before, so the test goes on as it was.
 */
export async function expectDialogAccessible(page: Page, what: string): Promise<void> {
  const shown: ShownTheme = (await page.evaluate(() => matchMedia('(prefers-color-scheme: dark)').matches)) ? 'dark' : 'light';
  for (const theme of THEMES) {
    await page.emulateMedia({ colorScheme: theme });
    await expect(page.locator('dialog[open]')).toBeVisible();
    await expectAccessible(page, `${what} (${theme})`, 'dialog[open]');
  }
  await page.emulateMedia({ colorScheme: shown });
}
