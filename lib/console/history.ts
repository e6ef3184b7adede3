// What the history routes do, one function per route: the routes only parse, authorise and call these.
import { AUDIT_MAX_IDS } from '@/lib/auth';
import { externalEndpoint, IPS, matches, toFilter, type Connection, type Filter } from '@/lib/conntrack';
import { connectionOf, historyRuntime, type HistoryQuery, type HistoryRow, type LiveChange } from '@/lib/history';
import type { AuditSpec } from './audit';
import { openFeed } from '@/lib/lifecycle';
import { apiConnectionBase, toApiConnection } from './connection';
import { consoleNames, namesFor } from './names';
import { consoleFilterOptions } from './filter-options';
import { exportResponse, fileStamp, HISTORY_COLUMNS, NAT_LOOKUP_COLUMNS } from './export';
import type { HistoryDeleteBody, HistoryExportQuery, HistoryListQuery, LiveQuery, NatLookupQuery } from './history-schemas';
import type { ApiConnectionStatus, ApiHistoryEntry, ApiHistoryPage, ApiHistoryStatus, ApiNatLookup, ApiNatMatch, LiveChanges } from './history-types';
import { consoleService } from './service';
import { neighbourMacs } from './uplink-queries';

const EXPORT_CHUNK_ROWS = 2000;
const LIVE_TICK_MS = 500;
const LIVE_HEARTBEAT_MS = 15_000;
/** New connections listed per live message; the rest are counted. */
const LIVE_MAX_ADDED = 50;

const isoOf = (ms: number): string => new Date(ms).toISOString();
const iso = (ms: number | null): string | null => (ms === null ? null : isoOf(ms));

export function toApiHistory(r: HistoryRow): ApiHistoryEntry {
  const connection = connectionOf(r);
  const entry: ApiHistoryEntry = { ...apiConnectionBase(connection), key: r.key, endedAt: isoOf(r.ended_at), cause: r.cause };
  if (r.ended_after !== null && r.ended_before !== null) {
    entry.endedAfter = isoOf(r.ended_after);
    entry.endedBefore = isoOf(r.ended_before);
  }
  if (r.started_at !== null) entry.durationMs = Math.max(0, r.ended_at - r.started_at);
  // Who sent the first FIN was remembered from the events before the end (the row keeps no TCP flags).
  if (r.closed_by) entry.closedBy = r.closed_by;
  const external = externalEndpoint(connection);
  if (external) entry.external = external;
  if (r.deleted_by) entry.deletedBy = r.deleted_by;
  return entry;
}

export function historyStatus(): ApiHistoryStatus {
  const { recorder, store, config } = historyRuntime();
  const gaps = store.gaps();
  return {
    recorder: recorder?.status() ?? null,
    ...(recorder ? {} : { disabled: 'the recorder is off (CONNTRACK_HISTORY=off)' }),
    loss: { lostEvents: gaps.lostEvents, overflows: gaps.overflows, since: iso(gaps.since), last: iso(gaps.last), down: gaps.down, namespaceReplaced: gaps.namespaceReplaced, unwrittenRows: gaps.unwrittenRows },
    retention: { days: config.retentionDays, maxRows: config.maxRows },
    rows: store.size,
  };
}

function queryOf(input: Omit<HistoryListQuery, 'limit' | 'offset'>): Omit<HistoryQuery, 'limit' | 'offset'> {
  const { from, to, cause, sort, order, external, externalPort, ...filter } = input;
  return { filter: toFilter(filter, consoleFilterOptions()), from, to, causes: cause, external, externalPort, sort, order };
}

export async function listHistory(input: HistoryListQuery): Promise<ApiHistoryPage> {
  const { limit, offset, ...rest } = input;
  const runtime = historyRuntime();
  // Rows still in the recorder's buffer belong in the answer (a connection that just ended).
  await runtime.recorder?.flushed();
  const { matched, exact, rows } = runtime.store.query({ ...queryOf(rest), limit, offset });
  const items = rows.map(toApiHistory);
  return { matched, exact, items, status: historyStatus(), ...namesFor(items, { macOf: await neighbourMacs() }) };
}

export async function deleteHistory(body: HistoryDeleteBody): Promise<{ deleted: number }> {
  const runtime = historyRuntime();
  await runtime.recorder?.flushed();
  return { deleted: runtime.store.deleteKeys([...new Set(body.keys)]) };
}

export async function clearHistory(): Promise<{ deleted: number }> {
  const runtime = historyRuntime();
  await runtime.recorder?.flushed();
  return { deleted: runtime.store.clear() };
}

