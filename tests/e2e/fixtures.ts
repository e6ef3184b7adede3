// Playwright fixtures for the console: one server per worker managing a fresh network namespace (removed
// after), and a `lab` that empties and reseeds the table before each test so destructive tests start equal.
import { test as base, expect, type Page } from '@playwright/test';
import { mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLabDns, type LabDns } from '@/lib/lab/dns';
import { countWithConntrack, createTestNamespace, runCommand, flushWithConntrack, listWithConntrack, loadWithConntrack, type InsertSpec, type OracleEntry, type TestNamespace } from '../support/oracle';
import { startServer, type TestServer } from '../support/server';

export const OLD_WAN = '203.0.113.7';
export const NEW_WAN = '203.0.113.99';
/** The entry single-delete and copy tests aim at. */
export const TARGET = { protocol: 'tcp', src: '192.168.1.77', dst: '198.51.100.77', sport: 5555, dport: 22 } as const;

const established = { protocol: 'tcp', state: 'ESTABLISHED', timeout: 3600, status: ['SEEN_REPLY', 'ASSURED'] } as const;

/**
 * 146 entries: 120 established TCP from one client (30 SNAT'ed to the old WAN address, 30 to the new one),
 * 5 SYN_SENT, 5 TIME_WAIT, 10 UDP DNS, 2 ICMP echo, 3 IPv6 TCP and the target.
 */
export function seedEntries(): InsertSpec[] {
  const entries: InsertSpec[] = [];
  for (let i = 0; i < 120; i++) {
    const wan = i < 30 ? OLD_WAN : i < 60 ? NEW_WAN : undefined;
    entries.push({ ...established, status: [...established.status], src: '192.168.1.10', dst: `198.51.100.${(i % 20) + 1}`, sport: 40000 + i, dport: 443, srcNat: wan && `${wan}:${61000 + i}` });
  }
  for (let i = 0; i < 5; i++) entries.push({ protocol: 'tcp', state: 'SYN_SENT', timeout: 120, src: '192.168.1.11', dst: '198.51.100.50', sport: 50000 + i, dport: 80 });
  for (let i = 0; i < 5; i++) entries.push({ protocol: 'tcp', state: 'TIME_WAIT', timeout: 100, status: ['SEEN_REPLY'], src: '192.168.1.12', dst: '198.51.100.51', sport: 51000 + i, dport: 80 });
  for (let i = 0; i < 10; i++) entries.push({ protocol: 'udp', timeout: 30, status: ['SEEN_REPLY'], src: '192.168.1.20', dst: '198.51.100.53', sport: 52000 + i, dport: 53 });
  for (let i = 0; i < 2; i++) entries.push({ protocol: 'icmp', timeout: 30, src: '192.168.1.30', dst: '198.51.100.60', icmp: { type: 8, code: 0, id: 100 + i } });
  for (let i = 0; i < 3; i++) entries.push({ ...established, status: [...established.status], src: '2001:db8::10', dst: '2001:db8:1::1', sport: 53000 + i, dport: 443 });
  entries.push({ ...established, status: [...established.status], ...TARGET });
  return entries;
}
export const SEEDED = 146;

export interface Lab {
  ns: TestNamespace;
  server: TestServer;
  /** The server's data directory (users can be added with tests/support/auth.ts while it runs). */
  dataDir: string;
  /** Headers that authenticate the test's own API calls (an admin API token). */
  auth: Record<string, string>;
  /** `conntrack -L ARGS` count in the lab namespace (the oracle); without args the whole table (`-C`). */
  count(args?: string[]): Promise<number>;
  list(args: string[]): Promise<OracleEntry[]>;
}

/**
 * Names for a worker's server (test.use({ names })): a hosts file and a dnsmasq lease file in its data directory,
 * and reverse DNS on, from the lab's resolver on loopback with these PTR names (never answering for `silent`).
 */
export interface NamesSetup {
  hosts: string;
  leases: string;
  ptr: Record<string, string>;
  silent: string[];
}

interface WorkerLab {
  ns: TestNamespace;
  server: TestServer;
  dataDir: string;
  /** Cookies of an admin session, for the browser. */
  session: { name: string; value: string; httpOnly: boolean }[];
  /** Headers that authenticate the test's own API calls (an admin API token). */
  auth: Record<string, string>;
}

