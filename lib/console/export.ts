// The one export stream: rows as a CSV (RFC 4180, header first) or JSON (one array) download, rendered a chunk at a
// time as the client reads, for connections and history alike. The column tables live here too: history's columns
// are the connection columns both shapes share, plus its own.
import type { ApiConnection, ApiConnectionBase, ApiEndpoint, ApiNatTarget } from './connection';
import type { ApiHistoryEntry, ApiNatMatch } from './history-types';
import { consoleNames } from './names';

type Cell = string | number | undefined | null;

export interface ExportColumn<T> {
  header: string;
  value: (row: T) => Cell;
}

export type ExportFormat = 'csv' | 'json';

/** One CSV field: quoted when it holds a quote, a comma or a line break; a leading formula sign is neutralised. */
export function csvField(cell: Cell): string {
  if (cell === undefined || cell === null) return '';
  let text = String(cell);
  if (typeof cell === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export const csvHeader = <T>(columns: readonly ExportColumn<T>[]): string => `${columns.map((c) => c.header).join(',')}\r\n`;

export const csvLine = <T>(columns: readonly ExportColumn<T>[], row: T): string => `${columns.map((c) => csvField(c.value(row))).join(',')}\r\n`;

const icmpText = (e: ApiEndpoint): string => (e.icmp ? `${e.icmp.type}/${e.icmp.code}/${e.icmp.id}` : '');
const natText = (t: ApiNatTarget | null): string => (t ? (t.port === undefined ? t.address : `${t.address}:${t.port}`) : '');
const column = <T>(header: string, value: (row: T) => Cell): ExportColumn<T> => ({ header, value });

/** The columns of what a connection and a history row share, in export order. */
function sharedColumns<T extends ApiConnectionBase>(): ExportColumn<T>[] {
  return [
    column('id', (c) => c.id),
    column('family', (c) => c.family),
    column('protocol', (c) => c.protocol),
    column('state', (c) => c.state),
    column('status', (c) => c.status.join(' ')),
    column('src', (c) => c.original.src),
    column('sport', (c) => c.original.sport),
    column('dst', (c) => c.original.dst),
    column('dport', (c) => c.original.dport),
    column('icmp', (c) => icmpText(c.original)),
    column('replySrc', (c) => c.reply.src),
    column('replySport', (c) => c.reply.sport),
    column('replyDst', (c) => c.reply.dst),
    column('replyDport', (c) => c.reply.dport),
    column('snat', (c) => natText(c.nat.snat)),
    column('dnat', (c) => natText(c.nat.dnat)),
    column('mark', (c) => c.mark),
    column('zone', (c) => c.zone),
    column('packetsOriginal', (c) => c.counters?.original.packets),
    column('bytesOriginal', (c) => c.counters?.original.bytes),
    column('packetsReply', (c) => c.counters?.reply.packets),
    column('bytesReply', (c) => c.counters?.reply.bytes),
    column('startedAt', (c) => c.startedAt),
    column('closedBy', (c) => c.closedBy),
    // Names from the lease and hosts files, and the /etc/services name of the destination port.
    column('srcName', (c) => consoleNames().nameOf(c.original.src)?.name),
    column('dstName', (c) => consoleNames().nameOf(c.original.dst)?.name),
    column('replySrcName', (c) => consoleNames().nameOf(c.reply.src)?.name),
    column('replyDstName', (c) => consoleNames().nameOf(c.reply.dst)?.name),
    column('service', (c) => (c.original.dport === undefined ? undefined : consoleNames().serviceOf(c.protocol, c.original.dport))),
  ];
}

export const CONNECTION_COLUMNS: readonly ExportColumn<ApiConnection>[] = [
  ...sharedColumns<ApiConnection>(),
  column('timeout', (c) => c.timeout),
  column('use', (c) => c.use),
  column('helper', (c) => c.helper),
  column('labels', (c) => c.labels?.join(' ')),
  column('wan', (c) => c.wan),
  column('stale', (c) => (c.stale === undefined ? undefined : String(c.stale))),
];

export const HISTORY_COLUMNS: readonly ExportColumn<ApiHistoryEntry>[] = [
  column('key', (e) => e.key),
  ...sharedColumns<ApiHistoryEntry>(),
  column('external', (e) => natText(e.external ?? null)),
  column('endedAt', (e) => e.endedAt),
  column('endedAfter', (e) => e.endedAfter),
  column('endedBefore', (e) => e.endedBefore),
  column('durationMs', (e) => e.durationMs),
  column('cause', (e) => e.cause),
  column('deletedBy', (e) => e.deletedBy),
];

export const NAT_LOOKUP_COLUMNS: readonly ExportColumn<ApiNatMatch>[] = [
  column('source', (m) => m.source),
  column('lan', (m) => natText(m.lan)),
  column('external', (m) => natText(m.external)),
  column('lanName', (m) => m.lanName),
  column('lanMac', (m) => m.lanMac),
  ...sharedColumns<ApiNatMatch>(),
  column('endedAt', (m) => m.endedAt),
  column('endedAfter', (m) => m.endedAfter),
  column('durationMs', (m) => m.durationMs),
  column('cause', (m) => m.cause),
  column('deletedBy', (m) => m.deletedBy),
  column('key', (m) => m.key),
];

/** A download's body a piece at a time: each call gives the next bytes (header and end included), null once done. */
export type ExportBody = () => Uint8Array | null;

export interface ExportStreamOptions {
  format: ExportFormat;
  body: ExportBody;
  /** Download name without the extension. */
  filename: string;
  headers?: Record<string, string>;
}

/** The download: nothing is rendered before the client reads, one piece of the body per read. */
export function exportStream(options: ExportStreamOptions): Response {
  const { format, body } = options;
  const stream = new ReadableStream<Uint8Array>({
    // A reader that is always ready (a fast client, loopback) would otherwise pull every piece in one run of
    // microtasks and hold the event loop for the whole export: each piece waits for the next turn.
    async pull(controller) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const piece = body();
      if (piece) controller.enqueue(piece);
      else controller.close();
    },
  });
  return new Response(stream, {
    headers: {
      'Content-Type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8',
      'Content-Disposition': `attachment; filename="${options.filename}.${format}"`,
      'Cache-Control': 'no-store',
      ...options.headers,
    },
  });
}

export interface ExportOptions<T> {
  format: ExportFormat;
  columns: readonly ExportColumn<T>[];
  /** The rows, a chunk at a time: each call returns the next chunk, an empty one at the end. */
  nextChunk: () => readonly T[];
  /** Download name without the extension. */
  filename: string;
  headers?: Record<string, string>;
}

/** The body of rows as objects: CSV lines by the columns, or the JSON array of the rows as they are. */
export function rowsBody<T>(format: ExportFormat, columns: readonly ExportColumn<T>[], nextChunk: () => readonly T[]): ExportBody {
  const encoder = new TextEncoder();
  let state: 'head' | 'rows' | 'done' = 'head';
  let first = true;
  return () => {
    if (state === 'head') {
      state = 'rows';
      return encoder.encode(format === 'csv' ? csvHeader(columns) : '[');
    }
    if (state === 'done') return null;
    const rows = nextChunk();
    let chunk = '';
    for (const row of rows) {
      if (format === 'csv') chunk += csvLine(columns, row);
      else {
        chunk += `${first ? '' : ','}\n${JSON.stringify(row)}`;
        first = false;
      }
    }
    if (rows.length) return encoder.encode(chunk);
    state = 'done';
    return format === 'json' ? encoder.encode('\n]\n') : null;
  };
}

/** The download of rows as objects (history, NAT lookups): rendered a chunk at a time as the client reads. */
export function exportResponse<T>(options: ExportOptions<T>): Response {
  const { format, columns, nextChunk, filename, headers } = options;
  return exportStream({ format, body: rowsBody(format, columns, nextChunk), filename, headers });
}

/** A stamp for download names: the instant without characters file systems dislike. */
export const fileStamp = (at: Date): string => at.toISOString().replace(/[:.]/g, '-');