export const historyDeleteAudit: AuditSpec<HistoryDeleteBody, unknown, { deleted: number }> = {
  intent: ({ input }) => {
    const keys = input.keys.slice(0, AUDIT_MAX_IDS);
    return { action: 'history.clear', target: `${input.keys.length} history rows`, details: { scope: 'selected', keys, keyCount: input.keys.length, keysTruncated: keys.length < input.keys.length } };
  },
  result: (outcome) => ({ affected: outcome.deleted, details: { count: outcome.deleted } }),
};

export const historyClearAudit: AuditSpec<unknown, unknown, { deleted: number }> = {
  intent: () => ({ action: 'history.clear', target: 'whole history', details: { scope: 'all' } }),
  result: (outcome) => ({ affected: outcome.deleted, details: { count: outcome.deleted } }),
};

/** The filtered, sorted history as a CSV or JSON download, read a chunk at a time (never an open cursor while the recorder writes). */
export async function exportHistory(input: HistoryExportQuery): Promise<Response> {
  const { format, ...rest } = input;
  const runtime = historyRuntime();
  await runtime.recorder?.flushed();
  const query = queryOf(rest);
  let offset = 0;
  return exportResponse({
    format,
    columns: HISTORY_COLUMNS,
    nextChunk: () => {
      const { rows } = runtime.store.query({ ...query, limit: EXPORT_CHUNK_ROWS, offset });
      offset += rows.length;
      return rows.map(toApiHistory);
    },
    filename: `history-${fileStamp(new Date())}`,
  });
}

/** Rows a NAT lookup lists at most (an abuse report names one address, port and time: a handful match). */
const NAT_LOOKUP_MAX = 1000;

/** The LAN side of a NATed connection: its source after SNAT, the real server (reply source) after DNAT. */
function lanOf(c: Connection): { address: string; port?: number } {
  const side = c.status & IPS.SRC_NAT ? { address: c.original.src, port: c.original.sport } : { address: c.reply.src, port: c.reply.sport };
  return side.port === undefined ? { address: side.address } : side;
}

/**
 * "Who used EXTERNAL[:PORT] at TIME?": connections whose external address (and port) is that and whose life overlaps
 * [at - window, at + window], from the history and from the latest snapshot (still open). As JSON, or a CSV/JSON download.
 */
export async function natLookup(input: NatLookupQuery): Promise<ApiNatLookup | Response> {
  const { address, port, at, window, protocol, format } = input;
  const from = at - window * 1000;
  const to = at + window * 1000;
  const runtime = historyRuntime();
  await runtime.recorder?.flushed();
  const ports = port === undefined ? undefined : { min: port, max: port };
  const filter: Filter = protocol === undefined ? {} : { protocol };
  const page = runtime.store.query({ filter, external: address, externalPort: ports, activeFrom: from, activeTo: to, limit: NAT_LOOKUP_MAX, offset: 0 });
  const ended: ApiNatMatch[] = page.rows.map((row) => {
    const entry = toApiHistory(row);
    const connection = connectionOf(row);
    const { key, endedAt, endedAfter, durationMs, cause, deletedBy, external: _external, endedBefore: _before, ...base } = entry;
    const match: ApiNatMatch = { ...base, source: 'history', lan: lanOf(connection), external: externalEndpoint(connection) ?? { address: address.text }, endedAt, cause, key };
    if (endedAfter) match.endedAfter = endedAfter;
    if (durationMs !== undefined) match.durationMs = durationMs;
    if (deletedBy) match.deletedBy = deletedBy;
    return match;
  });
  // Still open: a live dump (kernel-filtered where it can be) of the entries with that address on the external side.
  const tableAt = new Date();
  const open: ApiNatMatch[] = [];
  const seen = new Set<number>();
  const { conntrack } = consoleService();
  for (const side of [{ replyDst: address }, { dst: address }] satisfies Filter[]) {
    for await (const batch of conntrack.dump({ ...filter, family: address.family, ...side })) {
      for (const connection of batch) {
        const external = externalEndpoint(connection);
        if (!external || external.address !== address.text || (port !== undefined && external.port !== port)) continue;
        if (connection.id !== undefined && seen.has(connection.id)) continue;
        if (connection.id !== undefined) seen.add(connection.id);
        const started = connection.timestamp ? Number(connection.timestamp.start / 1_000_000n) : undefined;
        if (started !== undefined && started > to) continue;
        const { timeout: _timeout, use: _use, ...base } = toApiConnection(connection);
        open.push({ ...base, source: 'table', lan: lanOf(connection), external });
      }
    }
  }
  const items = [...open, ...ended];
  // The abuse report's answer is a machine on the LAN: its name (and MAC) from the lease and hosts files, else its
  // MAC from the neighbour table. Both say who holds the address now, not at `at` (the docs say so).
  const names = consoleNames();
  const macOf = await neighbourMacs();
  for (const match of items) {
    const host = names.nameOf(match.lan.address);
    if (host) match.lanName = host.name;
    const mac = host?.mac ?? macOf(match.lan.address);
    if (mac) match.lanMac = mac;
  }
  const query = { address: address.text, ...(port !== undefined ? { port } : {}), at: isoOf(at), windowSeconds: window, ...(protocol !== undefined ? { protocol: String(protocol) } : {}) };
  if (format) {
    let done = false;
    return exportResponse({
      format,
      columns: NAT_LOOKUP_COLUMNS,
      nextChunk: () => (done ? [] : ((done = true), items)),
      filename: `nat-lookup-${address.text.replace(/:/g, '-')}${port !== undefined ? `-${port}` : ''}-${fileStamp(new Date(at))}`,
    });
  }
  return { query, items, tableAt: tableAt.toISOString(), historyMatched: page.matched, historyExact: page.exact, ...namesFor(items, { names, macOf }) };
}