const ADMIN = { name: 'e2e-admin', password: 'e2e-admin-password-1234' };

/** `ctconsole --data-dir DIR ARGS` (the console's user CLI), with stdin. */
async function ctconsole(dataDir: string, args: string[], input = ''): Promise<string> {
  const r = await runCommand([process.execPath, 'bin/ctconsole.mjs', '--data-dir', dataDir, ...args], input);
  if (r.exitCode !== 0) throw new Error(`ctconsole ${args.join(' ')} exited ${r.exitCode}: ${r.stderr}`);
  return r.stdout;
}

/** Logs the admin in through the API; returns the Set-Cookie pairs (session and CSRF cookies). */
async function login(url: string): Promise<WorkerLab['session']> {
  const response = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', origin: url }, body: JSON.stringify(ADMIN) });
  expect(response.status, await response.clone().text()).toBe(200);
  return response.headers.getSetCookie().map((line) => {
    const [pair] = line.split(';');
    const at = pair.indexOf('=');
    return { name: pair.slice(0, at), value: pair.slice(at + 1), httpOnly: /;\s*HttpOnly/i.test(line) };
  });
}

/** The environment that gives a server the names of `names` (files written into dataDir). */
async function namesEnv(names: NamesSetup, dataDir: string): Promise<{ env: Record<string, string>; dns: LabDns }> {
  await writeFile(join(dataDir, 'hosts'), names.hosts);
  await writeFile(join(dataDir, 'dnsmasq.leases'), names.leases);
  const dns = await startLabDns({ names: names.ptr, silent: names.silent });
  return {
    dns,
    env: { CONNTRACK_NAME_FILES: `hosts:${join(dataDir, 'hosts')},dnsmasq:${join(dataDir, 'dnsmasq.leases')}`, CONNTRACK_REVERSE_DNS: 'on', CONNTRACK_DNS_SERVERS: dns.server },
  };
}

export const test = base.extend<{ lab: Lab }, { workerLab: WorkerLab; names: NamesSetup | undefined }>({
  names: [undefined, { scope: 'worker', option: true }],
  workerLab: [
    async ({ names }, provide) => {
      const ns = await createTestNamespace('ctc-e2e');
      const dataDir = await mkdtemp(join(tmpdir(), 'ctc-e2e-data-'));
      let server: TestServer | undefined;
      let dns: LabDns | undefined;
      try {
        await ctconsole(dataDir, ['user', 'add', ADMIN.name, '--role', 'admin'], `${ADMIN.password}\n`);
        const token = /ctc_\S+/.exec(await ctconsole(dataDir, ['token', 'create', 'e2e', '--role', 'admin']))?.[0];
        if (!token) throw new Error('ctconsole token create printed no token');
        const named = names ? await namesEnv(names, dataDir) : undefined;
        dns = named?.dns;
        server = await startServer({ netns: ns.name, env: { CONNTRACK_DATA_DIR: dataDir, ...named?.env } });
        await expectOwnListener(server.url, ns.name);
        await provide({ ns, server, dataDir, session: await login(server.url), auth: { authorization: `Bearer ${token}` } });
      } finally {
        await server?.stop();
        await dns?.close();
        await ns.dispose();
        await rm(dataDir, { recursive: true, force: true });
      }
    },
    { scope: 'worker', timeout: 300_000 },
  ],
  storageState: async ({ workerLab }, provide) => {
    const { hostname } = new URL(workerLab.server.url);
    await provide({
      cookies: workerLab.session.map((c) => ({ ...c, domain: hostname, path: '/', expires: -1, secure: false, sameSite: 'Strict' as const })),
      origins: [],
    });
  },
  lab: async ({ workerLab }, provide) => {
    const { ns, server, dataDir, auth } = workerLab;
    await flushWithConntrack(ns.name);
    await loadWithConntrack(ns.name, seedEntries());
    expect(await countWithConntrack(ns.name)).toBe(SEEDED);
    // The console reads snapshots; take one of the fresh table so the page starts from it.
    const refreshed = await fetch(`${server.url}/api/connections/refresh`, { method: 'POST', headers: workerLab.auth });
    expect(refreshed.status).toBe(200);
    const { snapshot } = (await refreshed.json()) as { snapshot: { total: number } };
    expect(snapshot.total, 'the server sees the seeded table').toBe(SEEDED);
    await provide({
      ns,
      server,
      dataDir,
      auth,
      count: (args = []) => countWithConntrack(ns.name, args),
      list: (args) => listWithConntrack({ netns: ns.name, args, icmpDetails: false }),
    });
  },
  baseURL: async ({ workerLab }, provide) => provide(workerLab.server.url),
});

