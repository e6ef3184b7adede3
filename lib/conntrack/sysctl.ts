// Reading and writing the net.netfilter sysctls of the managed namespace. /proc/sys/net shows the network namespace
// of the thread that looks a file up, so every access runs synchronously inside inNetns (the setns addon switches
// the calling thread, nothing else runs meanwhile, then it switches back), and checks first that the thread really
// is in the namespace it was asked for: a setting is never read from, or written to, the host by mistake.
import { closeSync, constants, openSync, readdirSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { NamespaceError, NetlinkError, ValidationError } from './errors';
import { inNetns, netnsPath } from '@/lib/netlink/netns';

const ROOT = '/proc/sys/net/netfilter';
/** Names relative to net.netfilter: "nf_conntrack_max", "nf_log.2" (for nf_log/2). */
const NAME = /^[a-z0-9_]+(\.[a-z0-9_]+)*$/;

/** Why this process cannot write a setting here. */
export type WriteBlock =
  /** The kernel shows the file read-only in this namespace (mode 0444: a statistic, or global outside the initial one). */
  | 'kernel-read-only'
  /** /proc/sys is mounted read-only for us (systemd ProtectKernelTunables=yes, a container runtime). */
  | 'read-only-mount'
  /** We lack CAP_NET_ADMIN over the namespace. */
  | 'no-privilege';

export interface SysctlValue {
  /** Relative to net.netfilter, with dots: "nf_conntrack_tcp_timeout_established", "nf_log.2". */
  name: string;
  /** The file's content as `sysctl -n` prints it. */
  value: string;
  /** The kernel's file mode in this namespace (0644, 0444). */
  mode: number;
  /** Null when this process can write it; else why not. */
  blocked: WriteBlock | null;
}

export interface NetfilterSysctls {
  /** Whether the namespace is the initial (host) one, told by the kernel's own mode of nf_conntrack_max; null without nf_conntrack. */
  initial: boolean | null;
  values: SysctlValue[];
}

/** The file behind a setting name; refuses names that are no sysctl name (no path tricks). */
export function sysctlPath(name: string): string {
  if (!NAME.test(name)) throw new ValidationError('name', `"${name}" is not a net.netfilter setting name`);
  return join(ROOT, ...name.split('.'));
}

/** Runs fn inside the namespace, after checking the thread's namespace is the one asked for. */
function inNamespace<T>(netns: string | undefined, fn: () => T): T {
  return inNetns(netns, () => {
    if (netns !== undefined) {
      const wanted = statSync(netnsPath(netns));
      const current = statSync('/proc/thread-self/ns/net');
      if (wanted.ino !== current.ino || wanted.dev !== current.dev) {
        throw new NamespaceError({ errno: 22, operation: `check that this thread is in network namespace ${netns}`, netns, problem: 'the thread did not end up in it (setns had no effect)' });
      }
    }
    return fn();
  });
}

function errnoOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'EIO';
}

/** Opening for writing asks the kernel exactly what a write would (file mode, capability, mount), and writes nothing. */
function writeBlock(path: string, mode: number): WriteBlock | null {
  try {
    closeSync(openSync(path, constants.O_WRONLY));
    return null;
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'EROFS') return 'read-only-mount';
    return (mode & 0o222) === 0 ? 'kernel-read-only' : 'no-privilege';
  }
}

function readValue(path: string): string {
  // sysctl -n prints multi-value settings with tabs between them; the file has them too.
  return readFileSync(path, 'utf8').replace(/\n$/, '');
}

function walk(dir: string, prefix: string, out: SysctlValue[]): void {
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    const name = prefix ? `${prefix}.${entry}` : entry;
    let stat;
    try {
      stat = statSync(path);
    } catch {
      continue; // unregistered while we listed (a module unloading)
    }
    if (stat.isDirectory()) {
      walk(path, name, out);
      continue;
    }
    const mode = stat.mode & 0o777;
    let value: string;
    try {
      value = readValue(path);
    } catch {
      continue; // write-only or gone: nothing to show
    }
    out.push({ name, value, mode, blocked: writeBlock(path, mode) });
  }
}

/** Every sysctl under /proc/sys/net/netfilter of the namespace, as the running kernel has them. */
export function readNetfilterSysctls(netns?: string): NetfilterSysctls {
  return inNamespace(netns, () => {
    const values: SysctlValue[] = [];
    try {
      walk(ROOT, '', values);
    } catch (error) {
      throw new NetlinkError({ errno: errnoNumber(error), operation: `read ${ROOT}`, subject: 'sysctl' });
    }
    const max = values.find((v) => v.name === 'nf_conntrack_max');
    // The kernel makes nf_conntrack_max read-only (0444) in every namespace but the initial one.
    return { initial: max ? (max.mode & 0o200) !== 0 : null, values };
  });
}

/**
 * Writes one sysctl in the namespace and reads it back. The caller has validated the value; a value the kernel
 * still refuses is a ValidationError, other failures are NetlinkErrors with the errno.
 */
export function writeNetfilterSysctl(options: { netns?: string; name: string; value: string }): { before: string; after: string } {
  const path = sysctlPath(options.name);
  const key = `net.netfilter.${options.name}`;
  return inNamespace(options.netns, () => {
    const before = readValue(path);
    let fd: number;
    try {
      fd = openSync(path, constants.O_WRONLY);
    } catch (error) {
      throw new NetlinkError({ errno: errnoNumber(error), operation: `open ${key} for writing`, subject: 'sysctl' });
    }
    try {
      writeSync(fd, `${options.value}\n`);
    } catch (error) {
      if (errnoOf(error) === 'EINVAL') throw new ValidationError('value', `the kernel refused ${options.value} for ${key} (EINVAL)`);
      throw new NetlinkError({ errno: errnoNumber(error), operation: `write ${key}`, subject: 'sysctl' });
    } finally {
      closeSync(fd);
    }
    return { before, after: readValue(path) };
  });
}

function errnoNumber(error: unknown): number {
  const errno = (error as NodeJS.ErrnoException).errno;
  return errno === undefined ? 5 : Math.abs(errno);
}
