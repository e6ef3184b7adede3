// Opening a socket inside another network namespace. Only the lab, tests and the demo need this: on a real
// router the console manages the table of the namespace it runs in.
import { closeSync, existsSync, openSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { errnoName, NamespaceError, namespaceProblem, processPrivileges } from './errors';

/** The functions of native/netns.c. */
export interface NativeAddon {
  setns(fd: number): void;
  /** A blocking netlink socket for reads on the thread pool (see native/netns.c). */
  openSocket(protocol: number, receiveBufferBytes: number, groups: number[], readTimeoutMs: number): number;
  receiveBufferSize(fd: number): number;
  /**
   * Reads dump datagrams back to back into `buffer` on the thread pool until less than 64 KiB of it is left, one
   * holds NLMSG_DONE or NLMSG_ERROR for `seq` (ended), or recv fails (errno, 0 = none). `bytes` are whole datagrams.
   */
  readDump(fd: number, buffer: Uint8Array, seq: number, done: (errno: number, bytes: number, ended: boolean) => void): void;
  /**
   * Reads multicast datagrams into `buffer` on the thread pool: the first waits (up to the socket's read timeout),
   * then every one already queued, until less than 16 KiB is left. `bytes`: whole datagrams, each padded to 4 bytes;
   * `errno` (0 = none) what stopped it (ENOBUFS: events were dropped, the bytes before are good; EAGAIN: timeout).
   */
  readEvents(fd: number, buffer: Uint8Array, done: (errno: number, bytes: number) => void): void;
}

let addon: NativeAddon | undefined;

export function loadAddon(): NativeAddon {
  if (addon) return addon;
  const path = process.env.CONNTRACK_NETNS_ADDON ?? join(/* turbopackIgnore: true */ process.cwd(), 'build/native/netns.node');
  if (!existsSync(/* turbopackIgnore: true */ path)) {
    throw new Error(`the setns addon is missing at ${path}: run "npm install" (its postinstall builds it) or set CONNTRACK_NETNS_ADDON`);
  }
  const loaded = { exports: {} as NativeAddon };
  // process.dlopen, not require: bundlers leave it alone and the path is decided at run time.
  process.dlopen(loaded, /* turbopackIgnore: true */ path);
  if (typeof loaded.exports.readEvents !== 'function') {
    throw new Error(`the setns addon at ${path} is older than lib/netlink/native/netns.c: run "node scripts/build-native.mjs"`);
  }
  addon = loaded.exports;
  return addon;
}

/** /var/run/netns/NAME for a name as `ip netns` knows it, or the path itself. */
export function netnsPath(netns: string): string {
  return isAbsolute(netns) ? netns : join('/var/run/netns', netns);
}

/**
 * Runs create() with the calling thread inside the network namespace `netns`, then switches back. Whatever
 * sockets create() opens stay in that namespace. create() must be synchronous: no other code may run while
 * the thread is switched.
 */
export function inNetns<T>(netns: string | undefined, create: () => T): T {
  if (!netns) return create();
  const setns = loadAddon().setns;
  let target: number;
  try {
    target = openSync(netnsPath(netns), 'r');
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).errno ?? -2;
    const problem = namespaceProblem({ code: errnoName(errno), step: 'open', netns, path: netnsPath(netns) });
    throw new NamespaceError({ errno, operation: `open network namespace ${netns}`, netns, problem });
  }
  const original = openSync('/proc/thread-self/ns/net', 'r');
  try {
    try {
      setns(target);
    } catch (error) {
      const errno = (error as { errno?: number }).errno ?? 1;
      const problem = namespaceProblem({ code: errnoName(errno), step: 'enter', netns, path: netnsPath(netns), privileges: processPrivileges() });
      throw new NamespaceError({ errno, operation: `enter network namespace ${netns}`, netns, problem });
    }
    try {
      return create();
    } finally {
      setns(original);
    }
  } finally {
    closeSync(target);
    closeSync(original);
  }
}
