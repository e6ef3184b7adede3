// The Connections page in Chromium against the real server and kernel: every destructive result is checked
// with conntrack-tools (the oracle), never with what the page itself says.
import type { Page } from '@playwright/test';
import { deleteWithConntrack, insertWithConntrack } from '../support/oracle';
import { expect, expectMatched, NEW_WAN, OLD_WAN, rows, screenshot, SEEDED, showColumn, TARGET, test, type Lab } from './fixtures';

/** Runs a copied `conntrack -D ...` line in the lab namespace: it must delete exactly one entry (conntrack says so). */
async function runCopiedDelete(lab: Lab, line: string): Promise<void> {
  const [program, command, ...args] = line.split(' ');
  expect([program, command]).toEqual(['conntrack', '-D']);
  expect((await deleteWithConntrack(lab.ns.name, args)).deleted).toBe(1);
}

// When a page shows something unexpected, say what the kernel had at that moment.
test.afterEach(async ({ lab }, testInfo) => {
  if (testInfo.status !== testInfo.expectedStatus) console.log(`${testInfo.title}: the lab table has ${await lab.count()} entries now`);
});

async function clearFilters(page: Page): Promise<void> {
  await page.getByTestId('clear-filters').click();
  await expect(page.getByRole('list', { name: 'Active filters' })).toHaveCount(0);
  await expectMatched(page, SEEDED);
}

