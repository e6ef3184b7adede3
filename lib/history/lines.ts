// Ended connections as JSON lines, for a log shipper (Vector, Fluent Bit, Promtail) to carry into ClickHouse, Loki
// or Elasticsearch: one flat object per line with "type":"connection" and the field names documented in
// docs/connection-line.schema.json (stable: a new field may be added, none renamed or removed). To a file rotated by
// size (FILE, FILE.1, ... FILE.N, oldest dropped) or to standard output beside the JSON logs.
import { closeSync, existsSync, fstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { externalEndpoint, PROTOCOL_NAMES, statusNamesShown } from '@/lib/conntrack';
import type { HistoryRecord } from './store';

export const CONNECTION_LINE_VERSION = 1;

/** One ended connection as a line (see docs/connection-line.schema.json). */
export interface ConnectionLine {
  type: 'connection';
  version: typeof CONNECTION_LINE_VERSION;
  host: string;
  netns?: string;
  id: number;
  family: 'ipv4' | 'ipv6';
  protocol: string;
  protocolNumber: number;
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  replySrc: string;
  replyDst: string;
  replySport?: number;
  replyDport?: number;
  icmpType?: number;
  icmpCode?: number;
  icmpId?: number;
  externalAddress?: string;
  externalPort?: number;
  state?: string;
  status: string[];
  mark: number;
  zone: number;
  startedAt?: string;
  endedAt: string;
  endedAfter?: string;
  endedBefore?: string;
  durationMs?: number;
  packetsOriginal?: number;
  bytesOriginal?: number;
  packetsReply?: number;
  bytesReply?: number;
  cause: string;
  closedBy?: 'client' | 'server';
  deletedBy?: string;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function connectionLine(r: HistoryRecord, origin: { host: string; netns?: string }): ConnectionLine {
  const o = r.original;
  const p = r.reply;
  const status = statusNamesShown(r.status);
  const line: ConnectionLine = {
    type: 'connection',
    version: CONNECTION_LINE_VERSION,
    host: origin.host,
    ...(origin.netns ? { netns: origin.netns } : {}),
    id: r.id,
    family: r.family,
    protocol: PROTOCOL_NAMES[o.protocol] ?? String(o.protocol),
    protocolNumber: o.protocol,
    src: o.src,
    dst: o.dst,
    replySrc: p.src,
    replyDst: p.dst,
    status,
    mark: r.mark,
    zone: r.zone,
    endedAt: iso(r.endedAt),
    cause: r.cause,
  };
  if (o.sport !== undefined) line.sport = o.sport;
  if (o.dport !== undefined) line.dport = o.dport;
  if (p.sport !== undefined) line.replySport = p.sport;
  if (p.dport !== undefined) line.replyDport = p.dport;
  if (o.icmp) Object.assign(line, { icmpType: o.icmp.type, icmpCode: o.icmp.code, icmpId: o.icmp.id });
  const external = externalEndpoint(r);
  if (external) {
    line.externalAddress = external.address;
    if (external.port !== undefined) line.externalPort = external.port;
  }
  if (r.state) line.state = r.state;
  if (r.startedAt !== undefined) {
    line.startedAt = iso(r.startedAt);
    line.durationMs = Math.max(0, r.endedAt - r.startedAt);
  }
  if (r.endedAfter !== undefined && r.endedBefore !== undefined) {
    line.endedAfter = iso(r.endedAfter);
    line.endedBefore = iso(r.endedBefore);
  }
  if (r.counters) {
    line.packetsOriginal = r.counters.original.packets;
    line.bytesOriginal = r.counters.original.bytes;
    line.packetsReply = r.counters.reply.packets;
    line.bytesReply = r.counters.reply.bytes;
  }
  if (r.closedBy) line.closedBy = r.closedBy;
  if (r.deletedBy) line.deletedBy = r.deletedBy;
  return line;
}

export interface LinesTarget {
  /** '-' for standard output, else a file path. */
  path: string;
  /** Rotate the file before it would pass this size. */
  maxBytes: number;
  /** Rotated files kept (FILE.1 .. FILE.N). */
  keep: number;
  netns?: string;
}

/** Where the lines go: appended in one write per batch (the recorder's flush). */
export class ConnectionLines {
  private fd: number | undefined;
  private size = 0;
  private readonly origin: { host: string; netns?: string };

  constructor(private readonly target: LinesTarget) {
    this.origin = { host: hostname(), netns: target.netns };
    if (target.path !== '-') this.open();
  }

  private open(): void {
    this.fd = openSync(this.target.path, 'a', 0o640);
    this.size = fstatSync(this.fd).size;
  }

  /** FILE -> FILE.1 -> ... -> FILE.keep (dropped), then a new FILE. */
  private rotate(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    const { path, keep } = this.target;
    const numbered = (n: number) => `${path}.${n}`;
    if (keep > 0) {
      if (existsSync(numbered(keep))) rmSync(numbered(keep));
      for (let n = keep - 1; n >= 1; n--) if (existsSync(numbered(n))) renameSync(numbered(n), numbered(n + 1));
      renameSync(path, numbered(1));
    } else rmSync(path, { force: true });
    this.open();
  }

  write(records: readonly HistoryRecord[]): void {
    if (!records.length) return;
    let chunk = '';
    for (const record of records) chunk += `${JSON.stringify(connectionLine(record, this.origin))}\n`;
    if (this.target.path === '-') {
      process.stdout.write(chunk);
      return;
    }
    const bytes = Buffer.byteLength(chunk);
    if (this.size > 0 && this.size + bytes > this.target.maxBytes) this.rotate();
    writeSync(this.fd!, chunk);
    this.size += bytes;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
