// What the connections API does, one function per route: the routes only parse, authorize and call these.
import { answerPage, IPS, toFilter, type Connection, type EntryRef, type Filter, type Snapshot, type Stats } from '@/lib/conntrack';
import type { SnapshotSummary } from '@/lib/conntrack';
import { rowToApi, snapshotSummary, toApiConnection, toApiEntryRef, type ApiConnection, type ApiEntryRef, type ApiSnapshot } from './connection';
import { addressesNamed, namesFor, type PageNames } from './names';
import { exportStream, fileStamp } from './export';
import { connectionExportBody, warmConnectionExport } from './connection-export';
import { ConnectionGoneError } from './errors';
import { listQuerySchema, type DeleteBody, type ExportQuery, type ExternalAddressesQuery, type FlushBody, type ListQuery, type StatsQuery } from './schemas';
import { toApiExpectation, type ApiExpectation } from './expectations';
import { consoleFilterOptions } from './filter-options';
import { deleteByUplinkFilter, neighbourMacs, pageUplink, uplinkFilterOf, uplinkWhere, withUplink } from './uplink-queries';
import type { UplinkFilter } from './uplinks';
import { counted, failedKind, PREVIEW_ROWS, recordDeleted, reportFailures } from './delete-outcome';
import { consoleService } from './service';
import type { SnapshotCounters } from './counters';
import { deletionIntents } from '@/lib/history';
import { tableAlarm, type AlarmLevel } from './alarm';
import { statsRuntime } from './stats';
import { config } from '@/lib/config';
import { timedJson } from './server-timing';

export { PREVIEW_ROWS };

export interface ConnectionPage extends PageNames {
  snapshot: ApiSnapshot;
  matched: number;
  items: ApiConnection[];
}

/**
 * A page of connections. Once the snapshot is there (taking the first one is not a page: its history reconcile
 * must not wait for it), work in the background - the history's, a snapshot's warm-up - waits until it is answered.
 */
export async function listConnections(query: ListQuery): Promise<ConnectionPage> {
  const { snapshot: snapshotId, q, sort, order, limit, offset, ...fields } = query;
  const [uplink, filter] = uplinkFilterOf(fields);
  const snapshot = await consoleService().snapshots.get(snapshotId);
  warmExport(snapshot);
  return answerPage(async () => {
    const { where, rows } = await pageUplink(snapshot, uplink);
    const page = await snapshot.page({ filter: toFilter(filter, consoleFilterOptions()), text: q, textAddresses: addressesNamed(q), sort, order, offset, limit, where });
    const items = rows(page.rows);
    return { snapshot: snapshotSummary(snapshot), matched: page.matched, items, ...namesFor(items, { macOf: await neighbourMacs() }) };
  });
}

/** GET /api/connections' answer, with the time the page took as Server-Timing (what bench:api reports). */
export const listConnectionsResponse = (query: ListQuery): Promise<Response> => timedJson('connections', () => listConnections(query));

export async function refreshSnapshot(): Promise<{ snapshot: ApiSnapshot }> {
  const snapshot = await consoleService().snapshots.refresh();
  warmExport(snapshot);
  return { snapshot: snapshotSummary(snapshot) };
}

/** The export's one warm-up of the process, on its first big snapshot; it writes nothing anyone reads (a failure only leaves the first export as it was). */
const warmExport = (snapshot: Snapshot): void => void warmConnectionExport(snapshot).catch(() => undefined);

/** Ids looked up one by one (a scan each); more, and the snapshot's id order is built first, in turns. */
const SCANNED_IDS = 8;

/** Row of each id in the snapshot. */
async function rowsById(snapshot: Snapshot, ids: readonly number[]): Promise<Map<number, number>> {
  if (ids.length > SCANNED_IDS) await snapshot.prepare({ sort: 'id' });
  const found = new Map<number, number>();
  for (const id of ids) {
    const row = snapshot.rowOfId(id);
    if (row >= 0) found.set(id, row);
  }
  return found;
}

const refOf = (c: { family: EntryRef['family']; original: EntryRef['original']; zone: number; id?: number }): EntryRef => ({
  family: c.family,
  original: c.original,
  zone: c.zone,
  id: c.id,
});