test.describe('reading the table', () => {
  test('header shows usage, counts by protocol and state, and the snapshot', async ({ page, lab }) => {
    await page.goto('/');
    await expectMatched(page, SEEDED);
    await expect(page.getByTestId('table-usage')).toContainText(`${SEEDED} now in the kernel of `);
    await expect(page.getByTestId('snapshot-info')).toContainText(`${SEEDED} in this snapshot`);
    await expect(page.getByTestId('count-protocol-tcp')).toContainText('134');
    await expect(page.getByTestId('count-protocol-udp')).toContainText('10');
    await expect(page.getByTestId('count-protocol-icmp')).toContainText('2');
    await expect(page.getByTestId('count-state-ESTABLISHED')).toContainText('124');
    await expect(page.getByTestId('count-state-SYN_SENT')).toContainText('5');
    await expect(page.getByTestId('count-family-ipv6')).toContainText('3');
    // The counts come from one summary request over the page's snapshot, not one query per chip.
    const snapshotId = await page.getByTestId('snapshot-info').getAttribute('data-snapshot-id');
    const summary = await page.request.get(`/api/connections/summary?snapshot=${snapshotId}`);
    expect(summary.status()).toBe(200);
    expect(await summary.json()).toMatchObject({
      snapshot: { id: snapshotId, total: SEEDED },
      byProtocol: { tcp: 134, udp: 10, icmp: 2 },
      byState: { ESTABLISHED: 124, SYN_SENT: 5, TIME_WAIT: 5 },
      byFamily: { ipv4: SEEDED - 3, ipv6: 3 },
    });
    // Accounting and timestamps are on in the lab namespace: their columns are there, no notice.
    await expect(page.getByRole('columnheader', { name: 'Bytes', exact: true })).toBeVisible();
    await expect(page.getByRole('columnheader', { name: /Age/ })).toBeVisible();
    await expect(page.getByTestId('feature-notice')).toHaveCount(0);
    await screenshot(page, 'overview');
    expect(await lab.count()).toBe(SEEDED);
  });

  test('filters by protocol, state, IP and port, and keeps them in the URL', async ({ page, lab }) => {
    void lab; // a freshly seeded table, whatever ran before
    await page.goto('/');
    await expectMatched(page, SEEDED);

    await page.getByTestId('filter-protocol').selectOption('udp');
    await page.getByTestId('apply-filters').click();
    await expect(page).toHaveURL(/protocol=udp/);
    await expectMatched(page, 10);
    await expect(rows(page).first()).toContainText('198.51.100.53:53');

    await clearFilters(page);
    await page.getByTestId('filter-state').selectOption('SYN_SENT');
    await page.getByTestId('apply-filters').click();
    await expect(page).toHaveURL(/state=SYN_SENT/);
    await expectMatched(page, 5);
    await showColumn(page, 'status');
    await expect(rows(page).first().locator('[data-badge="UNREPLIED"]')).toBeVisible();

    await clearFilters(page);
    await page.getByTestId('filter-ip-key').selectOption('replyDst');
    await page.getByTestId('filter-ip').fill(OLD_WAN);
    await page.getByTestId('apply-filters').click();
    await expect(page).toHaveURL(new RegExp(`replyDst=${OLD_WAN.replaceAll('.', '\\.')}`));
    await expectMatched(page, 30);
    await expect(rows(page).first()).toContainText(`SNAT ${OLD_WAN}:`);
    await screenshot(page, 'filtered-external-address');

    await clearFilters(page);
    await page.getByTestId('filter-ip-key').selectOption('src');
    await page.getByTestId('filter-ip').fill('2001:db8::10');
    await page.getByTestId('apply-filters').click();
    await expectMatched(page, 3);
    await expect(rows(page).first()).toContainText('[2001:db8::10]:5300');

    await clearFilters(page);
    await page.getByTestId('filter-port-key').selectOption('dport');
    await page.getByTestId('filter-port').fill('53');
    await page.getByTestId('apply-filters').click();
    await expect(page).toHaveURL(/dport=53/);
    await expectMatched(page, 10);

    // ICMP shows type and code, never an "ip:" port.
    await page.goto('/?protocol=icmp');
    await expectMatched(page, 2);
    await expect(rows(page).first()).toContainText('echo-request type 8 code 0');
    await expect(rows(page).first()).not.toContainText('198.51.100.60:');
  });

  test('a bad filter value is explained, not sent', async ({ page, lab }) => {
    void lab; // a freshly seeded table, whatever ran before
    await page.goto('/?ip=not-an-ip');
    await expect(page.getByTestId('url-problems')).toContainText('"not-an-ip" is not an IPv4 or IPv6 address');
    await expect(page.getByTestId('chip-ip')).toBeVisible();
    await screenshot(page, 'bad-filter');
    await page.getByRole('button', { name: 'Remove filter any IP' }).click();
    await expectMatched(page, SEEDED);
  });

  test('sorts on the server and pages through the total', async ({ page, lab }) => {
    void lab; // a freshly seeded table, whatever ran before
    await page.goto('/?size=50');
    await expectMatched(page, SEEDED);
    await expect(page.getByTestId('pager-range')).toHaveText('1–50 of 146');
    await page.getByRole('button', { name: 'Next' }).click();
    await expect(page).toHaveURL(/page=2/);
    await expect(page.getByTestId('pager-range')).toHaveText('51–100 of 146');
    await page.getByRole('button', { name: 'Last page' }).click();
    await expect(page.getByTestId('pager-range')).toHaveText('101–146 of 146');
    await expect(rows(page)).toHaveCount(46);

    await page.goto('/?family=ipv4&state=ESTABLISHED');
    await expectMatched(page, 121);
    // Destination is a column of its own, off by default (the default one reads source -> destination).
    await showColumn(page, 'dst');
    await page.getByTestId('sort-dst').click();
    await expect(page).toHaveURL(/sort=dst&order=asc/);
    await expectMatched(page, 121);
    await expect(rows(page).first()).toContainText('198.51.100.1:443');
    await page.getByTestId('sort-dst').click();
    await expect(page).toHaveURL(/sort=dst&order=desc/);
    await expectMatched(page, 121);
    await expect(rows(page).first()).toContainText(`${TARGET.dst}:${TARGET.dport}`);
    await expect(page.getByRole('columnheader', { name: /Destination/ })).toHaveAttribute('aria-sort', 'descending');
    // Byte counters sort too (descending first, as a number column should).
    await page.getByTestId('sort-timeout').click();
    await expect(page).toHaveURL(/sort=timeout&order=desc/);
  });

  test('the URL round-trips filters, sort, page and the open connection', async ({ page, lab }) => {
    const [target] = await lab.list(['-s', TARGET.src]);
    const url = `/?protocol=tcp&dport=22&sort=sport&order=desc&size=50&id=${target.id}`;
    await page.goto(url);
    await expect(page.getByTestId('details-panel')).toBeVisible();
    await expect(page.getByTestId('details-directions')).toContainText(TARGET.dst);
    await page.getByRole('button', { name: 'Close' }).click();
    await expect(page).not.toHaveURL(/id=/);
    await expect(page.getByTestId('filter-protocol')).toHaveValue('tcp');
    await expect(page.getByTestId('filter-port-key')).toHaveValue('dport');
    await expect(page.getByTestId('filter-port')).toHaveValue('22');
    await expectMatched(page, 1);
    await page.goBack();
    await expect(page.getByTestId('details-panel')).toBeVisible();
    await page.reload();
    await expect(page.getByTestId('details-panel')).toBeVisible();
    expect(new URL(page.url()).search).toBe(url.slice(1));
  });
});

