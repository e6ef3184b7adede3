// `npm run demo` (as root): a lab with live traffic, and the console managing its router's conntrack table.
// Builds the app when the build is missing or stale, starts the console through scripts/serve.ts (the one
// hardened server entry, as `npm start` and the systemd unit do) in the host namespace on 127.0.0.1, and on
// Ctrl+C or SIGTERM stops everything and removes the lab.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createAuthService } from '../lib/auth';
import { openStore } from '../lib/store';
import {
  createLab,
  failover,
  generateTraffic,
  LAB_CONNLABELS,
  LAB_HOSTS,
  LAB_PTR_NAMES,
  LAB_PTR_SILENT,
  labLeases,
  pingRouter,
  startChurn,
  startFtpSession,
  startLabDns,
  type GeneratedTraffic,
  type Lab,
  type LabDns,
  type TrafficKind,
} from '../lib/lab';

const root = resolve(__dirname, '..');
const port = process.env.PORT ?? '3000';
const host = '127.0.0.1';

/** Kinds whose entries expire within minutes (CLOSE after 10 s, UDP after 30 s, TIME_WAIT after 120 s): redone often. */
const SHORT_LIVED: TrafficKind[] = ['tcp-client-closed', 'tcp-server-closed', 'tcp-reset', 'tcp-half-open', 'udp-replied', 'udp-unreplied'];
const REFRESH_MS = 30_000;
const READY_TIMEOUT_MS = 60_000;
const FORCE_AFTER_MS = 2000;
/** The simulated failover waits this long after the console answers and its policies follow the WANs. */
const FAILOVER_AFTER_MS = 5000;
/**
 * The demo's cleanup policies: when the default route leaves wan2 its UDP entries go (the TCP ones stay, for the
 * cleanup by uplink by hand), and wan1's failback counts, as a dry run, the TCP entries of wan2 it would delete.
 */
const DEMO_POLICIES = [
  { name: 'wan2-failover-udp', on: 'route-lost', wan: 'wan2', filter: 'protocol=udp' },
  { name: 'wan1-failback-tcp', on: 'failback', wan: 'wan1', filter: 'protocol=tcp', dryRun: true },
];

const BUILD_INPUTS = ['app', 'lib', 'components', 'public', 'proxy.ts', 'next.config.js', 'package.json', 'tsconfig.json', 'postcss.config.mjs'];

function newestInputMtime(): number {
  let newest = 0;
  for (const input of BUILD_INPUTS) {
    const path = join(root, input);
    if (!existsSync(path)) continue;
    const stat = statSync(path);
    if (stat.isFile()) newest = Math.max(newest, stat.mtimeMs);
    else {
      for (const entry of readdirSync(path, { recursive: true, withFileTypes: true })) {
        if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
      }
    }
  }
  return newest;
}

