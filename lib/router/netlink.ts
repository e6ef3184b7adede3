// The two rtnetlink sockets of the router view. Dumps go through the npm package `netlink` (createRtNetlink), opened
// inside the managed namespace (lib/netlink/netns.ts, as lib/conntrack opens its own). Change notifications come
// from a blocking socket of our setns addon read on the libuv thread pool: the package's socket aborts the process
// when the kernel reports an overflow (ENOBUFS) on an idle socket, while a pool read returns ENOBUFS as an ordinary
// error, which here means "changes were lost: dump again".
import { close, read } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { createRtNetlink, parseMessages, rt, type RtNetlinkSocket } from 'netlink';
import { NetlinkError } from '@/lib/netlink/errors';
import { inNetns, loadAddon } from '@/lib/netlink/netns';
import { decodeAddress, decodeLink, decodeNeighbour, decodeRoute, decodeRule } from './decode';
import type { Topology } from './types';

// NETLINK_ROUTE (linux/netlink.h)
const NETLINK_ROUTE = 0;
// RTNLGRP_* (linux/rtnetlink.h): the groups whose changes the router view follows.
export const RTNLGRP = { LINK: 1, NEIGH: 3, IPV4_IFADDR: 5, IPV4_ROUTE: 7, IPV4_RULE: 8, IPV6_IFADDR: 9, IPV6_ROUTE: 11, IPV6_RULE: 19 } as const;
const DUMP_TIMEOUT_MS = 15_000;
// NLM_F_REPLACE (linux/netlink.h)
const NLM_F_REPLACE = 0x100;

/** What each rtnetlink request is about, as an error's reason names it (never "connection": that is ctnetlink's). */
export type RouterSubject = 'link' | 'address' | 'route' | 'rule' | 'neighbour' | 'route or neighbour' | 'rtnetlink object';

/** The NetlinkError for a failed rtnetlink request, whatever the npm package threw. */
export function rtnetlinkError(operation: string, error: unknown, subject: RouterSubject = 'rtnetlink object'): NetlinkError {
  if (error instanceof NetlinkError) return error;
  // Socket errors carry an errno; the package rejects the kernel's NLMSG_ERROR answers with a bare
  // Error("Request rejected: ENOENT") (its checkError), whose code is only in the text.
  const errno = (error as { errno?: number }).errno ?? rejectedErrno(error);
  return new NetlinkError({ errno: errno ? Math.abs(errno) : 5, operation, subject, detail: errno ? undefined : String(error) });
}

function rejectedErrno(error: unknown): number | undefined {
  const code = error instanceof Error ? /^Request rejected: (\S+)$/.exec(error.message)?.[1] : undefined;
  if (code === undefined) return undefined;
  return /^-?\d+$/.test(code) ? Number(code) : (osConstants.errno as Record<string, number | undefined>)[code];
}

function openDumpSocket(netns: string | undefined): RtNetlinkSocket {
  try {
    return inNetns(netns, () => createRtNetlink());
  } catch (error) {
    throw rtnetlinkError('open rtnetlink socket', error);
  }
}

const defined = <T>(items: (T | undefined)[]): T[] => items.filter((item): item is T => item !== undefined);

/** Dumps links, addresses, routes of every table, rules and neighbours of the namespace. */
export async function dumpTopology(netns: string | undefined): Promise<Topology> {
  const socket = openDumpSocket(netns);
  const options = { timeout: DUMP_TIMEOUT_MS };
  const step = async <T>(subject: RouterSubject, operation: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw rtnetlinkError(operation, error, subject);
    }
  };
  try {
    // One dump at a time: the package matches replies by sequence number, the kernel serves one dump per socket.
    const links = await step('link', 'dump links', () => socket.getLinks({}, {}, options));
    const addresses = await step('address', 'dump addresses', () => socket.getAddresses({}, {}, options));
    const routes = await step('route', 'dump routes', () => socket.getRoutes({}, {}, options));
    const rules = await step('rule', 'dump rules', () => socket.getRules({}, {}, options));
    const neighbours = await step('neighbour', 'dump neighbours', () => socket.getNeighbors({}, {}, options));
    return {
      links: defined(links.map(decodeLink)),
      addresses: defined(addresses.map(decodeAddress)),
      routes: defined(routes.map(decodeRoute)),
      rules: defined(rules.map(decodeRule)),
      neighbours: defined(neighbours.map(decodeNeighbour)),
    };
  } finally {
    socket.socket.close();
  }
}

/** The names of the namespace's interfaces now (the start checks the WANs policies name against them). */
export async function interfaceNames(netns: string | undefined): Promise<string[]> {
  const socket = openDumpSocket(netns);
  try {
    const links = await socket.getLinks({}, {}, { timeout: DUMP_TIMEOUT_MS });
    return defined(links.map(decodeLink)).map((link) => link.name);
  } catch (error) {
    throw rtnetlinkError('dump links', error, 'link');
  } finally {
    socket.socket.close();
  }
}