test.describe('one connection', () => {
  test('details show both directions, raw flags and the live status', async ({ page, lab }) => {
    await page.goto(`/?src=${TARGET.src}`);
    await expectMatched(page, 1);
    await page.getByRole('button', { name: /^Details of connection/ }).click();
    const panel = page.getByTestId('details-panel');
    await expect(panel).toBeVisible();
    await expect(page).toHaveURL(/id=\d+/);
    await expect(panel.getByTestId('details-directions')).toContainText(`${TARGET.sport}`);
    await expect(panel.getByTestId('details-status')).toContainText('ASSURED');
    await expect(panel.getByTestId('details-status')).toContainText('SEEN_REPLY');
    await panel.getByTestId('check-live').click();
    await expect(panel.getByTestId('live-status')).toHaveAttribute('data-live', 'present');
    await screenshot(page, 'details');
    // Gone behind the console's back: the live check says so.
    await lab.ns.exec(['conntrack', '-D', '-s', TARGET.src]);
    await panel.getByTestId('check-live').click();
    await expect(panel.getByTestId('live-status')).toHaveAttribute('data-live', 'gone');
  });

  test('live updates mark a row that ended outside the page, and the details show its status', async ({ page, lab }) => {
    await page.goto(`/?src=${TARGET.src}`);
    await expectMatched(page, 1);
    const toggle = page.getByRole('switch', { name: 'Live updates' });
    await expect(toggle).not.toBeChecked();
    await toggle.check();
    await expect(page.getByTestId('live-state')).toContainText('streaming');

    const [target] = await lab.list(['-s', TARGET.src]);
    await page.getByRole('button', { name: /^Details of connection/ }).click();
    const panel = page.getByTestId('details-panel');
    await expect(page).toHaveURL(new RegExp(`id=${target.id}`));
    await expect(panel.getByTestId('connection-status')).toHaveAttribute('data-state', 'active');

    // Deleted behind the console's back: the stream marks it without a refresh, and the status line follows.
    await lab.ns.exec(['conntrack', '-D', '-s', TARGET.src]);
    await expect(panel.getByTestId('connection-status')).toHaveAttribute('data-state', 'ended', { timeout: 20_000 });
    await expect(panel.getByRole('link', { name: 'See in history' })).toHaveAttribute('href', `/history?id=${target.id}`);
    await page.getByRole('button', { name: 'Close' }).click();

    const row = rows(page).first();
    await expect(row.getByTestId('live-ended')).toHaveText(/^ended: /);
    await expect(row).toHaveClass(/opacity-50/);
    await expect(page.getByTestId('live-state')).toContainText('1 ended');
    await expectMatched(page, 1);
  });

  test('copies a row as text, JSON and the conntrack -D command, which deletes exactly that entry', async ({ page, context, baseURL, lab }) => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseURL });
    const clipboard = () => page.evaluate(() => navigator.clipboard.readText());
    await page.goto(`/?src=${TARGET.src}`);
    await expectMatched(page, 1);
    await rows(page).first().click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Copy as conntrack -D command' }).click();
    await expect(page.getByTestId('toast')).toContainText('Copied 1 connection');
    expect(await clipboard()).toBe(`conntrack -D -p tcp -s ${TARGET.src} -d ${TARGET.dst} --sport ${TARGET.sport} --dport ${TARGET.dport}`);

    await expect(page.getByTestId('context-menu')).toHaveCount(0);
    await rows(page).first().click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Copy as JSON' }).click();
    const json = JSON.parse(await clipboard()) as { original: { src: string; dport: number }; state: string };
    expect(json.original).toMatchObject({ src: TARGET.src, dport: TARGET.dport });
    expect(json.state).toBe('ESTABLISHED');

    await page.getByTestId('copy-text').click();
    expect(await clipboard()).toContain(`${TARGET.src}:${TARGET.sport} -> ${TARGET.dst}:${TARGET.dport}`);

    await page.goto('/?family=ipv6');
    await expectMatched(page, 3);
    await rows(page).first().click();
    await page.getByTestId('copy-command').click();
    await expect(page.getByTestId('toast')).toBeVisible();
    const ipv6Command = await clipboard();
    expect(ipv6Command).toMatch(/^conntrack -D -f ipv6 -p tcp -s 2001:db8::10 -d 2001:db8:1::1 --sport 5300\d --dport 443$/);

    // The copied commands do what they say in the kernel: each removes its entry and nothing else.
    const targetCommand = `conntrack -D -p tcp -s ${TARGET.src} -d ${TARGET.dst} --sport ${TARGET.sport} --dport ${TARGET.dport}`;
    await runCopiedDelete(lab, targetCommand);
    expect(await lab.count(['-s', TARGET.src, '-p', 'tcp', '--sport', String(TARGET.sport)])).toBe(0);
    await runCopiedDelete(lab, ipv6Command);
    expect(await lab.count(['-f', 'ipv6', '-p', 'tcp', '--sport', ipv6Command.split(' ').at(-3)!])).toBe(0);
    expect(await lab.count(['-f', 'ipv6'])).toBe(2);

    // ICMP: type, code and id name the entry (no ports).
    await page.goto('/?src=192.168.1.30');
    await expectMatched(page, 2);
    await rows(page).first().click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Copy as conntrack -D command' }).click();
    const icmpCommand = await clipboard();
    expect(icmpCommand).toMatch(/^conntrack -D -p icmp -s 192\.168\.1\.30 -d 198\.51\.100\.60 --icmp-type 8 --icmp-code 0 --icmp-id 10[01]$/);
    await runCopiedDelete(lab, icmpCommand);
    expect(await lab.count(['-s', '192.168.1.30'])).toBe(1);
    expect(await lab.count()).toBe(SEEDED - 3);

    // A zone bound to one direction (CTA_TUPLE_ZONE): the command names it as conntrack does (--reply-zone), which
    // -D compares (-w would not match the entry, no zone option would match the tuple in any zone).
    await insertWithConntrack(lab.ns.name, ['-p', 'udp', '-s', '192.168.1.78', '-d', '198.51.100.78', '--sport', '7000', '--dport', '53', '-t', '300', '--reply-zone', '4']);
    await page.goto('/?src=192.168.1.78');
    const info = page.getByTestId('snapshot-info');
    const held = await info.getAttribute('data-snapshot-id');
    await page.getByTestId('refresh').click();
    await expect(info).not.toHaveAttribute('data-snapshot-id', held ?? '');
    await expectMatched(page, 1);
    await rows(page).first().click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Copy as conntrack -D command' }).click();
    const zoneCommand = 'conntrack -D -p udp -s 192.168.1.78 -d 198.51.100.78 --sport 7000 --dport 53 --reply-zone 4';
    await expect.poll(clipboard).toBe(zoneCommand);
    await runCopiedDelete(lab, zoneCommand);
    expect(await lab.count(['-s', '192.168.1.78'])).toBe(0);
    expect(await lab.count()).toBe(SEEDED - 3);
  });

  test('deletes one connection from the context menu', async ({ page, lab }) => {
    await page.goto(`/?dport=${TARGET.dport}`);
    await expectMatched(page, 1);
    await rows(page).first().click({ button: 'right' });
    // Viewport only: a full-page capture resizes the window once the page is taller than it (the stale notice
    // makes it so here), and the menu closes on resize.
    await page.screenshot({ path: 'test-results/screenshots/context-menu.png' });
    await page.getByRole('menuitem', { name: 'Delete this connection…' }).click();
    const dialog = page.getByTestId('delete-dialog');
    await expect(dialog.getByTestId('delete-summary')).toHaveText(/^Delete 1 connection selected/);
    await expect(dialog.getByTestId('preview-row')).toHaveCount(1);
    await dialog.getByTestId('confirm-delete').click();
    await expect(page.getByTestId('result-banner')).toContainText('Deleted 1 connection');
    expect(await lab.count(['-s', TARGET.src])).toBe(0);
    expect(await lab.count()).toBe(SEEDED - 1);
    await page.getByTestId('result-refresh').click();
    await expect(page.getByTestId('empty-state')).toContainText('No connection matches');
  });
});

