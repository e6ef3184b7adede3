// The history page in Chromium against the real server and kernel: a connection deleted through the API is found
// by its id with its cause, and cleared from the history (checked through the API, not the page); the NAT lookup
// form names the LAN host behind an external address and port, typed in the browser's own zone.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Browser } from '@playwright/test';
import { createToken, createUser, loginViaApi, type Credentials } from '../support/auth';
import { createTestNamespace, insertWithConntrack, type TestNamespace } from '../support/oracle';
import { expectAccessible, expectDialogAccessible } from './a11y';
import { startServer, type TestServer } from '../support/server';

let ns: TestNamespace;
let server: TestServer;
let dataDir: string;
let admin: Credentials;
let token: string;

/** The NAT lookup test's LAN host, masqueraded to NAT_EXTERNAL. */
const NAT_LAN = '192.168.50.7';
const NAT_EXTERNAL = '203.0.113.19';

test.beforeAll(async () => {
  test.setTimeout(300_000);
  ns = await createTestNamespace('ctc-e2e-hist');
  dataDir = mkdtempSync(join(tmpdir(), 'ctc-e2e-history-'));
  admin = await createUser(dataDir, { name: 'history-admin', role: 'admin' });
  token = await createToken(dataDir, { name: 'e2e', role: 'admin' });
  // The NAT lookup test's LAN host has a DHCP lease: the answer names the machine.
  writeFileSync(join(dataDir, 'dnsmasq.leases'), `0 02:00:00:00:19:07 ${NAT_LAN} abuse-laptop *\n`);
  server = await startServer({ netns: ns.name, env: { CONNTRACK_DATA_DIR: dataDir, CONNTRACK_NAME_FILES: `dnsmasq:${join(dataDir, 'dnsmasq.leases')}` } });
});

