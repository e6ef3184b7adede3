// Shared set-up for the conntrack-*.test.ts integration files: a throw-away namespace per test and a varied set of
// entries inserted with conntrack(8). Expectations never come from this list: tests read them back through the
// oracle (conntrack -L) or from what the test itself created.
import { Conntrack } from '@/lib/conntrack';
import { createTestNamespace, insertWithConntrack, loadWithConntrack, type InsertSpec, type TestNamespace } from '../support/oracle';

/** Runs fn with a fresh namespace (accounting and timestamps on) and deletes the namespace afterwards, even on failure. */
export async function withTestNamespace<T>(
  fn: (ns: TestNamespace, ct: Conntrack) => Promise<T>,
  sysctls?: Record<string, string>,
): Promise<T> {
  const ns = await createTestNamespace('ctc-it', sysctls);
  try {
    return await fn(ns, new Conntrack({ netns: ns.name }));
  } finally {
    await ns.dispose();
  }
}

import { OTHER_WAN_V4, WAN_V4, WAN_V6 } from '../support/filter-cases';

export { OTHER_WAN_V4, WAN_V4, WAN_V6 };

const T = 600;

// conntrack 1.4.7 -I stores -u in the mark (`-m 5 -u ASSURED` gives mark=4): entries with a status carry no mark.

/**
 * Every kind of entry the filters must tell apart: TCP in several states, UDP, ICMP/ICMPv6, SCTP, marks, zones,
 * status flags, source and destination NAT, in both families.
 */
export const VARIED_ENTRIES: (InsertSpec | string[])[] = [
  { protocol: 'tcp', src: '10.1.0.1', dst: '198.18.0.10', sport: 40001, dport: 443, state: 'ESTABLISHED', timeout: T, status: ['ASSURED', 'SEEN_REPLY'] },
  { protocol: 'tcp', src: '10.1.0.2', dst: '198.18.0.10', sport: 40002, dport: 80, state: 'SYN_SENT', timeout: T, mark: 1 },
  { protocol: 'tcp', src: '10.1.0.3', dst: '198.18.0.11', sport: 40003, dport: 443, state: 'TIME_WAIT', timeout: T, mark: 0x10 },
  { protocol: 'tcp', src: '10.1.0.1', dst: '198.18.0.12', sport: 40004, dport: 22, state: 'CLOSE', timeout: T },
  { protocol: 'tcp', src: '10.1.0.4', dst: '198.18.0.10', sport: 40005, dport: 443, state: 'ESTABLISHED', timeout: T, srcNat: WAN_V4 },
  { protocol: 'tcp', src: '10.1.0.5', dst: '198.18.0.10', sport: 40006, dport: 443, state: 'ESTABLISHED', timeout: T, srcNat: OTHER_WAN_V4 },
  { protocol: 'tcp', src: '10.1.0.6', dst: '198.18.0.10', sport: 40007, dport: 8443, state: 'ESTABLISHED', timeout: T, mark: 0x102 },
  { protocol: 'tcp', src: '10.1.0.7', dst: '198.18.0.13', sport: 40008, dport: 443, state: 'SYN_SENT', timeout: T, srcNat: WAN_V4 },
  { protocol: 'udp', src: '10.1.0.4', dst: '198.18.0.53', sport: 50000, dport: 53, timeout: T, srcNat: WAN_V4 },
  { protocol: 'udp', src: '10.1.0.2', dst: '198.18.0.53', sport: 5353, dport: 53, timeout: T, zone: 7 },
  { protocol: 'udp', src: '198.18.0.99', dst: WAN_V4, sport: 6000, dport: 8080, timeout: T, dstNat: '10.1.0.20:8000' },
  { protocol: 'udp', src: '10.1.0.8', dst: '198.18.0.54', sport: 443, dport: 4000, timeout: T, status: ['SEEN_REPLY'] },
  { protocol: 'icmp', src: '10.1.0.1', dst: '198.18.0.10', icmp: { type: 8, code: 0, id: 4242 }, timeout: T },
  ['-p', 'sctp', '-s', '10.1.0.9', '-d', '198.18.0.14', '--sport', '3868', '--dport', '3868', '--state', 'ESTABLISHED', '-t', String(T), '--orig-vtag', '1', '--reply-vtag', '2'],
  { protocol: 'tcp', src: 'fd00:1::1', dst: '2001:db8:ff::10', sport: 40001, dport: 443, state: 'ESTABLISHED', timeout: T, status: ['ASSURED', 'SEEN_REPLY'] },
  { protocol: 'tcp', src: 'fd00:1::2', dst: '2001:db8:ff::10', sport: 40002, dport: 80, state: 'SYN_SENT', timeout: T, mark: 1 },
  { protocol: 'tcp', src: 'fd00:1::4', dst: '2001:db8:ff::10', sport: 40005, dport: 443, state: 'ESTABLISHED', timeout: T, srcNat: WAN_V6 },
  { protocol: 'tcp', src: 'fd00:1::3', dst: '2001:db8:ff:1::11', sport: 40003, dport: 22, state: 'FIN_WAIT', timeout: T, mark: 0x10 },
  { protocol: 'udp', src: 'fd00:1::2', dst: '2001:db8:ff::53', sport: 5353, dport: 53, timeout: T, zone: 7 },
  { protocol: 'udp', src: 'fd00:1::5', dst: '2001:db8:ff::53', sport: 50000, dport: 53, timeout: T, srcNat: WAN_V6 },
  { protocol: 'icmpv6', src: 'fd00:1::1', dst: '2001:db8:ff::10', icmp: { type: 128, code: 0, id: 4242 }, timeout: T },
];

/** Inserts VARIED_ENTRIES one by one (so a refused line fails loudly). */
export async function insertVaried(netns: string): Promise<void> {
  for (const entry of VARIED_ENTRIES) await insertWithConntrack(netns, entry);
}

/** n UDP entries per family with distinct tuples, loaded with conntrack -R. Returns how many conntrack created. */
export async function loadBulk(netns: string, n: number, options: { families?: ('ipv4' | 'ipv6')[]; mark?: number; dport?: number } = {}): Promise<number> {
  const families = options.families ?? ['ipv4', 'ipv6'];
  const specs: InsertSpec[] = [];
  for (const family of families) {
    for (let i = 0; i < n; i++) {
      const host = `${(i >> 8) & 0xff}.${i & 0xff}`;
      specs.push({
        protocol: 'udp',
        src: family === 'ipv4' ? `10.200.${host}` : `fd00:200::${(i >> 8).toString(16)}:${(i & 0xff).toString(16)}`,
        dst: family === 'ipv4' ? '198.18.1.1' : '2001:db8:ff::1',
        sport: 10000 + (i % 50000),
        dport: options.dport ?? 53,
        timeout: T,
        mark: options.mark,
      });
    }
  }
  return loadWithConntrack(netns, specs);
}

/** Canonical comparison key of an entry: family, protocol and original tuple. */
export function tupleKey(c: { family: string; original: { src: string; dst: string; protocol: number; sport?: number; dport?: number } }): string {
  return `${c.family} ${c.original.protocol} ${c.original.src}:${String(c.original.sport)} > ${c.original.dst}:${String(c.original.dport)}`;
}

/** Sorted ids, for comparing result sets. */
export const idsOf = (entries: readonly { id?: number }[]): number[] => entries.map((e) => e.id ?? -1).sort((a, b) => a - b);
