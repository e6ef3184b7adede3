// The uplink filters (wan=, stale=) wherever filters go: the list, the export and delete-matching; and the WAN,
// stale and external-address fields of every connection the API returns from a snapshot.
import { IPS, ValidationError, externalAddress, type Connection, type ExternalKind, type EntryRef, type Filter, type RowMask, type Snapshot } from '@/lib/conntrack';
import { logger } from '@/lib/observability';
import { deletionIntents } from '@/lib/history';
import { rowToApi, toApiConnection, type ApiConnection, type ApiExternal } from './connection';
import type { DeleteOutcome } from './connections';
import { counted, failedKind, PREVIEW_ROWS, recordDeleted, reportFailures } from './delete-outcome';
import type { MacLookup } from './names';
import { consoleService } from './service';
import { NO_WAN, UNKNOWN_WAN, connectionUplink, hasUplinkFilter, matchesUplink, uplinkColumnsInTurns, uplinkMask, uplinkOfRows, uplinkService, wanName, type UplinkColumns, type UplinkFilter, type UplinkService } from './uplinks';
import { parseAddress } from '@/lib/netlink/address';
import { bytesKey } from '@/lib/router';

/** Splits the uplink fields off a parsed query or filter. */
export function uplinkFilterOf<T extends UplinkFilter>(fields: T): [UplinkFilter | undefined, Omit<T, 'wan' | 'stale'>] {
  const { wan, stale, ...rest } = fields;
  const uplink: UplinkFilter = {};
  if (wan !== undefined) uplink.wan = wan;
  if (stale !== undefined) uplink.stale = stale;
  return [hasUplinkFilter(uplink) ? uplink : undefined, rest];
}

/** 400 unless `wan` names a WAN (or none / unknown). */
export function checkWan(service: UplinkService, wan: string | undefined): void {
  if (wan === undefined) return;
  const names = service.wans.wans().map((w) => w.name);
  if (wan === NO_WAN || wan === UNKNOWN_WAN || names.includes(wan)) return;
  throw new ValidationError('wan', `unknown WAN "${wan}" (known: ${[...names, NO_WAN, UNKNOWN_WAN].join(', ')})`);
}

/** The router service, or undefined (logged) when it cannot be opened: lists still work, without WAN fields. */
export async function optionalService(): Promise<UplinkService | undefined> {
  try {
    return await uplinkService();
  } catch (error) {
    logger().warn({ err: error }, 'the router view is unavailable: connections are shown without their WAN');
    return undefined;
  }
}

/** The neighbour table's MAC of an address, for the names beside a page (none while the router view is unavailable). */
export async function neighbourMacs(): Promise<MacLookup> {
  const service = await optionalService();
  if (!service) return () => undefined;
  return (address) => {
    const parsed = parseAddress(address);
    return parsed ? service.router.macOf(parsed.bytes) : undefined;
  };
}

/** Who holds or held an external address, now. */
function externalOf(service: UplinkService, address: string, kind: ExternalKind): ApiExternal {
  const key = bytesKey(parseAddress(address)!.bytes);
  const owner = service.wans.ownerOfKey(key);
  const held = service.router.holderOfKey(key) !== undefined;
  const external: ApiExternal = { address, kind, wan: owner?.wan ?? null, held };
  if (owner?.until && !owner.current) external.until = owner.until.toISOString();
  return external;
}

/** What the router adds to a snapshot's rows: the WAN and stale columns, and who holds an external address. */
export interface RowUplink {
  columns: UplinkColumns;
  external: (address: string, kind: ExternalKind) => ApiExternal;
}

function withExternal(external: RowUplink['external'], api: ApiConnection): ApiConnection {
  const status = (api.status.includes('SRC_NAT') ? IPS.SRC_NAT : 0) | (api.status.includes('DST_NAT') ? IPS.DST_NAT : 0);
  const found = externalAddress({ status, original: api.original, reply: api.reply });
  if (found) api.external = external(found.address, found.kind);
  return api;
}

const externalFor =
  (service: UplinkService): RowUplink['external'] =>
  (address, kind) =>
    externalOf(service, address, kind);

/** One connection read live (the details), with its WAN, staleness and external address; as it is when the router view is unavailable. */
export async function withUplink(connection: Connection, api: ApiConnection): Promise<ApiConnection> {
  const service = await optionalService();
  return service ? withExternal(externalFor(service), Object.assign(api, connectionUplink(connection, service))) : api;
}