test.afterAll(async () => {
  await server?.stop();
  await ns?.dispose();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
  const response = await fetch(`${server.url}${path}`, { method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as T;
};

async function loggedInPage(browser: Browser) {
  const context = await browser.newContext({ baseURL: server.url });
  const page = await context.newPage();
  await loginViaApi(page, admin);
  return page;
}

test('an ended connection is found by id with its cause, and cleared', async ({ browser }) => {
  await insertWithConntrack(ns.name, { protocol: 'tcp', src: '192.168.50.5', dst: '198.51.100.50', sport: 6100, dport: 443, state: 'ESTABLISHED', timeout: 600 });
  await api('POST', '/api/connections/refresh');
  const { items } = await api<{ items: { id: number }[] }>('GET', '/api/connections?src=192.168.50.5');
  const id = items[0].id;
  await api('POST', '/api/connections/delete', { ids: [id] });
  await expect.poll(async () => (await api<{ matched: number }>('GET', `/api/history?id=${id}`)).matched, { timeout: 20_000 }).toBe(1);

  const page = await loggedInPage(browser);
  await page.goto('/history');
  // Since when it records, and what the start covered (the entries open then, as the recorder counted them).
  const { status: recorded } = await api<{ status: { recorder: { openAtStart: number } } }>('GET', '/api/history?limit=1');
  await expect(page.getByTestId('recording-since')).toContainText(
    new RegExp(`^Recording since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d [+-]\\d\\d:\\d\\d: the ${recorded.recorder.openAtStart} connections open then are recorded`),
  );
  await page.getByTestId('history-filter-id').fill(String(id));
  await page.getByTestId('history-apply').click();
  await expect(page).toHaveURL(new RegExp(`id=${id}`));
  const row = page.getByTestId('history-row');
  await expect(row).toHaveCount(1);
  await expect(row).toHaveAttribute('data-id', String(id));
  await expect(row.getByTestId('history-cause')).toHaveAttribute('data-cause', 'admin');
  // Who deleted it: the API token the delete went through.
  await expect(row.getByTestId('history-cause')).toHaveText(/^deleted by an administrator \(.+\)$/);

  // The id opens the row's own details (not the live table, where the connection is gone).
  await row.getByTestId('history-open-details').click();
  const details = page.getByTestId('history-details');
  await expect(details).toBeVisible();
  await expect(details.getByTestId('history-details-cause')).toHaveText('deleted by an administrator');
  await expectDialogAccessible(page, 'History details');
  await expect(details).toContainText('192.168.50.5:6100 → 198.51.100.50:443');
  const user = (await details.getByTestId('history-details-user').textContent()) ?? '';
  expect(user.length).toBeGreaterThan(0);
  await expect(details.getByRole('link', { name: 'audit log' })).toHaveAttribute('href', new RegExp(`^/audit\\?actor=${user}&`));
  await page.keyboard.press('Escape');
  await expect(details).toHaveCount(0);
  await expect(row.getByTestId('history-open-details')).toBeFocused();

  // Every column header sorts; the URL keeps the order.
  await page.getByTestId('sort-bytes').click();
  await expect(page).toHaveURL(/sort=bytes&order=desc/);
  await page.getByTestId('sort-bytes').click();
  await expect(page).toHaveURL(/sort=bytes&order=asc/);
  await expect(row).toHaveCount(1);

  // When it ended, with the date range the Audit page uses too: the URL takes ISO instants, a range that ends
  // before the connection ended finds nothing, one that starts before it finds it, an inverted one is not sent.
  const from = page.getByTestId('history-filter-from');
  const to = page.getByTestId('history-filter-to');
  await to.fill('2020-06-15T12:00');
  await page.getByTestId('history-apply').click();
  await expect(page).toHaveURL(/[?&]to=2020-06-15T/);
  await expect(row).toHaveCount(0);
  await from.fill('2021-06-15T12:00');
  await expect(page.getByTestId('date-range-problem')).toHaveText(/^The range ends before it starts/);
  await expect(from).toHaveAttribute('aria-invalid', 'true');
  await page.getByTestId('history-apply').click();
  await expect(page).not.toHaveURL(/[?&]from=/);
  await to.fill('');
  await expect(page.getByTestId('date-range-problem')).toHaveCount(0);
  await from.fill('2020-06-15T12:00');
  await page.getByTestId('history-apply').click();
  await expect(page).toHaveURL(/[?&]from=2020-06-15T/);
  await expect(page).not.toHaveURL(/[?&]to=/);
  await expect(row).toHaveCount(1);

  // The status line the details panel uses says the same.
  const status = await api<{ state: string; entry?: { cause: string } }>('GET', `/api/connections/${id}/status`);
  expect(status).toMatchObject({ state: 'ended', entry: { cause: 'admin' } });

  await row.click({ button: 'right' });
  await page.getByTestId('context-menu').getByRole('menuitem', { name: /Clear selected/ }).click();
  await expect(page.getByTestId('toast')).toContainText('Cleared 1 row.');
  await expect(page.getByTestId('history-row')).toHaveCount(0);
  expect((await api<{ matched: number }>('GET', `/api/history?id=${id}`)).matched).toBe(0);
});

test('clear all needs the typed confirmation', async ({ browser }) => {
  await insertWithConntrack(ns.name, { protocol: 'udp', src: '192.168.50.6', dst: '198.51.100.53', sport: 5300, dport: 53, timeout: 600 });
  await api('POST', '/api/connections/flush', {});
  await expect.poll(async () => (await api<{ matched: number }>('GET', '/api/history?cause=flush')).matched, { timeout: 20_000 }).toBeGreaterThan(0);
  const page = await loggedInPage(browser);
  await page.goto('/history');
  await expect(page.getByTestId('history-row').first()).toBeVisible();
  await page.getByTestId('history-clear-all').click();
  await expect(page.getByTestId('history-clear-confirm')).toBeDisabled();
  await expectDialogAccessible(page, 'History clear all');
  // The word shown, exactly: the old lower-case phrase no longer confirms.
  await page.getByTestId('history-clear-typed').fill('clear all');
  await expect(page.getByTestId('history-clear-confirm')).toBeDisabled();
  await page.getByTestId('history-clear-typed').fill('clear');
  await expect(page.getByTestId('history-clear-confirm')).toBeDisabled();
  await page.getByTestId('history-clear-typed').fill('CLEAR ');
  await page.getByTestId('history-clear-confirm').click();
  await expect(page.getByTestId('history-row')).toHaveCount(0);
  expect((await api<{ matched: number }>('GET', '/api/history')).matched).toBe(0);
});

/** "2026-03-01T15:05:07": the wall clock of `zone` at `at`, as a datetime-local field takes it. */
function localTime(at: Date, zone: string): string {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-CA', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(at).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}`;
}

test('the NAT lookup form names the LAN host that used an external address and port, open and ended', async ({ browser }) => {
  // Two masqueraded connections from one LAN host: one still open, one the console deletes (so it is history).
  await insertWithConntrack(ns.name, { protocol: 'tcp', src: NAT_LAN, dst: '198.51.100.70', sport: 6201, dport: 443, state: 'ESTABLISHED', timeout: 600, srcNat: `${NAT_EXTERNAL}:62001` });
  await insertWithConntrack(ns.name, { protocol: 'tcp', src: NAT_LAN, dst: '198.51.100.71', sport: 6202, dport: 443, state: 'ESTABLISHED', timeout: 600, srcNat: `${NAT_EXTERNAL}:62002` });
  await api('POST', '/api/connections/refresh');
  const { items } = await api<{ items: { id: number; original: { sport: number } }[] }>('GET', `/api/connections?src=${NAT_LAN}&sport=6202`);
  await api('POST', '/api/connections/delete', { ids: [items[0].id] });
  await expect.poll(async () => (await api<{ matched: number }>('GET', `/api/history?id=${items[0].id}`)).matched, { timeout: 30_000 }).toBe(1);

  // A browser in another zone than the server: the time typed there is sent with that zone's offset.
  const zone = 'America/Sao_Paulo';
  const context = await browser.newContext({ baseURL: server.url, timezoneId: zone });
  const page = await context.newPage();
  await loginViaApi(page, admin);
  await page.goto('/history');
  const form = page.getByRole('form', { name: 'NAT lookup' });
  await expect(form.getByLabel('Time (your zone, UTC-03:00)')).toBeVisible();
  const lookUp = async (port: string) => {
    await form.getByTestId('nat-address').fill(NAT_EXTERNAL);
    await form.getByTestId('nat-port').fill(port);
    await form.getByTestId('nat-at').fill(localTime(new Date(), zone));
    await form.getByTestId('nat-window').fill('600');
    await form.getByTestId('nat-submit').click();
  };

  await lookUp('62001');
  await expect(page.getByTestId('nat-summary')).toHaveText(/^1 connection used 203\.0\.113\.19:62001 within 10 min of .* -03:00\.$/);
  const open = page.getByTestId('nat-row');
  await expect(open).toHaveCount(1);
  await expect(open.getByTestId('nat-lan')).toContainText(`${NAT_LAN}:6201`);
  await expect(open.getByTestId('nat-lan-name')).toHaveText('abuse-laptop (02:00:00:00:19:07)');
  await expect(open).toContainText('still open');

  await lookUp('62002');
  const ended = page.getByTestId('nat-row');
  await expect(ended).toHaveCount(1);
  await expect(ended.getByTestId('nat-lan')).toContainText(`${NAT_LAN}:6202`);
  await expect(ended).toContainText('deleted by an administrator');
  await expectAccessible(page, 'the NAT lookup form with its answer', 'section[aria-labelledby="nat-lookup-title"]');

  // The export holds the same answer, the LAN host's name included.
  const href = await form.getByRole('link', { name: 'Export lookup CSV' }).getAttribute('href');
  const csv = await page.request.get(href!);
  expect(csv.status()).toBe(200);
  const [header, line] = (await csv.text()).split('\r\n');
  expect(header.split(',').slice(0, 4)).toEqual(['source', 'lan', 'external', 'lanName']);
  expect(line.split(',').slice(0, 4)).toEqual(['history', `${NAT_LAN}:6202`, `${NAT_EXTERNAL}:62002`, 'abuse-laptop']);

  // Bad input comes back named: a port out of range.
  await lookUp('70000');
  await expect(page.getByTestId('nat-error')).toContainText('port');
  await expect(page.getByTestId('nat-row')).toHaveCount(0);
  await context.close();
});
