// Starts the real server (production build, through scripts/serve.ts as `npm start` does) for API tests: `next
// build` when the build is missing or older than the sources, then the server on a free loopback port, managing
// the given network namespace, with a fresh data directory holding an administrator and an admin API token.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createToken, createUser, type Credentials } from './auth';

const repoRoot = resolve(__dirname, '../..');
const nextBin = join(repoRoot, 'node_modules/next/dist/bin/next');
const serveScript = join(repoRoot, 'scripts/serve.ts');
/** What a build depends on; a file newer than .next/BUILD_ID means the build is stale. */
const SOURCES = ['app', 'lib', 'proxy.ts', 'next.config.js', 'package.json', 'tsconfig.json', 'postcss.config.mjs'];

export interface TestServer {
  url: string;
  /** The server's data directory (removed by stop() unless the caller gave it). */
  dataDir: string;
  /** An administrator (user "admin") and an admin API token, created before the server started. */
  admin: Credentials & { token: string };
  /** Headers that authenticate as the admin token (exempt from CSRF checks). */
  authHeaders(): Record<string, string>;
  /** The server process's id (its main thread's too): benchmarks read its scheduler figures under /proc. */
  pid: number | undefined;
  /** Everything the server printed so far (stdout and stderr). */
  output(): string;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s); idempotent. */
  stop(): Promise<void>;
  /** Sends a signal to the server process (e.g. SIGTERM to test the graceful shutdown). */
  kill(signal: NodeJS.Signals): void;
  /** Resolves when the server process has exited, with its exit code or signal. */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

export function buildIsStale(): boolean {
  const buildId = join(repoRoot, '.next/BUILD_ID');
  if (!existsSync(buildId)) return true;
  const built = statSync(buildId).mtimeMs;
  return SOURCES.some((source) => newestMtime(join(repoRoot, source)) > built);
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [nextBin, ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code, output }));
  });
}

/**
 * The setns addon rebuilt when native/netns.c is newer (a checkout copied with an older build/native would fail
 * every dump), then `next build`, only when needed; waits (up to 5 min) while another build of this checkout is running.
 */
export async function ensureBuild(): Promise<void> {
  execFileSync(process.execPath, [join(repoRoot, 'scripts/build-native.mjs')], { stdio: 'inherit' });
  const deadline = Date.now() + 5 * 60_000;
  while (buildIsStale()) {
    const { code, output: raw } = await run(['build'], { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NO_COLOR: '1' });
    if (code === 0) return;
    // Next colours words inside its messages even when asked not to; match the text without escape codes.
    const output = raw.replace(/\x1b\[[0-9;]*m/g, '');
    if (!output.includes('Another next build process is already running') || Date.now() > deadline) {
      throw new Error(`next build failed (exit ${String(code)}):\n${output.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 3000));
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

const exited = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null;

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolveWait) => {
    const timer = setTimeout(() => resolveWait(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveWait(true);
    });
  });
}

/** Builds if needed and starts the server managing the table of `netns`. Always call stop(). */
export async function startServer(options: {
  netns: string;
  env?: Record<string, string>;
  /** A command to run the server under, e.g. ['setpriv', '--bounding-set=-net_admin'] to drop a capability. */
  wrapper?: string[];
  /** Leave the data directory without users (the first-start state). */
  noUsers?: boolean;
  /**
   * Use this data directory (the caller's: not removed by stop()). With `admin`, its users are reused (a restart on
   * the same data); without, the administrator and token are created in it.
   */
  dataDir?: string;
  admin?: TestServer['admin'];
}): Promise<TestServer> {
  await ensureBuild();
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'ctc-data-'));
  const removeDataDir = () => {
    if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  const admin =
    options.admin ??
    (options.noUsers
      ? { name: 'admin', password: '', role: 'admin' as const, token: '' }
      : { ...(await createUser(dataDir, { name: 'admin', role: 'admin' })), token: await createToken(dataDir, { name: 'tests', role: 'admin' }) });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const argv = [...(options.wrapper ?? []), process.execPath, '--import', 'tsx', serveScript, '-p', String(port), '-H', '127.0.0.1'];
  const child = spawn(argv[0], argv.slice(1), {
    cwd: repoRoot,
    env: { ...process.env, CONNTRACK_DATA_DIR: dataDir, ...options.env, CONNTRACK_NETNS: options.netns, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // A test runner that dies must not leave the server behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async (): Promise<void> => {
    process.off('exit', killOnExit);
    if (!exited(child)) {
      child.kill('SIGTERM');
      if (!(await waitForExit(child, 5000))) {
        child.kill('SIGKILL');
        await waitForExit(child, 5000);
      }
    }
    removeDataDir();
  };

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited(child)) {
      removeDataDir();
      throw new Error(`the server exited with ${String(child.exitCode ?? child.signalCode)}:\n${output}`);
    }
    try {
      await fetch(`${url}/api/stats`, { signal: AbortSignal.timeout(2000) });
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`the server did not answer on ${url} within 60 s:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const exitStatus = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    if (exited(child)) resolveExit({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolveExit({ code, signal }));
  });
  return {
    url,
    dataDir,
    admin,
    authHeaders: () => ({ Authorization: `Bearer ${admin.token}` }),
    pid: child.pid,
    output: () => output,
    stop,
    kill: (signal) => void child.kill(signal),
    exited: () => exitStatus,
  };
}