/** Whether a connection id is in the table now, ended (its latest history row), or unknown to both. */
export async function connectionStatus(id: number): Promise<ApiConnectionStatus> {
  const { conntrack, snapshots } = consoleService();
  const snapshot = snapshots.peek();
  const row = snapshot ? snapshot.rowOfId(id) : -1;
  const known = snapshot && row >= 0 ? snapshot.connection(row) : undefined;
  const live = known ? await conntrack.get({ family: known.family, original: known.original, zone: known.zone, id }) : await conntrack.findById(id);
  if (live) return { id, state: 'active', connection: toApiConnection(live) };
  const runtime = historyRuntime();
  await runtime.recorder?.flushed();
  const ended = runtime.store.latestById(id);
  return ended ? { id, state: 'ended', entry: toApiHistory(ended) } : { id, state: 'unknown' };
}

/** Server-Sent Events for the rows on screen: "changes" (updated, gone, added) every LIVE_TICK_MS, "overflow", "status". */
export function liveStream(input: LiveQuery, signal: AbortSignal): Response {
  const { ids, new: wantNew, ...filterFields } = input;
  const watched = new Set(ids ?? []);
  const filter: Filter = toFilter(filterFields, consoleFilterOptions());
  const { recorder } = historyRuntime();
  const encoder = new TextEncoder();
  let cleanup = () => {};
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (event: string, data: unknown) => {
        try {
          controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
        } catch {
          cleanup();
        }
      };
      send('status', historyStatus());
      // Nothing to watch (no ids, no new connections asked for), or nothing to watch with: the status is the answer.
      if (!recorder || (!watched.size && !wantNew)) {
        controller.close();
        return;
      }
      const updated = new Map<number, ReturnType<typeof toApiConnection>>();
      let gone: LiveChanges['gone'] = [];
      let added: LiveChanges['added'] = [];
      let addedMore = 0;
      const onChange = (change: LiveChange) => {
        const id = change.connection.id;
        if (change.kind === 'destroy') {
          if (id !== undefined && watched.has(id)) {
            updated.delete(id);
            gone.push({ id, cause: change.cause, endedAt: new Date(change.endedAt).toISOString() });
          }
        } else if (change.kind === 'update') {
          if (id !== undefined && watched.has(id)) updated.set(id, toApiConnection(change.connection));
        } else if (wantNew && matches(filter, change.connection)) {
          if (added.length < LIVE_MAX_ADDED) added.push(toApiConnection(change.connection));
          else addedMore++;
        }
      };
      const onOverflow = (overflow: { overflows: number; at: number }) => send('overflow', { overflows: overflow.overflows, at: new Date(overflow.at).toISOString() });
      const tick = setInterval(() => {
        if (!updated.size && !gone.length && !added.length && !addedMore) return;
        const changes: LiveChanges = { updated: [...updated.values()], gone, added, addedMore };
        updated.clear();
        gone = [];
        added = [];
        addedMore = 0;
        send('changes', changes);
      }, LIVE_TICK_MS);
      const heartbeat = setInterval(() => {
        try {
          controller.enqueue(encoder.encode(': keep-alive\n\n'));
        } catch {
          cleanup();
        }
      }, LIVE_HEARTBEAT_MS);
      recorder.live.on('change', onChange);
      recorder.live.on('overflow', onOverflow);
      const end = () => {
        cleanup();
        try {
          controller.close();
        } catch {
          // Already closed.
        }
      };
      let unregister = () => {};
      cleanup = () => {
        clearInterval(tick);
        clearInterval(heartbeat);
        recorder.live.off('change', onChange);
        recorder.live.off('overflow', onOverflow);
        unregister();
        cleanup = () => {};
      };
      signal.addEventListener('abort', end);
      // A shutdown ends the feed at once; the browser's EventSource reconnects to the restarted server.
      unregister = openFeed(() => {
        send('shutdown', { reconnect: true });
        end();
      });
    },
    cancel() {
      cleanup();
    },
  });
  return new Response(stream, {
    headers: { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store, no-transform', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' },
  });
}