function buildIfNeeded(): void {
  const buildId = join(root, '.next/BUILD_ID');
  if (existsSync(buildId) && statSync(buildId).mtimeMs >= newestInputMtime()) return;
  console.log('demo: building the console (next build)...');
  const build = spawnSync('npx', ['next', 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) throw new Error(`next build failed (exit ${build.status ?? build.signal})`);
}

async function waitUntilServing(url: string, server: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline && server.exitCode === null) {
    try {
      await fetch(url, { redirect: 'manual' });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  throw new Error(`the console did not answer on ${url}`);
}

/** The demo's cleanup policies follow the WANs (health check "policies"): a failover before that would move nothing. */
async function waitForPolicies(url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const health = await fetch(`${url}api/health`)
      .then((response) => response.json() as Promise<{ checks?: Record<string, string> }>)
      .catch(() => undefined);
    if (health?.checks?.policies === 'ok') return;
    if (Date.now() > deadline) throw new Error(`the cleanup policies did not start (GET ${url}api/health: policies ${health?.checks?.policies ?? 'unanswered'})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function labSummary(lab: Lab): string {
  const a = lab.addresses;
  return [
    `lab ${lab.name}: the console manages namespace ${lab.namespaces.router}`,
    `  LAN ${a.lan.clients.map((c) => c.ipv4).join(', ')} / ${a.lan.clients.map((c) => c.ipv6).join(', ')}, LAN server ${a.lan.server.ipv4} / ${a.lan.server.ipv6}`,
    `  wan1 ${a.wan1.router.ipv4} / ${a.wan1.router.ipv6} (port ${a.ports.forwarded} forwarded to the LAN server)`,
    `  wan2 ${a.wan2.router.ipv4} / ${a.wan2.router.ipv6} (the default route after the first failover; first connections stay on wan1)`,
    `  cleanup policies: ${DEMO_POLICIES.map((p) => `${p.name} (${p.on} ${p.wan}, ${p.filter}${p.dryRun ? ', dry run' : ''})`).join('; ')}`,
    `  internet servers ${a.internet.server.ipv4} / ${a.internet.server.ipv6} (FTP-like on port ${a.ports.ftp}: the router's ftp helper expects the data connections)`,
    `  labels: ftp-control (FTP control connections), second-client (everything from ${a.lan.clients[1].ipv4}); marks 0x${a.wanMarks.wan1.toString(16)} (wan1) / 0x${a.wanMarks.wan2.toString(16)} (wan2); zone ${a.routerZone}: LAN <-> router`,
    `  inspect by hand: ip netns exec ${lab.namespaces.router} conntrack -L; conntrack -L expect`,
  ].join('\n');
}

/** A throw-away data directory with one administrator whose password is random. */
async function demoAdmin(dir: string): Promise<{ name: string; password: string }> {
  const service = createAuthService({ db: openStore(dir), dir });
  try {
    const admin = { name: 'admin', password: randomBytes(12).toString('base64url') };
    await service.users.add({ ...admin, role: 'admin' });
    return admin;
  } finally {
    service.db.close();
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the demo builds network namespaces: run it as root');
  // The demo's users, sessions and audit log live in a temporary data directory, removed on exit.
  const dataDir = mkdtempSync(join(tmpdir(), 'ctc-demo-data-'));
  // The lab's label names, as connlabel.conf (inside the throw-away data directory: removed with it).
  const connlabelFile = join(dataDir, 'connlabel.conf');

  let shuttingDown: Promise<void> | null = null;
  let lab: Lab | null = null;
  let server: ChildProcess | null = null;
  let dns: LabDns | null = null;
  let refreshTimer: NodeJS.Timeout | undefined;
  let refreshed: GeneratedTraffic | null = null;

  const shutdown = (exitCode: number): Promise<void> => {
    shuttingDown ??= (async () => {
      clearInterval(refreshTimer);
      // The server runs in its own process group (detached) so Ctrl+C reaches it only through us.
      if (server?.pid && server.exitCode === null) {
        const exited = new Promise((r) => server?.once('exit', r));
        process.kill(-server.pid, 'SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (server.exitCode === null) process.kill(-server.pid, 'SIGKILL');
      }
      await lab?.destroy();
      await dns?.close();
      rmSync(dataDir, { recursive: true, force: true });
      console.log('demo: stopped, lab removed');
      process.exit(exitCode);
    })();
    return shuttingDown;
  };
  let firstSignalAt = 0;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      // Ctrl+C reaches us twice (from the terminal and relayed by tsx); only a later one means "do not wait".
      // On that exit path the lab's exit handler still deletes the namespaces.
      if (shuttingDown) {
        if (Date.now() - firstSignalAt > FORCE_AFTER_MS) process.exit(130);
        return;
      }
      firstSignalAt = Date.now();
      void shutdown(0);
    });
  }
  process.on('exit', () => {
    if (server?.pid && server.exitCode === null) process.kill(-server.pid, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  try {
    buildIfNeeded();
    const admin = await demoAdmin(dataDir);
    lab = await createLab();
    // First traffic leaves through wan1; after the failover new traffic uses wan2 while those entries stay.
    await generateTraffic(lab, { keepAlive: true });
    await failover(lab);
    await generateTraffic(lab, { keepAlive: true });
    startChurn(lab, { perSecond: 2, lifetimeMs: 15_000 });
    // Helpers: FTP-like sessions keep an expectation pending (asking for passive mode again every minute, within
    // the helper's 300 s), one opens its data connection (RELATED to its master); pings to the router are zone 7.
    await startFtpSession(lab, { client: 0, refreshMs: 60_000 });
    await startFtpSession(lab, { family: 'ipv6', client: 1, refreshMs: 60_000 });
    await startFtpSession(lab, { client: 1, data: true });
    await pingRouter(lab, { family: 'ipv4', keepAlive: true });
    await pingRouter(lab, { family: 'ipv6', keepAlive: true });
    writeFileSync(connlabelFile, LAB_CONNLABELS);
    const activeLab = lab;
    refreshTimer = setInterval(() => {
      void (async () => {
        await refreshed?.stop();
        refreshed = await generateTraffic(activeLab, { kinds: SHORT_LIVED });
      })().catch((error: unknown) => console.error('demo: traffic refresh failed:', error));
    }, REFRESH_MS);
    console.log(labSummary(lab));
    // The LAN hosts' DHCP leases, as the router's dnsmasq would write them: the console shows their names.
    const leases = join(dataDir, 'dnsmasq.leases');
    writeFileSync(leases, labLeases(Math.floor(Date.now() / 1000) + 12 * 3600));
    // The router's own names (one malformed line: the Router page reports it), and reverse DNS from a resolver on
    // loopback that names the internet side and never answers for one address.
    const labHosts = join(dataDir, 'hosts');
    writeFileSync(labHosts, LAB_HOSTS);
    dns = await startLabDns({ names: LAB_PTR_NAMES, silent: LAB_PTR_SILENT });

    server = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts/serve.ts'), '-H', host, '-p', port], {
      cwd: root,
      stdio: 'inherit',
      detached: true,
      // Request logs would bury the demo's own lines; warnings and errors still show. Ended connections also go out as
      // JSON lines (what a log shipper would carry off the router).
      env: {
        CONNTRACK_LOG_LEVEL: 'warn',
        ...process.env,
        NODE_ENV: 'production',
        CONNTRACK_NETNS: lab.namespaces.router,
        // The Router page's demo controls change this lab's uplinks (address, carrier, link, default route).
        CONNTRACK_DEMO_LAB: lab.name,
        CONNTRACK_DATA_DIR: dataDir,
        CONNTRACK_CONNLABEL_FILE: connlabelFile,
        CONNTRACK_NAME_FILES: `dnsmasq:${leases},hosts:${labHosts},hosts:/etc/hosts`,
        CONNTRACK_REVERSE_DNS: 'on',
        CONNTRACK_DNS_SERVERS: dns.server,
        CONNTRACK_HISTORY_JSONL: join(dataDir, 'connections.jsonl'),
        CONNTRACK_POLICIES: JSON.stringify(DEMO_POLICIES),
      },
    });
    server.once('exit', (code) => {
      if (!shuttingDown) {
        console.error(`demo: the console exited (${code}); stopping`);
        void shutdown(1);
      }
    });
    const url = `http://${host}:${port}/`;
    await waitUntilServing(url, server);
    await waitForPolicies(url);
    console.log(`\nConntrack Console: ${url}`);
    console.log(`What fills the table and how it grew (usage, top groups by host, port, WAN..., charts with the policy runs marked): ${url}overview`);
    console.log(`The lab router's conntrack settings (acct and timestamps on, the rest kernel defaults): ${url}settings`);
    console.log(`The router around the table, and demo controls that make an uplink fail over or reconnect: ${url}router`);
    console.log(`Connection history and the NAT lookup ("who used this external address and port?"): ${url}history`);
    console.log(`Ended connections as JSON lines: ${join(dataDir, 'connections.jsonl')}`);
    console.log(`Names: the LAN hosts by their DHCP leases (${url}?host=laptop, ${url}?q=phone), the internet side by reverse DNS (the "Reverse DNS" switch), the name files' report on ${url}router`);
    console.log(`Log in as "${admin.name}" with password "${admin.password}" (a fresh random one each run).`);
    console.log('Ctrl+C stops the console and removes the lab.\n');
    // A failover the console watches: wan2 loses the default route to wan1, and the policies act by themselves
    // (their runs show in the notice area, on the Router page and in the audit log).
    await new Promise((r) => setTimeout(r, FAILOVER_AFTER_MS));
    await failover(lab, { to: 'wan1' });
    console.log(`Simulated a failover from wan2 back to wan1: the cleanup policies ran by themselves (${url}router).`);
  } catch (error) {
    console.error('demo:', error instanceof Error ? error.message : error);
    await shutdown(1);
  }
}

void main();
