// What an expectation query may ask for, as data: the zod schema the API and the UI share, and the one evaluator.
import { z } from 'zod';
import { parseAddress, prefixContains, type Prefix } from '@/lib/netlink/address';
import { helperName, portRange, prefix, type PortRange } from './filter';
import type { Expectation, Family, Tuple } from './types';

export interface ExpectationFilter {
  family?: Family;
  /** The master's helper (CTA_EXPECT_HELP_NAME), exactly. */
  helper?: string;
  /** The kernel id of the master connection. */
  master?: number;
  /** Any address of the expected tuple (where its mask is not zero) or of the master. */
  address?: Prefix;
  /** Any port of the expected tuple (where its mask is not zero) or of the master. */
  port?: PortRange;
}

const connectionId = z
  .union([z.number(), z.string().trim().regex(/^\d+$/, 'master must be a connection id').transform(Number)])
  .pipe(z.number().int('master must be a connection id').min(0, 'master must be a connection id').max(0xffffffff, 'master must be a connection id'));

export const expectationFilterShape = {
  family: z.enum(['ipv4', 'ipv6'], { message: 'expected ipv4 or ipv6' }).optional(),
  helper: helperName.optional(),
  master: connectionId.optional(),
  address: prefix.optional(),
  port: portRange.optional(),
};

export const expectationFilterSchema = z.strictObject(expectationFilterShape);

/** Schema output -> ExpectationFilter (absent fields dropped). */
export function toExpectationFilter(parsed: z.output<typeof expectationFilterSchema>): ExpectationFilter {
  const filter: ExpectationFilter = {};
  if (parsed.family) filter.family = parsed.family;
  if (parsed.helper !== undefined) filter.helper = parsed.helper;
  if (parsed.master !== undefined) filter.master = parsed.master;
  if (parsed.address) filter.address = parsed.address;
  if (parsed.port) filter.port = parsed.port;
  return filter;
}

function addressIn(filter: Prefix, family: Family, text: string): boolean {
  if (filter.family !== family) return false;
  const address = parseAddress(text);
  return address !== undefined && prefixContains(filter, address.bytes);
}

const isZeroAddress = (text: string): boolean => text === '0.0.0.0' || text === '::';

/** The addresses and ports an expected tuple pins down: a part whose mask is all zero matches anything. */
function pinned(tuple: Tuple, mask: Tuple): { addresses: string[]; ports: number[] } {
  const addresses: string[] = [];
  const ports: number[] = [];
  if (!isZeroAddress(mask.src)) addresses.push(tuple.src);
  if (!isZeroAddress(mask.dst)) addresses.push(tuple.dst);
  if (mask.sport && tuple.sport !== undefined) ports.push(tuple.sport);
  if (mask.dport && tuple.dport !== undefined) ports.push(tuple.dport);
  return { addresses, ports };
}

/**
 * Whether an expectation satisfies every condition. `masterId` is the id of its master connection, when the
 * caller could find it (a master that is gone matches no `master` condition).
 */
export function matchesExpectation(filter: ExpectationFilter, exp: Expectation, masterId?: number): boolean {
  if (filter.family && exp.family !== filter.family) return false;
  if (filter.helper !== undefined && exp.helper !== filter.helper) return false;
  if (filter.master !== undefined && masterId !== filter.master) return false;
  if (filter.address || filter.port) {
    const expected = pinned(exp.tuple, exp.mask);
    if (filter.address) {
      const address = filter.address;
      const all = [...expected.addresses, exp.master.src, exp.master.dst];
      if (!all.some((a) => addressIn(address, exp.family, a))) return false;
    }
    if (filter.port) {
      const { min, max } = filter.port;
      const all = [...expected.ports, exp.master.sport, exp.master.dport];
      if (!all.some((p) => p !== undefined && p >= min && p <= max)) return false;
    }
  }
  return true;
}

/** Whether two tuples name the same direction of the same connection (addresses, protocol, ports, ICMP). */
export function sameTuple(a: Tuple, b: Tuple): boolean {
  return (
    a.src === b.src &&
    a.dst === b.dst &&
    a.protocol === b.protocol &&
    a.sport === b.sport &&
    a.dport === b.dport &&
    a.icmp?.type === b.icmp?.type &&
    a.icmp?.code === b.icmp?.code &&
    a.icmp?.id === b.icmp?.id
  );
}
