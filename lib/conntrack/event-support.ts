// What an event subscriber needs from the kernel besides the socket: the nf_conntrack_events sysctl of the
// managed namespace (a history recorder needs 1: in auto mode entries created while nobody listened never report
// their DESTROY), and how many event messages the kernel dropped for our subscriptions (exact, per socket).
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { inNetns } from '@/lib/netlink/netns';

const EVENTS_SYSCTL = '/proc/sys/net/netfilter/nf_conntrack_events';
// NETLINK_NETFILTER; NFNLGRP_CONNTRACK_NEW | UPDATE | DESTROY as the Groups bitmask of /proc/net/netlink.
const NETLINK_NETFILTER = 12;
const CONNTRACK_GROUPS = 0b111;

export interface EventsSysctl {
  /** The value now (0 off, 1 on, 2 auto); null when it cannot be read (nf_conntrack not loaded). */
  value: number | null;
  /** Why it could not be set to the value asked for. */
  error?: string;
}

function readValue(): number | null {
  try {
    return Number(readFileSync(EVENTS_SYSCTL, 'utf8').trim());
  } catch {
    return null;
  }
}

/** net.netfilter.nf_conntrack_events of the namespace (/proc/sys/net follows the calling thread's namespace). */
export function readEventsSysctl(netns?: string): number | null {
  return inNetns(netns, readValue);
}

/** Sets net.netfilter.nf_conntrack_events in the namespace, when it is not that value already. */
export function setEventsSysctl(netns: string | undefined, value: 0 | 1 | 2 = 1): EventsSysctl {
  return inNetns(netns, () => {
    const before = readValue();
    if (before === value) return { value };
    try {
      writeFileSync(EVENTS_SYSCTL, `${value}\n`);
      return { value: readValue() };
    } catch (error) {
      return { value: before, error: (error as NodeJS.ErrnoException).code ?? String(error) };
    }
  });
}

/**
 * Messages the kernel dropped (the Drops column of /proc/net/netlink) summed over the conntrack event sockets this
 * process holds in the namespace; null when /proc cannot tell. Exact, where ENOBUFS only says "some were lost".
 */
export function eventSocketDrops(netns?: string): number | null {
  try {
    const ours = new Set<string>();
    for (const fd of readdirSync('/proc/self/fd')) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
        if (match) ours.add(match[1]);
      } catch {
        // The descriptor closed while we looked.
      }
    }
    const table = inNetns(netns, () => readFileSync('/proc/thread-self/net/netlink', 'utf8'));
    let drops = 0;
    for (const line of table.split('\n').slice(1)) {
      // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || Number(f[1]) !== NETLINK_NETFILTER || !(parseInt(f[3], 16) & CONNTRACK_GROUPS)) continue;
      if (ours.has(f[9])) drops += Number(f[8]);
    }
    return drops;
  } catch {
    return null;
  }
}
