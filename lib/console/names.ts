// Names beside the numbers in API answers: host names (DHCP leases, /etc/hosts) for the addresses a page shows and
// /etc/services names for its service ports, as maps next to the rows (the rows themselves stay as they are).
// Reverse DNS is separate and asked for by a view (GET /api/names/reverse), so a slow resolver never holds up a page.
import { isIP } from 'node:net';
import { z } from 'zod';
import { config } from '@/lib/config';
import { parsePrefix, type Prefix, type ToFilterOptions } from '@/lib/conntrack';
import { Names, ReverseDns, REVERSE_DNS_PER_PAGE, REVERSE_DNS_TIMEOUT_MS, REVERSE_DNS_TTL_MS, type HostName, type NameFileStatus } from '@/lib/names';
import { logger } from '@/lib/observability';
import { processValue } from '@/lib/process';
import type { ApiConnectionBase } from './connection';

export interface PageNames {
  /** Address (as the rows spell it) -> its name, where a file names it. */
  names: Record<string, HostName>;
  /** "tcp/443" -> "https", for the service ports of the rows (the original destination port). */
  services: Record<string, string>;
  /** Address -> the MAC the router's neighbour table has for it now (hosts on a directly connected link). */
  macs: Record<string, string>;
}

/** Where a page's MACs come from: the neighbour table of the managed namespace, by address text. */
export type MacLookup = (address: string) => string | undefined;

/** The process's one Names (Next bundles routes separately: one per process, not per bundle). */
export function consoleNames(): Names {
  return processValue('names', () => {
    const { files, servicesFile } = config().names;
    return new Names({
      files,
      servicesFile,
      warn: (message, details) => logger().warn({ path: details.path, format: details.format, problems: details.problems }, message),
    });
  });
}

/** Names, neighbour-table MACs and service names for the addresses and ports of these rows. */
export function namesFor(rows: readonly ApiConnectionBase[], options: { names?: Names; macOf?: MacLookup } = {}): PageNames {
  const { names = consoleNames(), macOf } = options;
  const out: PageNames = { names: {}, services: {}, macs: {} };
  const seen = new Set<string>();
  const address = (text: string | undefined) => {
    if (text === undefined || seen.has(text)) return;
    seen.add(text);
    const host = names.nameOf(text);
    if (host) out.names[text] = host;
    const mac = macOf?.(text);
    if (mac) out.macs[text] = mac;
  };
  for (const row of rows) {
    for (const text of [row.original.src, row.original.dst, row.reply.src, row.reply.dst, row.nat.snat?.address, row.nat.dnat?.address]) address(text);
    const port = row.original.dport;
    const key = `${row.protocol}/${port}`;
    if (port !== undefined && !(key in out.services)) {
      const service = names.serviceOf(row.protocol, port);
      if (service) out.services[key] = service;
    }
  }
  return out;
}

/** How filters read host= : the addresses the name files give the name (exact, or every name ending in "*.suffix"). */
export const hostFilterOptions = (names: Names = consoleNames()): Pick<ToFilterOptions, 'hostAddresses'> => ({
  hostAddresses: (pattern) => names.addressesOf(pattern),
});

/** The addresses whose names contain the free text: rows with them match q as well. */
export function addressesNamed(text: string | undefined, names: Names = consoleNames()): Prefix[] {
  if (!text?.trim()) return [];
  const out: Prefix[] = [];
  for (const address of names.addressesMatching(text)) {
    const prefix = parsePrefix(address);
    if (typeof prefix !== 'string') out.push(prefix);
  }
  return out;
}

/** The process's reverse DNS, or undefined while CONNTRACK_REVERSE_DNS is off (the default: no PTR lookups at all). */
export function consoleReverseDns(): ReverseDns | undefined {
  return processValue('reverse-dns', () => {
    const { reverseDns, dnsServers } = config().names;
    return reverseDns ? new ReverseDns({ servers: dnsServers }) : undefined;
  });
}

/** GET /api/names: what each name file gave (and the lines it did not understand), and whether reverse DNS is on. */
export interface ApiNamesStatus {
  files: NameFileStatus[];
  reverseDns: { enabled: boolean; timeoutMs: number; cacheSeconds: number; perPage: number };
}

export function namesStatus(names: Names = consoleNames()): ApiNamesStatus {
  return {
    files: names.status(),
    reverseDns: { enabled: consoleReverseDns() !== undefined, timeoutMs: REVERSE_DNS_TIMEOUT_MS, cacheSeconds: REVERSE_DNS_TTL_MS / 1000, perPage: REVERSE_DNS_PER_PAGE },
  };
}

/** GET /api/names/reverse?addresses=A,B,...: the addresses of one page (at most REVERSE_DNS_PER_PAGE). */
export const reverseNamesQuerySchema = z.strictObject({
  addresses: z
    .string()
    .transform((text) => [...new Set(text.split(',').map((a) => a.trim()).filter(Boolean))])
    .pipe(
      z
        .array(z.string().refine((a) => isIP(a) !== 0, { message: 'each address must be an IPv4 or IPv6 address' }))
        .min(1, 'give at least one address')
        .max(REVERSE_DNS_PER_PAGE, `at most ${REVERSE_DNS_PER_PAGE} addresses per request`),
    ),
});
export type ReverseNamesQuery = z.output<typeof reverseNamesQuerySchema>;

export interface ApiReverseNames {
  enabled: boolean;
  /** The addresses with a PTR name, as the names maps of pages spell them (source 'dns'). */
  names: Record<string, HostName>;
  /** Addresses not answered yet (the lookup limit was reached): ask again later. */
  pending: string[];
}

/** PTR names for these addresses: cached ones at once, the others looked up (each at most the 1 s timeout). */
export async function reverseNames(query: ReverseNamesQuery, reverse: ReverseDns | undefined = consoleReverseDns()): Promise<ApiReverseNames> {
  if (!reverse) return { enabled: false, names: {}, pending: [] };
  const answers = await reverse.lookup(query.addresses);
  const out: ApiReverseNames = { enabled: true, names: {}, pending: [] };
  for (const [address, answer] of answers) {
    if (answer === 'pending') out.pending.push(address);
    else if (answer.name !== null) out.names[address] = { name: answer.name, source: 'dns' };
  }
  return out;
}