test.describe('bulk deletes', () => {
  test('selection by click, shift-click and Ctrl+A; Delete key asks first', async ({ page, lab }) => {
    await page.goto('/?protocol=udp&sort=sport');
    await expectMatched(page, 10);
    await rows(page).nth(1).click();
    await rows(page).nth(4).click({ modifiers: ['Shift'] });
    await expect(page.getByTestId('selection-count')).toHaveText('4 selected');
    await rows(page).nth(0).click({ modifiers: ['ControlOrMeta'] });
    await expect(page.getByTestId('selection-count')).toHaveText('5 selected');
    await page.keyboard.press('ControlOrMeta+a');
    await expect(page.getByTestId('selection-count')).toHaveText('10 selected');
    await rows(page).nth(0).click();
    await rows(page).nth(2).click({ modifiers: ['Shift'] });
    await page.keyboard.press('Delete');
    const dialog = page.getByTestId('delete-dialog');
    await expect(dialog.getByTestId('delete-summary')).toHaveText(/^Delete 3 connections selected/);
    await dialog.getByTestId('confirm-delete').click();
    await expect(page.getByTestId('result-banner')).toContainText('Deleted 3 connections');
    expect(await lab.count(['-p', 'udp'])).toBe(7);
    // The three lowest source ports are the ones gone.
    const left = (await lab.list(['-p', 'udp'])).map((e) => e.original.sport).sort();
    expect(left).toEqual([52003, 52004, 52005, 52006, 52007, 52008, 52009]);
  });

  test('deletes everything matching a filter after a preview', async ({ page, lab }) => {
    await page.goto('/?protocol=udp');
    await expectMatched(page, 10);
    await page.getByTestId('delete-matching').click();
    const dialog = page.getByTestId('delete-dialog');
    await expect(dialog.getByTestId('delete-summary')).toHaveText('Delete 10 connections matching protocol=udp');
    await expect(dialog.getByTestId('preview-row')).toHaveCount(10);
    await screenshot(page, 'delete-preview');
    await dialog.getByTestId('confirm-delete').click();
    await expect(page.getByTestId('result-banner')).toContainText('Deleted 10 connections matching protocol=udp');
    expect(await lab.count(['-p', 'udp'])).toBe(0);
    expect(await lab.count(['-p', 'tcp'])).toBe(134);
    await screenshot(page, 'after-delete');
  });

  test('cleanup by uplink removes the entries NATed to one external address and leaves the other', async ({ page, lab }) => {
    await page.goto('/');
    await expectMatched(page, SEEDED);
    await page.getByTestId('open-multiwan').click();
    const dialog = page.getByTestId('uplink-cleanup');
    await dialog.getByRole('radio', { name: 'Addresses' }).check();
    await dialog.getByRole('textbox', { name: 'Addresses to clean up' }).fill(OLD_WAN);
    await dialog.getByTestId('cleanup-preview').click();
    await expect(dialog.getByTestId('cleanup-outbound')).toContainText('30 connections');
    await screenshot(page, 'multiwan-preview');
    await dialog.getByTestId('cleanup-confirm').click();
    await expect(page.getByTestId('result-banner')).toContainText(`Deleted 30 connections NATed to ${OLD_WAN}`);
    expect(await lab.count(['-q', OLD_WAN])).toBe(0);
    expect(await lab.count(['-q', NEW_WAN])).toBe(30);
    expect(await lab.count()).toBe(SEEDED - 30);
  });

  test('flush needs the typed word and empties the table', async ({ page, lab }) => {
    await page.goto('/');
    await expectMatched(page, SEEDED);
    await page.getByTestId('open-flush').click();
    const dialog = page.getByTestId('flush-dialog');
    await expect(dialog.getByTestId('confirm-flush')).toBeDisabled();
    await dialog.getByRole('textbox', { name: 'Type FLUSH to confirm' }).fill('flush');
    await expect(dialog.getByTestId('confirm-flush')).toBeDisabled();
    await dialog.getByRole('textbox', { name: 'Type FLUSH to confirm' }).fill('FLUSH');
    await screenshot(page, 'flush-confirm');
    await dialog.getByTestId('confirm-flush').click();
    await expect(page.getByTestId('result-banner')).toContainText('flushed every connection');
    expect(await lab.count()).toBe(0);
    await page.getByTestId('result-refresh').click();
    await expect(page.getByTestId('empty-state')).toContainText('The connection table is empty');
    await screenshot(page, 'empty');
  });
});