/** How a snapshot row becomes the API's ApiConnection: with its WAN, staleness and external address when the router view is there. */
export function rowWithUplink(snapshot: Snapshot, uplink: RowUplink | undefined): (row: number) => ApiConnection {
  if (!uplink) return (r) => rowToApi(snapshot, r);
  const { columns, external } = uplink;
  return (r) => {
    const api = rowToApi(snapshot, r);
    api.wan = wanName(columns, r);
    api.stale = columns.stale[r] === 1;
    return withExternal(external, api);
  };
}

/**
 * The row mask of the uplink filter (400 for an unknown WAN), how a row becomes an annotated ApiConnection, and
 * the parts of that annotation (undefined while the router view is unavailable) for writers that skip the object.
 */
export async function uplinkWhere(
  snapshot: Snapshot,
  uplink: UplinkFilter | undefined,
): Promise<{ where: RowMask | undefined; row: (row: number) => ApiConnection; uplink: RowUplink | undefined }> {
  const service = uplink ? await uplinkService() : await optionalService();
  if (!service) return { where: undefined, row: rowWithUplink(snapshot, undefined), uplink: undefined };
  checkWan(service, uplink?.wan);
  const columns = await uplinkColumnsInTurns(snapshot, service);
  const rowUplink: RowUplink = { columns, external: externalFor(service) };
  return { where: uplink ? uplinkMask(columns, uplink) : undefined, row: rowWithUplink(snapshot, rowUplink), uplink: rowUplink };
}

/**
 * uplinkWhere() for a page: the rows become ApiConnections a page at a time. Without an uplink filter the WAN is
 * decided for the page's rows alone: the whole columns (a pass over every row, 50-100 ms at a million entries)
 * are left to what needs them (a filter, the overview's WAN grouping, an export), not paid by a new snapshot's
 * first page.
 */
export async function pageUplink(snapshot: Snapshot, uplink: UplinkFilter | undefined): Promise<{ where: RowMask | undefined; rows: (rows: readonly number[]) => ApiConnection[] }> {
  if (uplink) {
    const { where, row } = await uplinkWhere(snapshot, uplink);
    return { where, rows: (rows) => rows.map((r) => row(r)) };
  }
  const service = await optionalService();
  if (!service) return { where: undefined, rows: (rows) => rows.map((r) => rowToApi(snapshot, r)) };
  const external = externalFor(service);
  return {
    where: undefined,
    rows: (rows) => {
      const values = uplinkOfRows(snapshot, service, rows);
      return rows.map((r, i) => withExternal(external, Object.assign(rowToApi(snapshot, r), values[i])));
    },
  };
}

/** Delete-matching with an uplink filter: the kernel filters what it can, the console the WAN and staleness. */
export async function deleteByUplinkFilter(filter: Filter, uplink: UplinkFilter, dryRun: boolean, user: string | undefined): Promise<DeleteOutcome> {
  const service = await uplinkService();
  checkWan(service, uplink.wan);
  const { conntrack } = consoleService();
  const matched: Connection[] = [];
  const preview: ApiConnection[] = [];
  for await (const batch of conntrack.dump(filter)) {
    for (const connection of batch) {
      const value = connectionUplink(connection, service);
      if (!matchesUplink(value, uplink)) continue;
      matched.push(connection);
      if (dryRun && preview.length < PREVIEW_ROWS) preview.push(withExternal(externalFor(service), { ...toApiConnection(connection), ...value }));
    }
  }
  if (dryRun) return { dryRun, basis: 'live', matched: matched.length, deleted: 0, alreadyGone: 0, failed: 0, preview };
  const refs: EntryRef[] = matched.map((c) => ({ family: c.family, original: c.original, zone: c.zone, id: c.id }));
  deletionIntents().expectIds(refs.map((ref) => ref.id), user);
  const result = await conntrack.deleteMany(refs).catch((error: unknown) => failedKind('filter', error));
  reportFailures(result.failed);
  const refused = new Set(result.failed.map((failure) => failure.entry.id));
  recordDeleted({ connections: matched.filter((c) => !refused.has(c.id)) }, { cause: 'admin', user });
  counted('filter', result.deleted);
  return { dryRun, basis: 'live', matched: refs.length, deleted: result.deleted, alreadyGone: result.alreadyGone, failed: result.failed.length, method: 'dump-delete' };
}
