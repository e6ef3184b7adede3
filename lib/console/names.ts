// Names beside the numbers in API answers: host names (DHCP leases, /etc/hosts) for the addresses a page shows and
// /etc/services names for its service ports, as maps next to the rows (the rows themselves stay as they are).
import { config } from '@/lib/config';
import { parsePrefix, type Prefix, type ToFilterOptions } from '@/lib/conntrack';
import { Names, type HostName } from '@/lib/names';
import { logger } from '@/lib/observability';
import { processValue } from '@/lib/process';
import type { ApiConnectionBase } from './connection';

export interface PageNames {
  /** Address (as the rows spell it) -> its name, where a file names it. */
  names: Record<string, HostName>;
  /** "tcp/443" -> "https", for the service ports of the rows (the original destination port). */
  services: Record<string, string>;
}

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

/** Names and service names for the addresses and ports of these rows. */
export function namesFor(rows: readonly ApiConnectionBase[], names: Names = consoleNames()): PageNames {
  const out: PageNames = { names: {}, services: {} };
  const address = (text: string | undefined) => {
    if (text === undefined || text in out.names) return;
    const host = names.nameOf(text);
    if (host) out.names[text] = host;
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