const idOf = (ref: EntryRef): number => ref.id ?? 0;
/** The errno of a delete whose entry was no longer there. */
const ENOENT = 2;

/** The entry as the kernel has it now. */
export interface ConnectionDetails extends PageNames {
  connection: ApiConnection;
  /** An expected (RELATED) connection's master: its id while it is in the table, null once it is gone. */
  master?: { id: number | null };
  /** The expectations this connection's helper created (what it waits for). */
  expectations: ApiExpectation[];
}

/** The entry as the kernel has it now, with its master (RELATED) and its expectations. */
export async function getConnection(id: number): Promise<ConnectionDetails> {
  const { conntrack } = consoleService();
  const connection = await conntrack.get(refOf(await entryOf(id)));
  if (!connection) throw new ConnectionGoneError(id);
  const api = await withUplink(connection, toApiConnection(connection));
  const details: ConnectionDetails = { connection: api, expectations: [], ...namesFor([api], { macOf: await neighbourMacs() }) };
  if (connection.master) {
    const master = await conntrack.get({ family: connection.family, original: connection.master, zone: connection.zone });
    details.master = { id: master?.id ?? null };
  }
  if (connection.helper !== undefined) details.expectations = (await conntrack.expectations.list({ master: id })).map(toApiExpectation);
  return details;
}

/** The entry the snapshot (or a dump) holds for this id, and its exact name. */
async function entryOf(id: number): Promise<Connection> {
  const { conntrack, snapshots } = consoleService();
  const snapshot = snapshots.peek();
  const row = snapshot ? (await rowsById(snapshot, [id])).get(id) : undefined;
  const connection = snapshot && row !== undefined ? snapshot.connection(row) : await conntrack.findById(id);
  if (!connection) throw new ConnectionGoneError(id);
  return connection;
}

export async function deleteConnection(id: number, user?: string): Promise<{ id: number; deleted: true }> {
  // The history records the DESTROY this causes as an administrator's delete, by this user.
  deletionIntents().expectIds([id], user);
  const connection = await entryOf(id);
  const outcome = await consoleService().conntrack.delete(refOf(connection)).catch((error: unknown) => failedKind('id', error));
  if (outcome === 'gone') throw new ConnectionGoneError(id);
  recordDeleted({ connections: [connection] }, { cause: 'admin', user });
  counted('id', 1);
  return { id, deleted: true };
}

export interface DeleteOutcome {
  dryRun: boolean;
  /** What `matched` was counted on: the snapshot the ids came from, or the live table (filter). */
  basis: 'snapshot' | 'live';
  matched: number;
  deleted: number;
  /** Ids not in the snapshot, or entries gone from the table by the time of the delete. */
  alreadyGone: number;
  /** Entries the kernel refused to delete (other than already gone). */
  failed: number;
  /** Dry run only: the first PREVIEW_ROWS entries that would be deleted. */
  preview?: ApiConnection[];
  /** Filter deletes: how the kernel was asked. */
  method?: 'kernel-flush' | 'dump-delete';
  /** Ids deletes: the ids that went (a dry run: that the kernel still has), in the order given. */
  deletedIds?: number[];
  /** Ids deletes: the ids already gone - not in the snapshot, or no longer in the kernel. */
  goneIds?: number[];
  /** Ids deletes: the ids the kernel refused to delete. */
  failedIds?: number[];
  /** Filter deletes (not dry runs): the first PREVIEW_ROWS entries that went. */
  went?: ApiEntryRef[];
}