export { expect };

/**
 * The process listening on the server's port must be the one managing our namespace: with other test suites
 * starting servers on "free" ports at the same time, a lost race would otherwise send our requests to a
 * stranger's server (a different table, or one without CAP_NET_ADMIN).
 */
async function expectOwnListener(url: string, netns: string): Promise<void> {
  const port = new URL(url).port;
  const ss = await runCommand(['ss', '-Hltnp', `sport = :${port}`]);
  const pids = [...ss.stdout.matchAll(/pid=(\d+)/g)].map((m) => m[1]);
  const owners = pids.map((pid) => {
    try {
      return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((v) => v.startsWith('CONNTRACK_NETNS=')) ?? 'CONNTRACK_NETNS unset';
    } catch {
      return 'gone';
    }
  });
  expect(owners, `listeners on port ${port}: ${ss.stdout}`).toEqual(pids.map(() => `CONNTRACK_NETNS=${netns}`));
  expect(pids.length, `listeners on port ${port}`).toBeGreaterThan(0);
}

const SHOTS = 'test-results/screenshots';
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
}

/** The grid's data rows (not the placeholders shown while loading). */
export const rows = (page: Page) => page.getByTestId('grid-row');

/** Waits until the grid shows a settled answer: the pager says "… of N" and nothing is loading. */
export async function expectMatched(page: Page, n: number): Promise<void> {
  await expect(page.getByRole('table', { name: 'Connections' })).toHaveAttribute('aria-busy', 'false');
  await expect(page.getByTestId('pager-range')).toHaveText(new RegExp(`of ${n.toLocaleString('en-US')}$`));
}

/** Turns on a grid column that is off by default, through the column chooser (the choice is remembered). */
export async function showColumn(page: Page, id: string): Promise<void> {
  const chooser = page.getByTestId('column-chooser');
  await chooser.click();
  const box = page.getByTestId(`chooser-${id}`).getByRole('checkbox');
  if (!(await box.isChecked())) await box.check();
  await chooser.click();
  await expect(page.locator(`th[data-column="${id}"]`)).toBeVisible();
}

/**
 * At phone width the grids' rows are stacked cards, which must show every value whole: no element in a card is
 * wider than its box (scrollWidth <= clientWidth: nothing cut short, with or without an ellipsis) and no cell
 * reaches past its card. Returns how many cells it looked at, so a caller can tell it saw the rows it meant.
 */
export async function expectCardsWhole(page: Page, what: string): Promise<number> {
  const { cells, clipped } = await page.evaluate(() => {
    const found: string[] = [];
    let seen = 0;
    for (const row of document.querySelectorAll<HTMLElement>('[data-testid="grid"] tbody tr')) {
      const card = row.getBoundingClientRect();
      for (const cell of row.querySelectorAll<HTMLElement>(':scope > td')) {
        seen++;
        const name = cell.dataset.column ?? '?';
        if (cell.getBoundingClientRect().right > card.right + 0.5) found.push(`${name}: the cell reaches past its card`);
        for (const el of [cell, ...cell.querySelectorAll<HTMLElement>('*')]) {
          if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth) found.push(`${name}: <${el.tagName.toLowerCase()}> "${(el.textContent ?? '').trim().slice(0, 60)}" needs ${el.scrollWidth} px, has ${el.clientWidth}`);
        }
      }
    }
    return { cells: seen, clipped: found };
  });
  expect(clipped, `${what}: values cut short in the cards`).toEqual([]);
  return cells;
}
