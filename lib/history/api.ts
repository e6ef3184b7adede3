// What the history routes do, one function per route: the routes only parse, authorise and call these.
import { IPS, matches, PROTOCOL_NAMES, toFilter, type Filter } from '@/lib/conntrack';
import { apiStatusNames, consoleService, toApiConnection, type AuditSpec } from '@/lib/console';
import { csvField } from '@/lib/console/csv';
import { historyRuntime } from './runtime';
import type { LiveChange } from './recorder';
import type { HistoryExportQuery, HistoryDeleteBody, HistoryListQuery, LiveQuery } from './schemas';
import type { HistoryQuery, HistoryRow } from './store';
import type { ApiConnectionStatus, ApiHistoryEntry, ApiHistoryPage, ApiHistoryStatus, LiveChanges } from './types';
import { AUDIT_MAX_IDS } from '@/lib/auth';

const EXPORT_CHUNK_ROWS = 2000;
const LIVE_TICK_MS = 500;
const LIVE_HEARTBEAT_MS = 15_000;
/** New connections listed per live message; the rest are counted. */
const LIVE_MAX_ADDED = 50;

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function toApiHistory(r: HistoryRow): ApiHistoryEntry {
  const endpoint = (src: string, dst: string, sport: number | null, dport: number | null) => ({
    src,
    dst,
    ...(sport !== null ? { sport } : {}),
    ...(dport !== null ? { dport } : {}),
    ...(r.icmp_type !== null && r.icmp_code !== null && r.icmp_id !== null ? { icmp: { type: r.icmp_type, code: r.icmp_code, id: r.icmp_id } } : {}),
  });
  // Same derivation as natInfo(): the NAT bits and the reply tuple.
  const snat = r.status & IPS.SRC_NAT ? { address: r.reply_dst, ...(r.reply_dport !== null ? { port: r.reply_dport } : {}) } : null;
  const dnat = r.status & IPS.DST_NAT ? { address: r.reply_src, ...(r.reply_sport !== null ? { port: r.reply_sport } : {}) } : null;
  const entry: ApiHistoryEntry = {
    key: r.key,
    id: r.id,
    family: r.family === 4 ? 'ipv4' : 'ipv6',
    protocol: PROTOCOL_NAMES[r.protocol] ?? String(r.protocol),
    protocolNumber: r.protocol,
    status: apiStatusNames(r.status),
    mark: r.mark,
    zone: r.zone,
    original: endpoint(r.src, r.dst, r.sport, r.dport),
    reply: endpoint(r.reply_src, r.reply_dst, r.reply_sport, r.reply_dport),
    nat: { snat, dnat },
    endedAt: new Date(r.ended_at).toISOString(),
    cause: r.cause,
  };
  if (r.state) entry.state = r.state;
  if (r.packets_orig !== null && r.bytes_orig !== null && r.packets_reply !== null && r.bytes_reply !== null) {
    entry.counters = { original: { packets: r.packets_orig, bytes: r.bytes_orig }, reply: { packets: r.packets_reply, bytes: r.bytes_reply } };
  }
  if (r.started_at !== null) {
    entry.startedAt = new Date(r.started_at).toISOString();
    entry.durationMs = Math.max(0, r.ended_at - r.started_at);
  }
  if (r.closed_by) entry.closedBy = r.closed_by;
  return entry;
}

export function historyStatus(): ApiHistoryStatus {
  const { recorder, store, config } = historyRuntime();
  const gaps = store.gaps();
  return {
    recorder: recorder?.status() ?? null,
    ...(recorder ? {} : { disabled: 'the recorder is off (CONNTRACK_HISTORY=off)' }),
    loss: { lostEvents: gaps.lostEvents, overflows: gaps.overflows, since: iso(gaps.since), last: iso(gaps.last) },
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
  return { matched, items: rows.map(toApiHistory), status: historyStatus() };
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

const CSV_COLUMNS: [string, (e: ApiHistoryEntry) => string | number | undefined][] = [
  ['key', (e) => e.key],
  ['id', (e) => e.id],
  ['family', (e) => e.family],
  ['protocol', (e) => e.protocol],
  ['state', (e) => e.state],
  ['src', (e) => e.original.src],
  ['sport', (e) => e.original.sport],
  ['dst', (e) => e.original.dst],
  ['dport', (e) => e.original.dport],
  ['replySrc', (e) => e.reply.src],
  ['replySport', (e) => e.reply.sport],
  ['replyDst', (e) => e.reply.dst],
  ['replyDport', (e) => e.reply.dport],
  ['startedAt', (e) => e.startedAt],
  ['endedAt', (e) => e.endedAt],
  ['durationMs', (e) => e.durationMs],
  ['packetsOriginal', (e) => e.counters?.original.packets],
  ['bytesOriginal', (e) => e.counters?.original.bytes],
  ['packetsReply', (e) => e.counters?.reply.packets],
  ['bytesReply', (e) => e.counters?.reply.bytes],
  ['cause', (e) => e.cause],
  ['closedBy', (e) => e.closedBy],
  ['mark', (e) => e.mark],
  ['zone', (e) => e.zone],
];

/** The filtered, sorted history as a CSV or JSON download, read a chunk at a time (never an open cursor while the recorder writes). */
export async function exportHistory(input: HistoryExportQuery): Promise<Response> {
  const { format, ...rest } = input;
  const runtime = historyRuntime();
  runtime.recorder?.flush();
  const query = queryOf(rest);
  const encoder = new TextEncoder();
  let offset = 0;
  let first = true;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(format === 'csv' ? `${CSV_COLUMNS.map(([name]) => name).join(',')}\r\n` : '['));
    },
    pull(controller) {
      const { rows } = runtime.store.query({ ...query, limit: EXPORT_CHUNK_ROWS, offset });
      offset += rows.length;
      let chunk = '';
      for (const row of rows) {
        const entry = toApiHistory(row);
        if (format === 'csv') chunk += `${CSV_COLUMNS.map(([, value]) => csvField(value(entry))).join(',')}\r\n`;
        else {
          chunk += `${first ? '' : ','}\n${JSON.stringify(entry)}`;
          first = false;
        }
      }
      if (rows.length < EXPORT_CHUNK_ROWS) {
        if (format === 'json') chunk += '\n]\n';
        controller.enqueue(encoder.encode(chunk));
        controller.close();
      } else controller.enqueue(encoder.encode(chunk));
    },
  });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return new Response(stream, {
    headers: {
      'Content-Type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8',
      'Content-Disposition': `attachment; filename="history-${stamp}.${format}"`,
      'Cache-Control': 'no-store',
    },
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
      cleanup = () => {
        clearInterval(tick);
        clearInterval(heartbeat);
        recorder.live.off('change', onChange);
        recorder.live.off('overflow', onOverflow);
        cleanup = () => {};
      };
      signal.addEventListener('abort', () => {
        cleanup();
        try {
          controller.close();
        } catch {
          // Already closed.
        }
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
