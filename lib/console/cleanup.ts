// Cleanup by uplink: every entry NATed to a WAN's addresses (current and former, both families), or to given
// addresses. Outbound (SNAT/masquerade to the address) always; inbound port forwards (DNAT to it) only when asked.
// The preview is a live dump with the same selection the delete makes; the delete removes those entries by id.
import { IPS, ValidationError, externalAddress, type Connection, type EntryRef, type Family, type Filter } from '@/lib/conntrack';
import { parseAddress } from '@/lib/netlink/address';
import { logger } from '@/lib/observability';
import { formatAddressBytes } from '@/lib/router';
import { deletionIntents } from '@/lib/history';
import { toApiConnection, toApiEntryRef, type ApiConnection, type ApiEntryRef } from './connection';
import { counted, failedKind, PREVIEW_ROWS, recordDeleted, reportFailures } from './delete-outcome';
import type { CleanupBody } from './schemas';
import { consoleService } from './service';
import { checkWan } from './uplink-queries';
import { uplinkService } from './uplinks';

export interface CleanupPart {
  matched: number;
  deleted: number;
  alreadyGone: number;
  failed: number;
  /** Dry run: the first PREVIEW_ROWS entries. */
  preview?: ApiConnection[];
  /** The first PREVIEW_ROWS entries that went (not in a dry run), for the audit log. */
  went?: ApiEntryRef[];
}

export interface CleanupOutcome {
  dryRun: boolean;
  wan: string | null;
  addresses: { address: string; family: Family; current: boolean }[];
  /** Entries whose source was NATed to one of the addresses. */
  outbound: CleanupPart;
  /** Port forwards (DNAT) to the addresses; null unless `inbound` was asked for. */
  inbound: CleanupPart | null;
  /** Inbound entries left alone (counted so the preview can say they exist). */
  inboundSkipped: number;
  /** The WAN carries the main default route now: the cleanup cuts live connections of the active uplink. */
  activeUplink: boolean;
  warning?: string;
}

/** Canonical text (RFC 5952 for IPv6), as connections carry it. */
const canonical = (text: string): string => {
  const parsed = parseAddress(text);
  if (!parsed) throw new ValidationError('addresses', `"${text}" is not an IPv4 or IPv6 address`);
  return formatAddressBytes(parsed.bytes);
};

const emptyPart = (): CleanupPart => ({ matched: 0, deleted: 0, alreadyGone: 0, failed: 0 });
const refOf = (c: Connection): EntryRef => ({ family: c.family, original: c.original, zone: c.zone, id: c.id });

/** The dump filter for one NAT kind within `narrow`; null when `narrow`'s own status condition excludes that kind. */
function natDump(narrow: Filter, mask: number): Filter | null {
  const name = mask === IPS.SRC_NAT ? 'SRC_NAT' : 'DST_NAT';
  const own = narrow.status;
  if (!own) return { ...narrow, status: { names: [name], value: mask, mask } };
  if (own.mask & mask && !(own.value & mask)) return null;
  return { ...narrow, status: { names: [...own.names, name], value: own.value | mask, mask: own.mask | mask } };
}

export interface CleanupOptions {
  /** Only the entries that also match this filter (a cleanup policy's `filter`). */
  narrow?: Filter;
}

export async function cleanupByUplink(body: CleanupBody, user?: string, options: CleanupOptions = {}): Promise<CleanupOutcome> {
  const service = await uplinkService();
  let addresses: CleanupOutcome['addresses'];
  let activeUplink = false;
  if (body.wan !== undefined) {
    checkWan(service, body.wan);
    const wan = service.wans.wan(body.wan);
    if (!wan) throw new ValidationError('wan', `"${body.wan}" is not a WAN with addresses`);
    addresses = [...wan.addresses.map((a) => ({ address: a.address, family: a.family, current: true })), ...wan.former.map((f) => ({ address: f.address, family: f.family, current: false }))];
    activeUplink = wan.defaultRoute.length > 0;
  } else {
    addresses = [...new Set(body.addresses!.map(canonical))].map((address) => ({ address, family: parseAddress(address)!.family, current: service.router.holderOf(parseAddress(address)!.bytes) !== undefined }));
  }
  const wanted = new Set(addresses.map((a) => a.address));
  const outboundEntries: Connection[] = [];
  const inboundEntries: Connection[] = [];
  const outbound = emptyPart();
  const inbound = emptyPart();
  let inboundSkipped = 0;
  if (body.dryRun) {
    outbound.preview = [];
    inbound.preview = [];
  }
  // Only NATed entries can have an external address: the kernel leaves the routed ones out of the dump.
  const { conntrack, snapshots } = consoleService();
  for (const mask of [IPS.SRC_NAT, IPS.DST_NAT]) {
    const dumpFilter = natDump(options.narrow ?? {}, mask);
    if (!dumpFilter) continue;
    for await (const batch of conntrack.dump(dumpFilter)) {
      for (const connection of batch) {
        const external = externalAddress(connection);
        // An entry with both bits comes in both dumps; its external address is the SNAT one (first dump).
        if (!external || !wanted.has(external.address) || (mask === IPS.DST_NAT && external.kind === 'snat')) continue;
        if (external.kind === 'snat') {
          outboundEntries.push(connection);
          if (outbound.preview && outbound.preview.length < PREVIEW_ROWS) outbound.preview.push(toApiConnection(connection));
        } else if (body.inbound) {
          inboundEntries.push(connection);
          if (inbound.preview && inbound.preview.length < PREVIEW_ROWS) inbound.preview.push(toApiConnection(connection));
        } else {
          inboundSkipped++;
        }
      }
    }
  }
  outbound.matched = outboundEntries.length;
  inbound.matched = inboundEntries.length;
  const outcome: CleanupOutcome = {
    dryRun: body.dryRun,
    wan: body.wan ?? null,
    addresses,
    outbound,
    inbound: body.inbound ? inbound : null,
    inboundSkipped,
    activeUplink,
  };
  if (activeUplink) outcome.warning = 'this cuts live connections of the active uplink';
  if (body.dryRun) return outcome;
  deletionIntents().expectIds([...outboundEntries, ...inboundEntries].map((c) => c.id), user);
  for (const [part, entries] of [[outbound, outboundEntries], [inbound, inboundEntries]] as const) {
    if (entries.length === 0) continue;
    const result = await conntrack.deleteMany(entries.map(refOf)).catch((error: unknown) => failedKind('cleanup', error));
    reportFailures(result.failed);
    const refused = new Set(result.failed.map((failure) => failure.entry.id));
    recordDeleted({ connections: entries.filter((c) => !refused.has(c.id)) }, { cause: 'admin', user });
    counted('cleanup', result.deleted);
    part.deleted = result.deleted;
    part.went = entries.filter((_, i) => result.errnos[i] === 0).slice(0, PREVIEW_ROWS).map(toApiEntryRef);
    part.alreadyGone = result.alreadyGone;
    part.failed = result.failed.length;
  }
  // The stale notice and the Router page count from the latest snapshot: take a new one, so the entries just
  // deleted stop counting at once. A failed dump keeps the old snapshot; the deletes stand either way.
  await snapshots.refresh().catch((error: unknown) => logger().warn({ err: error }, 'no new snapshot after the cleanup'));
  return outcome;
}
