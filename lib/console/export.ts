// The one export stream: rows as a CSV (RFC 4180, header first) or JSON (one array) download, rendered a chunk at a
// time as the client reads, for connections and history alike. The column tables live here too: history's columns
// are the connection columns both shapes share, plus its own.
import { ownTurn } from '@/lib/conntrack';
import { exportChunks } from '@/lib/observability';
import { WRITTEN, type WrittenChunk } from '@/lib/process/written';
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

/** A download's body a piece at a time: each call gives the next bytes (header and end included), valid until the next call; null once done. */
export type ExportBody = () => Uint8Array | null;

export interface ExportStreamOptions {
  format: ExportFormat;
  body: ExportBody;
  /** Download name without the extension. */
  filename: string;
  headers?: Record<string, string>;
}

/** Bytes of one chunk buffer: a piece of the body is at most a few hundred kB (a larger one gets a buffer of its own). */
export const CHUNK_BYTES = 1 << 20;
/** Written buffers an export keeps for reuse: the pipeline holds 3-4 pieces at a time (queues, the socket's write). */
const RING_BUFFERS = 4;

/**
 * The buffers one export's chunks are copied into, each taken again only once the server has written it (WRITTEN,
 * lib/process/written.ts): an export of a million rows writes hundreds of MB, and a fresh buffer per piece made V8
 * run full collections for the external memory (20-60 ms pauses). A chunk nobody reports written is left to the GC.
 */
export class ChunkRing {
  private free: Buffer[] = [];
  private closed = false;
  /** Buffers made so far (the ring's own and one-offs): what a reader that never reports back costs. */
  made = 0;

  /** A copy of bytes in a free buffer, marked to come back to the ring once written. */
  chunk(bytes: Uint8Array): WrittenChunk {
    if (bytes.length > CHUNK_BYTES) {
      this.made++;
      exportChunks().inc({ buffer: 'new' });
      return Buffer.from(bytes);
    }
    let buffer = this.free.pop();
    exportChunks().inc({ buffer: buffer ? 'reused' : 'new' });
    if (!buffer) {
      this.made++;
      buffer = Buffer.allocUnsafeSlow(CHUNK_BYTES);
    }
    buffer.set(bytes);
    const chunk: WrittenChunk = buffer.subarray(0, bytes.length);
    const ring = buffer;
    chunk[WRITTEN] = () => this.release(ring);
    return chunk;
  }

  /** Buffers waiting to be taken again. */
  get idle(): number {
    return this.free.length;
  }

  private release(buffer: Buffer): void {
    if (!this.closed && this.free.length < RING_BUFFERS) this.free.push(buffer);
  }

  /** The export ended or was cancelled: nothing more is kept. */
  close(): void {
    this.closed = true;
    this.free = [];
  }
}

/**
 * The download: nothing is rendered before the client reads, one piece of the body per read, copied into a chunk
 * of the ring. A slow client holds the pieces back (the stream asks for one only when the last is taken), so
 * memory stays a few buffers whatever its pace; a client that goes away cancels the stream, which drops the body.
 */
export function exportStream(options: ExportStreamOptions): Response {
  const { format } = options;
  let body: ExportBody | null = options.body;
  const ring = new ChunkRing();
  const end = () => {
    body = null;
    ring.close();
  };
  const stream = new ReadableStream<Uint8Array>({
    // A reader that is always ready (a fast client, loopback) would otherwise pull every piece in one run of
    // microtasks and hold the event loop for the whole export: each piece waits for a turn of its own (ownTurn(),
    // not beside a step of the sorts or columns running meanwhile, such as this export's WAN decisions).
    async pull(controller) {
      await ownTurn();
      if (!body) return; // cancelled meanwhile
      let piece: Uint8Array | null;
      try {
        piece = body();
      } catch (error) {
        end();
        throw error;
      }
      if (piece) controller.enqueue(ring.chunk(piece));
      else {
        end();
        controller.close();
      }
    },
    cancel: end,
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
