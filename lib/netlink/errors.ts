// The errors of talking netlink at all, whatever the protocol: the kernel's (or the socket's) errno with its
// symbolic code and what it means, and why the managed network namespace cannot be used.
import { readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { shareErrorClass } from '@/lib/process';

const errnoNames: Record<number, string> = Object.fromEntries(
  Object.entries(osConstants.errno).map(([name, value]) => [value, name]),
);

export function errnoName(errno: number): string {
  return errnoNames[Math.abs(errno)] ?? `E${Math.abs(errno)}`;
}

// What an errno means, in words; `subject` is what the request was about, as its layer names it.
const explanations: Record<string, string | ((subject: string) => string)> = {
  EPERM: 'needs CAP_NET_ADMIN (run as root or grant the capability)',
  EACCES: 'needs CAP_NET_ADMIN (run as root or grant the capability)',
  ENOENT: (subject) => `no such ${subject} (it does not exist or is already gone)`,
  EEXIST: (subject) => `the ${subject} already exists`,
  EOPNOTSUPP: 'the kernel does not support this request',
  EINVAL: 'the kernel rejected the request as invalid',
  ENOBUFS: 'the kernel dropped messages because the receive buffer was full',
  ETIMEDOUT: 'the kernel did not answer in time',
  EBUSY: 'the kernel is busy, try again',
  ENOMEM: 'the kernel is out of memory',
};

/**
 * A kernel (or socket) error, with its errno, its symbolic code and the operation that failed. Each protocol layer
 * says what its request was about (`subject`: a connection, an expectation, a link, a route...), so that a reason
 * such as ENOENT names the right object; this module knows no protocol, so without one it says "entry".
 */
export class NetlinkError extends Error {
  override readonly name: string = 'NetlinkError';
  readonly errno: number;
  readonly code: string;
  readonly operation: string;

  constructor(options: { errno: number; operation: string; detail?: string; subject?: string }) {
    const code = errnoName(options.errno);
    const explanation = explanations[code];
    const reason = typeof explanation === 'function' ? explanation(options.subject ?? 'entry') : (explanation ?? code);
    super(`${options.operation}: ${reason}${options.detail ? ` (${options.detail})` : ''} [${code}]`);
    this.errno = Math.abs(options.errno);
    this.code = code;
    this.operation = options.operation;
  }
}

/** What the process may do, as /proc/self/status says: effective capabilities and whether a seccomp filter is on. */
export interface ProcessPrivileges {
  capEff: bigint;
  seccomp: boolean;
}

const CAP_SYS_ADMIN = 21n;
const has = (privileges: ProcessPrivileges, cap: bigint): boolean => ((privileges.capEff >> cap) & 1n) === 1n;

/**
 * Why the managed namespace cannot be used, and what to do: it does not exist, the file cannot be read, entering it
 * needs CAP_SYS_ADMIN, or a sandbox (systemd RestrictNamespaces=) forbids entering namespaces at all.
 */
export function namespaceProblem(options: { code: string; step: 'open' | 'enter'; netns: string; path: string; privileges?: ProcessPrivileges }): string {
  const { code, step, netns, path, privileges } = options;
  if (step === 'open') {
    if (code === 'ENOENT') return `the network namespace "${netns}" does not exist (no ${path}): create it (ip netns add ${netns}) or correct CONNTRACK_NETNS`;
    if (code === 'EACCES' || code === 'EPERM') return `${path} cannot be read by the server's user: check its permissions and the unit's sandbox (ProtectSystem, InaccessiblePaths)`;
    return `${path} cannot be opened`;
  }
  if (code === 'EPERM') {
    if (privileges && !has(privileges, CAP_SYS_ADMIN)) return 'entering another network namespace needs CAP_SYS_ADMIN besides CAP_NET_ADMIN: grant both (AmbientCapabilities= and CapabilityBoundingSet= in the unit), or run the console inside that namespace without CONNTRACK_NETNS';
    if (privileges?.seccomp) return 'a sandbox forbids entering namespaces although the server has CAP_SYS_ADMIN: the unit needs RestrictNamespaces=net (RestrictNamespaces=yes blocks setns)';
    return 'the kernel refused to enter it (setns: EPERM): the server needs CAP_SYS_ADMIN and no sandbox that restricts namespaces (systemd RestrictNamespaces=net)';
  }
  if (code === 'EINVAL') return `${path} is not a network namespace`;
  return 'the kernel refused to enter it';
}

/** The effective capabilities and seccomp mode of this process (Linux /proc/self/status). */
export function processPrivileges(status: string = readFileSync('/proc/self/status', 'utf8')): ProcessPrivileges {
  const field = (name: string) => new RegExp(`^${name}:\\s*(\\S+)`, 'm').exec(status)?.[1];
  return { capEff: BigInt(`0x${field('CapEff') ?? '0'}`), seccomp: (field('Seccomp') ?? '0') !== '0' };
}

/** The network namespace to manage cannot be opened or entered (a deployment problem, not a missing entry). */
export class NamespaceError extends NetlinkError {
  override readonly name = 'NamespaceError';
  readonly netns: string;
  /** What is wrong and what to do, in words. */
  readonly problem: string;

  constructor(options: { errno: number; operation: string; netns: string; problem: string }) {
    super({ errno: options.errno, operation: options.operation });
    this.netns = options.netns;
    this.problem = options.problem;
    this.message = `${options.operation}: ${options.problem} [${this.code}]`;
  }
}

// Recognised whichever bundle threw them (see shareErrorClass).
shareErrorClass(NetlinkError, 'NetlinkError');
shareErrorClass(NamespaceError, 'NamespaceError');
