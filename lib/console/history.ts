// What the history routes do, one function per route: the routes only parse, authorise and call these.
import { AUDIT_MAX_IDS } from '@/lib/auth';
import { matches, toFilter, type Filter } from '@/lib/conntrack';
import { connectionOf, historyRuntime, type HistoryQuery, type HistoryRow, type LiveChange } from '@/lib/history';
import type { AuditSpec } from './audit';
import { openFeed } from '@/lib/lifecycle';
import { apiConnectionBase, toApiConnection } from './connection';
import { namesFor } from './names';
import { exportResponse, fileStamp, HISTORY_COLUMNS } from './export';
import type { HistoryDeleteBody, HistoryExportQuery, HistoryListQuery, LiveQuery } from './history-schemas';
import type { ApiConnectionStatus, ApiHistoryEntry, ApiHistoryPage, ApiHistoryStatus, LiveChanges } from './history-types';
import { consoleService } from './service';

const EXPORT_CHUNK_ROWS = 2000;
const LIVE_TICK_MS = 500;
const LIVE_HEARTBEAT_MS = 15_000;
/** New connections listed per live message; the rest are counted. */
const LIVE_MAX_ADDED = 50;

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function toApiHistory(r: HistoryRow): ApiHistoryEntry {
  const entry: ApiHistoryEntry = { ...apiConnectionBase(connectionOf(r)), key: r.key, endedAt: new Date(r.ended_at).toISOString(), cause: r.cause };
  if (r.started_at !== null) entry.durationMs = Math.max(0, r.ended_at - r.started_at);
  // Who sent the first FIN was remembered from the events before the end (the row keeps no TCP flags).
  if (r.closed_by) entry.closedBy = r.closed_by;
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
  const { from, to, cause, sort, order, ...filter } = input;
  return { filter: toFilter(filter), from, to, causes: cause, sort, order };
}

export async function listHistory(input: HistoryListQuery): Promise<ApiHistoryPage> {
  const { limit, offset, ...rest } = input;
  const runtime = historyRuntime();
  // Rows still in the recorder's buffer belong in the answer (a connection that just ended).
  runtime.recorder?.flush();
  const { matched, rows } = runtime.store.query({ ...queryOf(rest), limit, offset });
  const items = rows.map(toApiHistory);
  return { matched, items, status: historyStatus(), ...namesFor(items) };
}

export async function deleteHistory(body: HistoryDeleteBody): Promise<{ deleted: number }> {
  const runtime = historyRuntime();
  runtime.recorder?.flush();
  return { deleted: runtime.store.deleteKeys([...new Set(body.keys)]) };
}

export async function clearHistory(): Promise<{ deleted: number }> {
  const runtime = historyRuntime();
  runtime.recorder?.flush();
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
  runtime.recorder?.flush();
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

/** Whether a connection id is in the table now, ended (its latest history row), or unknown to both. */
export async function connectionStatus(id: number): Promise<ApiConnectionStatus> {
  const { conntrack, snapshots } = consoleService();
  const snapshot = snapshots.peek();
  const row = snapshot ? snapshot.rowOfId(id) : -1;
  const known = snapshot && row >= 0 ? snapshot.connection(row) : undefined;
  const live = known ? await conntrack.get({ family: known.family, original: known.original, zone: known.zone, id }) : await conntrack.findById(id);
  if (live) return { id, state: 'active', connection: toApiConnection(live) };
  const runtime = historyRuntime();
  runtime.recorder?.flush();
  const ended = runtime.store.latestById(id);
  return ended ? { id, state: 'ended', entry: toApiHistory(ended) } : { id, state: 'unknown' };
}

/** Server-Sent Events for the rows on screen: "changes" (updated, gone, added) every LIVE_TICK_MS, "overflow", "status". */
export function liveStream(input: LiveQuery, signal: AbortSignal): Response {
  const { ids, new: wantNew, ...filterFields } = input;
  const watched = new Set(ids ?? []);
  const filter: Filter = toFilter(filterFields);
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