/** Routes and neighbours only: what a link or address change can alter without a notification. */
export async function dumpDerived(netns: string | undefined): Promise<Pick<Topology, 'routes' | 'neighbours'>> {
  const socket = openDumpSocket(netns);
  try {
    const routes = await socket.getRoutes({}, {}, { timeout: DUMP_TIMEOUT_MS });
    const neighbours = await socket.getNeighbors({}, {}, { timeout: DUMP_TIMEOUT_MS });
    return { routes: defined(routes.map(decodeRoute)), neighbours: defined(neighbours.map(decodeNeighbour)) };
  } catch (error) {
    throw rtnetlinkError('dump routes and neighbours', error, 'route or neighbour');
  } finally {
    socket.socket.close();
  }
}

/** One change notification, decoded. */
export type RouterChange =
  | { kind: 'link'; removed: boolean; link: NonNullable<ReturnType<typeof decodeLink>> }
  | { kind: 'address'; removed: boolean; address: NonNullable<ReturnType<typeof decodeAddress>> }
  /** replaced: NLM_F_REPLACE, the route took the place of the one with the same key (table, dst, tos, metric). */
  | { kind: 'route'; removed: boolean; replaced: boolean; route: NonNullable<ReturnType<typeof decodeRoute>> }
  | { kind: 'rule'; removed: boolean; rule: NonNullable<ReturnType<typeof decodeRule>> }
  | { kind: 'neighbour'; removed: boolean; neighbour: NonNullable<ReturnType<typeof decodeNeighbour>> };

const { MessageType } = rt;
const REMOVALS = new Set<number>([MessageType.DELLINK, MessageType.DELADDR, MessageType.DELROUTE, MessageType.DELRULE, MessageType.DELNEIGH]);

function decodeChange(type: number, flags: number, data: Buffer): RouterChange | undefined {
  const removed = REMOVALS.has(type);
  switch (type) {
    case MessageType.NEWLINK:
    case MessageType.DELLINK: {
      const link = decodeLink(rt.parseLinkMessage(data));
      return link && { kind: 'link', removed, link };
    }
    case MessageType.NEWADDR:
    case MessageType.DELADDR: {
      const address = decodeAddress(rt.parseAddressMessage(data));
      return address && { kind: 'address', removed, address };
    }
    case MessageType.NEWROUTE:
    case MessageType.DELROUTE: {
      const route = decodeRoute(rt.parseRouteMessage(data));
      return route && { kind: 'route', removed, replaced: (flags & NLM_F_REPLACE) !== 0, route };
    }
    case MessageType.NEWRULE:
    case MessageType.DELRULE: {
      const rule = decodeRule(rt.parseRuleMessage(data));
      return rule && { kind: 'rule', removed, rule };
    }
    case MessageType.NEWNEIGH:
    case MessageType.DELNEIGH: {
      const neighbour = decodeNeighbour(rt.parseNeighborMessage(data));
      return neighbour && { kind: 'neighbour', removed, neighbour };
    }
    default:
      return undefined;
  }
}

export interface ChangeListener {
  change(change: RouterChange): void;
  /** The kernel dropped notifications (ENOBUFS). */
  overflow(): void;
  error(error: Error): void;
}

/** How often a blocked read wakes up to notice close(). */
const READ_TIMEOUT_MS = 200;
const READ_BYTES = 64 * 1024;

/** Subscribes to the RTNLGRP_* groups in the namespace; close() stops it within READ_TIMEOUT_MS. */
export class ChangeSocket {
  private readonly fd: number;
  private readonly buffer = Buffer.allocUnsafe(READ_BYTES);
  private closed = false;

  constructor(options: { netns?: string; receiveBufferBytes: number; listener: ChangeListener }) {
    const addon = loadAddon();
    try {
      this.fd = inNetns(options.netns, () => addon.openSocket(NETLINK_ROUTE, options.receiveBufferBytes, Object.values(RTNLGRP), READ_TIMEOUT_MS));
    } catch (error) {
      throw rtnetlinkError('subscribe to rtnetlink changes', error);
    }
    this.readNext(options.listener);
  }

  private readNext(listener: ChangeListener): void {
    read(this.fd, this.buffer, 0, READ_BYTES, null, (error, bytes) => {
      if (this.closed) {
        close(this.fd, () => undefined);
        return;
      }
      if (error) {
        if (error.code === 'ENOBUFS') listener.overflow();
        else if (error.code !== 'EAGAIN' && error.code !== 'EWOULDBLOCK' && error.code !== 'EINTR') {
          listener.error(rtnetlinkError('read rtnetlink changes', error));
        }
      } else if (bytes > 0) {
        this.onDatagram(this.buffer.subarray(0, bytes), listener);
      }
      this.readNext(listener);
    });
  }

  private onDatagram(buf: Buffer, listener: ChangeListener): void {
    let messages;
    try {
      messages = parseMessages(buf);
    } catch (error) {
      listener.error(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    for (const message of messages) {
      try {
        const change = decodeChange(message.type, message.flags, message.data);
        if (change) listener.change(change);
      } catch (error) {
        // One message the package cannot parse: the view may now be wrong, so treat it like lost changes.
        listener.error(error instanceof Error ? error : new Error(String(error)));
        listener.overflow();
      }
    }
  }

  receiveBufferBytes(): number {
    return loadAddon().receiveBufferSize(this.fd);
  }

  close(): void {
    this.closed = true;
  }
}