async function deleteByIds(ids: readonly number[], snapshotId: string | undefined, dryRun: boolean, user: string | undefined): Promise<DeleteOutcome> {
  const { conntrack, snapshots } = consoleService();
  const snapshot = await snapshots.get(snapshotId);
  const unique = [...new Set(ids)];
  const found = await rowsById(snapshot, unique);
  const notInSnapshot = unique.filter((id) => !found.has(id));
  const rows = [...found.values()];
  const connections = rows.map((row) => snapshot.connection(row));
  const refs = connections.map(refOf);
  if (dryRun) {
    // The confirmation asks the kernel, not the snapshot: rows that went since it was taken are named as gone.
    const present = await conntrack.present(refs);
    const live = rows.filter((_, i) => present[i]);
    const goneIds = [...notInSnapshot, ...refs.filter((_, i) => !present[i]).map(idOf)];
    const preview = live.slice(0, PREVIEW_ROWS).map((row) => rowToApi(snapshot, row));
    const deletedIds = refs.filter((_, i) => present[i]).map(idOf);
    return { dryRun, basis: 'live', matched: live.length, deleted: 0, alreadyGone: goneIds.length, failed: 0, preview, deletedIds, goneIds, failedIds: [] };
  }
  deletionIntents().expectIds(refs.map((ref) => ref.id), user);
  const result = await conntrack.deleteMany(refs).catch((error: unknown) => failedKind('ids', error));
  reportFailures(result.failed);
  const refused = new Set(result.failed.map((failure) => failure.entry.id));
  recordDeleted({ connections: connections.filter((c) => !refused.has(c.id)) }, { cause: 'admin', user });
  counted('ids', result.deleted);
  const byErrno = (test: (errno: number) => boolean) => refs.filter((_, i) => test(result.errnos[i])).map(idOf);
  return {
    dryRun,
    basis: 'snapshot',
    matched: rows.length,
    deleted: result.deleted,
    alreadyGone: notInSnapshot.length + result.alreadyGone,
    failed: result.failed.length,
    deletedIds: byErrno((errno) => errno === 0),
    goneIds: [...notInSnapshot, ...byErrno((errno) => errno === ENOENT)],
    failedIds: byErrno((errno) => errno !== 0 && errno !== ENOENT),
  };
}

async function deleteByFilter(filter: Filter, uplink: UplinkFilter | undefined, dryRun: boolean, user: string | undefined): Promise<DeleteOutcome> {
  if (uplink) return deleteByUplinkFilter(filter, uplink, dryRun, user);
  const { conntrack } = consoleService();
  if (dryRun) {
    // A live dump with the same filter the delete would use, so the preview counts what the delete would remove now.
    let matched = 0;
    const preview: ApiConnection[] = [];
    for await (const batch of conntrack.dump(filter)) {
      for (const connection of batch) if (preview.length < PREVIEW_ROWS) preview.push(toApiConnection(connection));
      matched += batch.length;
    }
    return { dryRun, basis: 'live', matched, deleted: 0, alreadyGone: 0, failed: 0, preview };
  }
  const done = deletionIntents().expectMatching(filter, 'admin', user);
  const result = await conntrack.deleteMatching(filter, { sample: PREVIEW_ROWS }).catch((error: unknown) => failedKind('filter', error)).finally(done);
  reportFailures(result.failed);
  recordDeleted({ filter }, { cause: 'admin', user });
  counted('filter', result.deleted);
  const { matched, deleted, alreadyGone, method } = result;
  return { dryRun, basis: 'live', matched, deleted, alreadyGone, failed: result.failed.length, method, went: result.sample.map(toApiEntryRef) };
}

const deleteFilters = new WeakMap<DeleteBody, Filter>();

/**
 * The Filter of a delete body, resolved once per request: the audit intent records the addresses a host= name
 * stood for, and the delete removes exactly the entries of those addresses even if a lease changes meanwhile.
 */
export function deleteFilter(body: DeleteBody): Filter {
  let filter = deleteFilters.get(body);
  if (!filter) {
    // wan= and stale= are the console's own (uplink-queries.ts): the rest is the kernel's vocabulary.
    filter = toFilter(uplinkFilterOf(body.filter ?? {})[1], consoleFilterOptions());
    deleteFilters.set(body, filter);
  }
  return filter;
}

/** Bulk delete by ids (resolved in a snapshot) or by filter (matched live). The schema has checked everything. */
export async function deleteConnections(body: DeleteBody, user?: string): Promise<DeleteOutcome> {
  if (body.ids) return deleteByIds(body.ids, body.snapshot, body.dryRun, user);
  return deleteByFilter(deleteFilter(body), uplinkFilterOf(body.filter ?? {})[0], body.dryRun, user);
}

export async function flushConnections(body: FlushBody, user?: string): Promise<{ deleted: number }> {
  const filter: Filter = body.family ? { family: body.family } : {};
  const done = deletionIntents().expectMatching(filter, 'flush', user);
  const result = await consoleService().conntrack.flush(body.family).catch((error: unknown) => failedKind('flush', error)).finally(done);
  recordDeleted({ filter }, { cause: 'flush', user });
  counted('flush', result.deleted);
  return result;
}

