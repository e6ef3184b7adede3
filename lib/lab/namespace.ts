// Network namespaces made for a test or a demo: unique names that carry the creating PID, removal on destroy, on
// process exit and on SIGINT/SIGTERM, and removal of namespaces left by a process that no longer exists.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { LabCommandError, run, runSync, type CommandOutput } from './run';

/** Every namespace this module makes is called `ctc-<pid>-<4 hex>-<role>`. */
const NAME_PATTERN = /^ctc-(\d+)-([0-9a-f]{4})-([a-z0-9]+)$/;
const ROLE_PATTERN = /^[a-z0-9]+$/;

export interface Namespace {
  name: string;
  /** Runs a command inside the namespace (`ip netns exec`). */
  exec(cmd: string, args: readonly string[], options?: { input?: string }): Promise<CommandOutput>;
  /** Kills what still runs inside, then deletes the namespace. Safe to call twice. */
  destroy(): Promise<void>;
}

export interface NamespaceOptions {
  /** Last part of the name, lower-case letters and digits (default `ns`). */
  role?: string;
  /** Per-namespace sysctls set right after creation, e.g. `{ 'net.netfilter.nf_conntrack_acct': '1' }`. */
  sysctls?: Record<string, string>;
  /**
   * Registers conntrack's hooks in the namespace (an nftables table with a `ct state` rule), so traffic inside it
   * is tracked. Not needed for entries inserted with `conntrack -I`.
   */
  tracking?: boolean;
}

const TRACKING_RULESET = `
table inet ctc_track {
  chain prerouting {
    type filter hook prerouting priority -150; policy accept;
    ct state new counter
  }
  chain output {
    type filter hook output priority -150; policy accept;
    ct state new counter
  }
}
`;

const ownedNamespaces = new Set<string>();
const ownedChildren = new Set<ChildProcess>();
let handlersInstalled = false;

/** A fresh `ctc-<pid>-<hex>` prefix; the lab appends its roles to it. */
export function newLabName(): string {
  return `ctc-${process.pid}-${randomBytes(2).toString('hex')}`;
}

export function parseNamespaceName(name: string): { pid: number; id: string; role: string } | null {
  const match = NAME_PATTERN.exec(name);
  return match ? { pid: Number(match[1]), id: match[2], role: match[3] } : null;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function listNamespaces(): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list']);
  return parseNetnsList(stdout);
}

function parseNetnsList(output: string): string[] {
  // Lines look like `name (id: 3)` or just `name`.
  return output
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0])
    .filter((name) => name.length > 0);
}

async function killProcessesIn(name: string): Promise<void> {
  let pids: string;
  try {
    pids = (await run('ip', ['netns', 'pids', name])).stdout;
  } catch {
    return;
  }
  for (const pid of pids.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** Kills every process inside the namespace, then deletes it. A namespace that is already gone is not an error. */
export async function deleteNamespace(name: string): Promise<void> {
  await killProcessesIn(name);
  try {
    await run('ip', ['netns', 'delete', name]);
  } catch (error) {
    const gone = error instanceof LabCommandError && /No such file|Invalid argument/.test(error.stderr);
    if (!gone && (await listNamespaces()).includes(name)) throw error;
  }
  ownedNamespaces.delete(name);
}

function deleteNamespaceSync(name: string): void {
  try {
    for (const pid of runSync('ip', ['netns', 'pids', name]).split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    runSync('ip', ['netns', 'delete', name]);
  } catch {
    // Best effort at exit; the next run removes what is left because this PID will be dead.
  }
  ownedNamespaces.delete(name);
}

/** Removes every `ctc-<pid>-...` namespace whose creating process is dead. Returns the names removed. */
export async function removeStaleLabs(): Promise<string[]> {
  const stale = (await listNamespaces()).filter((name) => {
    const parsed = parseNamespaceName(name);
    return parsed !== null && parsed.pid !== process.pid && !isAlive(parsed.pid);
  });
  for (const name of stale) await deleteNamespace(name);
  return stale;
}

function cleanupSync(): void {
  for (const child of ownedChildren) child.kill('SIGKILL');
  ownedChildren.clear();
  for (const name of [...ownedNamespaces]) deleteNamespaceSync(name);
}

function onSignal(signal: NodeJS.Signals): void {
  // Another listener (the demo, a test runner) owns shutdown; the 'exit' handler still removes what is left.
  if (process.listenerCount(signal) > 1) return;
  cleanupSync();
  process.removeListener(signal, onSignal);
  process.kill(process.pid, signal);
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', cleanupSync);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** Records a child process living in one of our namespaces, so it is killed at exit even if destroy never ran. */
export function trackChild(child: ChildProcess): void {
  installHandlers();
  ownedChildren.add(child);
  child.once('exit', () => ownedChildren.delete(child));
}

export function execIn(name: string, cmd: string, args: readonly string[], options: { input?: string } = {}): Promise<CommandOutput> {
  return run('ip', ['netns', 'exec', name, cmd, ...args], options);
}

/** Creates the namespace `name` (already unique), registers it for cleanup, brings loopback up. */
export async function addNamespace(name: string, options: Omit<NamespaceOptions, 'role'> = {}): Promise<Namespace> {
  if (!parseNamespaceName(name)) throw new Error(`namespace name ${name} does not follow ctc-<pid>-<hex>-<role>`);
  installHandlers();
  await run('ip', ['netns', 'add', name]);
  ownedNamespaces.add(name);
  const namespace: Namespace = {
    name,
    exec: (cmd, args, execOptions) => execIn(name, cmd, args, execOptions),
    destroy: () => deleteNamespace(name),
  };
  try {
    await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    if (options.tracking) {
      // A ct expression makes nf_conntrack register its hooks in this namespace.
      await namespace.exec('nft', ['-f', '-'], {
        input: TRACKING_RULESET,
      });
    }
    const sysctls = Object.entries(options.sysctls ?? {}).map(([key, value]) => `${key}=${value}`);
    if (sysctls.length > 0) await namespace.exec('sysctl', ['-q', '-w', ...sysctls]);
  } catch (error) {
    await deleteNamespace(name);
    throw error;
  }
  return namespace;
}

/** One empty namespace with a unique name (`ctc-<pid>-<hex>-<role>`); stale ones from dead processes go first. */
export async function createNamespace(options: NamespaceOptions = {}): Promise<Namespace> {
  const role = options.role ?? 'ns';
  if (!ROLE_PATTERN.test(role)) throw new Error(`namespace role must be lower-case letters and digits: ${role}`);
  await removeStaleLabs();
  return addNamespace(`${newLabName()}-${role}`, options);
}

/** Runs `fn` with a fresh namespace and removes it afterwards, whether `fn` succeeds or throws. */
export async function withNamespace<T>(fn: (namespace: Namespace) => Promise<T>, options: NamespaceOptions = {}): Promise<T> {
  const namespace = await createNamespace(options);
  try {
    return await fn(namespace);
  } finally {
    await namespace.destroy();
  }
}
