// The Expectations page, the helper column and label badges in Chromium, against the real server managing a lab
// router whose ftp helper holds real expectations; every delete is checked with conntrack -L expect.
import { test as base, expect, type Page } from '@playwright/test';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { LAB_CONNLABELS } from '@/lib/lab/addresses';
import type { HelperLabInfo } from '../support/helper-lab';
import { listExpectationsWithConntrack } from '../support/oracle-extra';
import { startServer, type TestServer } from '../support/server';
import { expectDialogAccessible } from './a11y';
import { expectCardsWhole, screenshot, showColumn } from './fixtures';

interface World {
  lab: HelperLabInfo;
  server: TestServer;
  cookies: { name: string; value: string; httpOnly: boolean }[];
}

const repoRoot = resolve(__dirname, '../..');

const test = base.extend<object, { world: World }>({
  world: [
    async ({}, provide) => {
      const scratch = mkdtempSync(join(tmpdir(), 'ctc-e2e-expect-'));
      const connlabelFile = join(scratch, 'connlabel.conf');
      writeFileSync(connlabelFile, LAB_CONNLABELS);
      const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'tests/support/helper-lab.ts')], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'inherit'] });
      const exited = new Promise((r) => child.once('exit', r));
      let server: TestServer | undefined;
      try {
        const line = await new Promise<string>((resolveLine, reject) => {
          createInterface({ input: child.stdout }).once('line', resolveLine);
          child.once('exit', (code) => reject(new Error(`the helper lab exited with ${code} before it was ready`)));
        });
        const lab = JSON.parse(line) as HelperLabInfo;
        server = await startServer({ netns: lab.namespaces.router, env: { CONNTRACK_CONNLABEL_FILE: connlabelFile } });
        const response = await fetch(`${server.url}/api/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', origin: server.url },
          body: JSON.stringify({ name: server.admin.name, password: server.admin.password }),
        });
        expect(response.status).toBe(200);
        const cookies = response.headers.getSetCookie().map((line) => {
          const [pair] = line.split(';');
          const at = pair.indexOf('=');
          return { name: pair.slice(0, at), value: pair.slice(at + 1), httpOnly: /;\s*HttpOnly/i.test(line) };
        });
        await provide({ lab, server, cookies });
      } finally {
        await server?.stop();
        // Closing its stdin makes the lab process remove the lab and exit.
        child.stdin.end();
        await exited;
        rmSync(scratch, { recursive: true, force: true });
      }
    },
    { scope: 'worker', timeout: 600_000 },
  ],
  baseURL: async ({ world }, provide) => provide(world.server.url),
  storageState: async ({ world }, provide) => {
    const { hostname } = new URL(world.server.url);
    await provide({ cookies: world.cookies.map((c) => ({ ...c, domain: hostname, path: '/', expires: -1, secure: false, sameSite: 'Strict' as const })), origins: [] });
  },
});

const oracle = (world: World) => listExpectationsWithConntrack(world.lab.namespaces.router);
const expectRows = (page: Page) => page.getByTestId('expect-row');

test.describe.configure({ mode: 'serial' });

test('the Expectations tab lists what conntrack -L expect lists, with the master linked', async ({ page, world }) => {
  await expect.poll(async () => (await oracle(world)).length, { timeout: 20_000 }).toBe(3);
  await page.goto('/expectations');
  await expect(expectRows(page)).toHaveCount(3);
  const want = (await oracle(world)).map((e) => e.tuple.dport).sort();
  const shown = await page.getByTestId('expect-expected').allInnerTexts();
  expect(shown.map((text) => Number(/:(\d+)$/.exec(text)?.[1])).sort()).toEqual(want);
  await expect(page.getByTestId('expect-helper').first()).toHaveText('ftp');
  // Wildcards: the expected source port is not pinned by the ftp helper.
  expect(shown.every((text) => text.includes(':* →'))).toBe(true);
  await screenshot(page, 'expectations');
  await page.setViewportSize({ width: 390, height: 800 });
  // On a phone's cards the master tuple and the expected one read whole, not cut at the card's edge.
  await expect(page.getByTestId('expect-master').first()).toBeVisible();
  expect(await expectCardsWhole(page, 'expectations at 390 px')).toBeGreaterThan(3);
  await screenshot(page, 'expectations-narrow');
  await page.setViewportSize({ width: 1280, height: 720 });
  // The master link opens that connection on the Connections page.
  const master = await expectRows(page).first().getAttribute('data-master');
  await page.getByTestId('expect-master').first().getByRole('link').click();
  await expect(page).toHaveURL(new RegExp(`[?&]id=${master}`));
  await expect(page.getByTestId('details-panel')).toBeVisible();
  await expect(page.getByTestId('details-helper')).toHaveText('ftp');
  await expect(page.getByTestId('details-expectations')).toContainText('ftp expects');
});

test('filters by helper and master, and says why a bad value is refused', async ({ page }) => {
  await page.goto('/expectations');
  await expect(expectRows(page)).toHaveCount(3);
  await page.getByTestId('expect-filter-helper').fill('sip');
  await page.getByTestId('expect-apply').click();
  await expect(page.getByTestId('expect-empty')).toBeVisible();
  await expect(page).toHaveURL(/helper=sip/);
  await page.getByTestId('expect-filter-helper').fill('ftp');
  await page.getByTestId('expect-filter-port').fill('70000');
  await page.getByTestId('expect-apply').click();
  await expect(page.getByTestId('error-panel')).toContainText('port');
});

test('delete one, then all of a master, then flush with the typed word; the kernel agrees each time', async ({ page, world }) => {
  await page.goto('/expectations');
  await expect(expectRows(page)).toHaveCount(3);
  const first = expectRows(page).first();
  const id = await first.getAttribute('data-id');
  // Deletes are in the row's actions menu (its "⋯" button, right-click, or Shift+F10 on the row).
  await first.getByTestId('row-actions').click();
  await page.getByRole('menuitem', { name: 'Delete this expectation…' }).click();
  await expectDialogAccessible(page, 'delete an expectation');
  await page.getByTestId('expect-confirm').click();
  await expect(page.getByTestId('toast')).toContainText(`Deleted expectation ${id}`);
  await expect(expectRows(page)).toHaveCount(2);
  expect(await oracle(world)).toHaveLength(2);

  const second = expectRows(page).first();
  const master = await second.getAttribute('data-master');
  await second.focus();
  await page.keyboard.press('Shift+F10');
  await page.getByRole('menuitem', { name: `Delete every expectation of connection ${master}…` }).click();
  await page.getByTestId('expect-confirm').click();
  await expect(page.getByTestId('toast').last()).toContainText(`of connection ${master}`);
  await expect(expectRows(page)).toHaveCount(1);
  expect(await oracle(world)).toHaveLength(1);

  await page.getByTestId('expect-flush').click();
  await expect(page.getByTestId('expect-confirm')).toBeDisabled();
  await expectDialogAccessible(page, 'flush the expectations');
  // The word exactly, in capitals; only the spaces around it are forgiven.
  await page.getByTestId('expect-flush-typed').fill('flush');
  await expect(page.getByTestId('expect-confirm')).toBeDisabled();
  await page.getByTestId('expect-flush-typed').fill(' FLUSH ');
  await page.getByTestId('expect-confirm').click();
  await expect(page.getByTestId('expect-empty')).toBeVisible();
  expect(await oracle(world)).toEqual([]);
});

test('connections show the helper column and label badges, and filter by them', async ({ page }) => {
  await page.goto('/?helper=ftp');
  await showColumn(page, 'helper');
  await showColumn(page, 'labels');
  await expect(page.getByRole('columnheader', { name: 'Helper' })).toBeVisible();
  await expect(page.getByTestId('helper-cell').first()).toHaveText('ftp');
  // Every FTP control connection carries ftp-control; the second client's carries second-client as well, and which
  // row comes first depends on the ids the kernel gave.
  await expect(page.getByTestId('grid-row').first().getByTestId('label-badge').filter({ hasText: 'ftp-control' })).toHaveCount(1);
  await page.goto('/?label=second-client');
  await expect(page.getByTestId('grid-row').first().getByTestId('label-badge').first()).toBeVisible();
  const badges = await page.getByTestId('label-badge').allInnerTexts();
  expect(badges).toContain('second-client');
  await screenshot(page, 'connections-helper-labels');
});
