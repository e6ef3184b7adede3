// Names as a user sees them: lease and hosts-file names under addresses, the Host name filter and free text by
// name, and reverse DNS behind its switch (off by default, remembered, names arriving after the page), against a
// server with name files and the lab's resolver on loopback.
import { expect, rows, screenshot, test, type Lab, type NamesSetup } from './fixtures';
import { expectAccessible } from './a11y';

const NAMES: NamesSetup = {
  // Its last line is malformed: the Router page reports it.
  hosts: '192.168.1.10 desktop.lan desktop\nnot-an-address printer\n',
  leases: '0 02:00:00:00:01:20 192.168.1.20 phone *\n0 02:00:00:00:01:11 192.168.1.11 tablet *\n',
  ptr: { '198.51.100.53': 'resolver.isp.example', '198.51.100.50': 'web.isp.example', '192.168.1.10': 'dhcp-10.isp.example' },
  silent: ['198.51.100.60'],
};

test.use({ names: NAMES });

/** The router's neighbour table knows the tablet (a LAN link of the lab namespace); a second call finds it there. */
async function tabletNeighbour(lab: Lab): Promise<void> {
  for (const argv of [
    ['ip', 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan1'],
    ['ip', 'link', 'set', 'lan0', 'up'],
    ['ip', 'address', 'replace', '192.168.1.1/24', 'dev', 'lan0'],
    ['ip', 'neigh', 'replace', '192.168.1.11', 'lladdr', '02:00:00:00:aa:11', 'dev', 'lan0', 'nud', 'permanent'],
  ]) {
    const r = await lab.ns.exec(argv);
    expect(r.exitCode === 0 || r.stderr.includes('File exists'), r.stderr).toBe(true);
  }
}

test('names under addresses; Host name and free text find rows by name', async ({ page, lab }) => {
  await page.goto('/?protocol=tcp&state=SYN_SENT');
  await expect(rows(page)).toHaveCount(5);
  await expect(page.getByTestId('name-src').first()).toHaveText('tablet');

  await page.goto('/');
  await page.getByLabel('Host name').fill('desktop');
  await page.getByTestId('apply-filters').click();
  await expect(page).toHaveURL(/host=desktop/);
  const desktop = await lab.count(['-s', '192.168.1.10']);
  await expect(page.getByTestId('pager-range')).toHaveText(new RegExp(`of ${desktop}$`));
  await expect(page.getByTestId('chip-host')).toContainText('desktop');
  await expect(page.getByTestId('name-src').first()).toHaveText('desktop.lan');

  // Part of a name is enough (the established entries: the UDP ones may time out in the kernel meanwhile).
  await page.goto('/?q=esktop');
  // The first free-text query of a snapshot builds its text index: give a loaded machine time.
  await expect(page.getByTestId('pager-range')).toHaveText(new RegExp(`of ${desktop}$`), { timeout: 30_000 });
  await expect(page.getByTestId('name-src').first()).toHaveText('desktop.lan');

  // A name that is not one: the filter bar says so before any request.
  await page.goto('/?host=not%20a%20name');
  await expect(page.getByTestId('chip-host')).toContainText('host must be a host name');
});

test('reverse DNS: off by default; once on, PTR names appear after the page and the choice is remembered', async ({ page, lab }) => {
  await page.goto('/?protocol=udp');
  await expect(rows(page)).toHaveCount(await lab.count(['-p', 'udp']));
  const toggle = page.getByRole('switch', { name: 'Reverse DNS names' });
  await expect(toggle).not.toBeChecked();
  await expect(page.getByTestId('name-dst')).toHaveCount(0);

  await toggle.check();
  await expect(page.getByTestId('name-dst').first()).toHaveText('resolver.isp.example');
  await expect(page.getByTestId('reverse-dns-state')).toHaveText('1 found');
  await expectAccessible(page, 'Connections with reverse DNS on');
  await screenshot(page, 'names-reverse-dns');

  // A resolver that never answers for an address (ICMP rows' destination) leaves the page as it is. This comes
  // early: the seeded ICMP entries expire 30 s after the test's seeding.
  await page.goto('/?protocol=icmp');
  await expect(rows(page)).toHaveCount(2);
  await expect(page.getByTestId('reverse-dns-state')).toHaveText('0 found', { timeout: 15_000 });
  await expect(page.getByTestId('name-dst')).toHaveCount(0);

  // Files win over DNS: the hosts file's name stays, though the resolver has another.
  await page.goto('/?src=192.168.1.10&dport=443');
  await expect(page.getByRole('switch', { name: 'Reverse DNS names' })).toBeChecked();
  await expect(page.getByTestId('name-src').first()).toHaveText('desktop.lan');

  // The details name the address's source, and the MAC the router's neighbour table has for it (the lease's may differ).
  await tabletNeighbour(lab);
  await page.goto('/?protocol=tcp&state=SYN_SENT');
  await page.getByRole('button', { name: /^Details of connection/ }).first().click();
  const details = page.getByTestId('details-panel');
  await expect(details.getByRole('row', { name: /^Source name/ })).toContainText('tablet (dnsmasq lease, MAC 02:00:00:00:01:11)');
  await expect(details.getByRole('row', { name: /^Destination name/ })).toContainText('web.isp.example (reverse DNS)');
  await expect(details.getByRole('row', { name: /^Source MAC \(neighbour table\)/ })).toContainText('02:00:00:00:aa:11');
  await page.keyboard.press('Escape');

  await page.getByRole('switch', { name: 'Reverse DNS names' }).uncheck();
  await page.reload();
  await expect(page.getByRole('switch', { name: 'Reverse DNS names' })).not.toBeChecked();
  await expect(page.getByTestId('name-dst')).toHaveCount(0);
});

test('a delete by host, and its ended connections in History with their names, found again by host', async ({ page, lab }) => {
  await tabletNeighbour(lab);
  await page.goto('/?host=tablet');
  await expect(page.getByTestId('pager-range')).toHaveText(/of 5$/);
  await page.getByTestId('delete-matching').click();
  const dialog = page.getByTestId('delete-dialog');
  await expect(dialog.getByTestId('delete-summary')).toHaveText('Delete 5 connections matching host=tablet');
  await dialog.getByTestId('confirm-delete').click();
  await expect(page.getByTestId('result-banner')).toContainText('Deleted 5 connections matching host=tablet');
  expect(await lab.count(['-s', '192.168.1.11'])).toBe(0);

  // The earlier tests' table resets ended tablet's entries too (flushes): the administrator's delete is these five.
  // Their DESTROY events reach the recorder after the delete's answer: wait for them as the page would show them.
  await expect
    .poll(async () => ((await (await page.request.get('/api/history?host=tablet&cause=admin')).json()) as { matched: number }).matched, { timeout: 30_000 })
    .toBe(5);
  await page.goto('/history?host=tablet&cause=admin');
  await expect(page.getByTestId('history-filter-host')).toHaveValue('tablet');
  await expect(page.getByTestId('history-row')).toHaveCount(5);
  await expect(page.getByTestId('history-name-src').first()).toHaveText('tablet');
  await expect(page.getByTestId('history-row').first().getByTestId('history-cause')).toHaveAttribute('data-cause', 'admin');
  await page.getByTestId('history-open-details').first().click();
  await expect(page.getByTestId('history-details-names')).toContainText('192.168.1.11: tablet (dnsmasq lease, MAC 02:00:00:00:01:11)');
  await expect(page.getByTestId('history-details-macs')).toContainText('192.168.1.11: 02:00:00:00:aa:11');
  await expectAccessible(page, 'History details with names', '[data-testid="history-details"]');
  await screenshot(page, 'names-history');
});

test('the Router page reports each name file and the lines it did not understand', async ({ page }) => {
  await page.goto('/router');
  const files = page.getByTestId('name-files');
  const hosts = files.locator('[data-testid="name-file"][data-path$="/hosts"]');
  await expect(hosts.locator('td').nth(2)).toHaveText('1');
  await expect(hosts.getByTestId('name-file-problems')).toHaveText('line 2: expected "address name [alias...]"');
  await expect(files.locator('[data-testid="name-file"][data-path$="/dnsmasq.leases"]').locator('td').nth(4)).toHaveText('none');
  await expect(files).toContainText('Reverse DNS is offered');
  await expectAccessible(page, 'Router page with the name files');
  await screenshot(page, 'names-router');
});