export interface TableStats extends Stats {
  /** ISO 8601: when the kernel was asked. */
  readAt: string;
  /**
   * The per-CPU counters as read with the snapshot before the one asked about (default: the latest), so that
   * `perCpu - baseline.perCpu` is the increase since the previous snapshot. The first snapshot is its own
   * baseline; null when no reading is known (the server has not taken a snapshot yet).
   */
  baseline: SnapshotCounters | null;
  /** The table alarm and its thresholds (the header colours usage by them). */
  alarm: { level: AlarmLevel; usage: AlarmLevel; warnPercent: number; critPercent: number };
}

/** Table usage, per-CPU counters and the sysctls now, with the counters of the previous snapshot to compare. */
export async function tableStats(query: StatsQuery): Promise<TableStats> {
  statsRuntime();
  const { conntrack, counters } = consoleService();
  const stats = await conntrack.stats();
  const { level, usage } = tableAlarm();
  const { warnPercent, critPercent } = config().alarm;
  return { ...stats, readAt: new Date().toISOString(), baseline: counters.baselineFor(query.snapshot), alarm: { level, usage, warnPercent, critPercent } };
}

export interface ExternalAddress {
  address: string;
  family: 'ipv4' | 'ipv6';
  count: number;
}

/** Reply-direction destinations of SNAT'ed entries (the router's external addresses), most used first. */
export async function externalAddresses(query: ExternalAddressesQuery): Promise<{ snapshot: ApiSnapshot; matched: number; items: ExternalAddress[] }> {
  const { snapshot: snapshotId, ...fields } = query;
  const snapshot = await consoleService().snapshots.get(snapshotId);
  const filter = toFilter(fields, consoleFilterOptions());
  const status = filter.status ?? { names: [], value: 0, mask: 0 };
  filter.status = { names: [...status.names, 'SRC_NAT'], value: status.value | IPS.SRC_NAT, mask: status.mask | IPS.SRC_NAT };
  const rows = snapshot.select(filter);
  const counts = new Map<string, ExternalAddress>();
  for (const row of rows) {
    const address = snapshot.address(row, 3);
    const seen = counts.get(address);
    if (seen) seen.count++;
    else counts.set(address, { address, family: snapshot.familyOf(row), count: 1 });
  }
  const items = [...counts.values()].sort((a, b) => b.count - a.count || a.address.localeCompare(b.address));
  return { snapshot: snapshotSummary(snapshot), matched: rows.length, items };
}

/** The filtered, sorted rows of a snapshot as a CSV or JSON download, rendered a chunk at a time. */
export async function exportConnections(query: ExportQuery): Promise<Response> {
  const { snapshot: snapshotId, q, sort, order, format, ...fields } = query;
  const [uplink, filter] = uplinkFilterOf(fields);
  const snapshot = await consoleService().snapshots.get(snapshotId);
  const { where, uplink: rowUplink } = await uplinkWhere(snapshot, uplink);
  const rowQuery = { filter: toFilter(filter, consoleFilterOptions()), text: q, textAddresses: addressesNamed(q), sort, order, where };
  // The order, the text's rows and the mask built in turns: cursor() would build what is missing at once.
  await snapshot.prepare(rowQuery);
  const rows = snapshot.cursor(rowQuery);
  return exportStream({
    format,
    body: connectionExportBody({ snapshot, rows, format, uplink: rowUplink }),
    filename: `connections-${fileStamp(snapshot.info.takenAt)}`,
    headers: { 'X-Snapshot-Id': snapshot.info.id, 'X-Matched': String(rows.matched) },
  });
}

/** GET /api/connections/summary: only the snapshot to count (default: the latest). */
export const summaryQuerySchema = listQuerySchema.pick({ snapshot: true });

export interface ConnectionSummary extends SnapshotSummary {
  snapshot: ApiSnapshot;
}

/** The header's counts (by protocol, TCP state, family) of one snapshot, in one pass over it. */
export async function connectionSummary(query: { snapshot?: string }): Promise<ConnectionSummary> {
  const snapshot = await consoleService().snapshots.get(query.snapshot);
  return { snapshot: snapshotSummary(snapshot), ...(await snapshot.summary()) };
}
