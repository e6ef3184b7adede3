// CSV rendering of API connections: a header row, then one line per connection (RFC 4180 quoting).
import type { ApiConnection, ApiEndpoint, ApiNatTarget } from './connection';

type Cell = string | number | undefined | null;

const icmpText = (e: ApiEndpoint): string => (e.icmp ? `${e.icmp.type}/${e.icmp.code}/${e.icmp.id}` : '');
const natText = (t: ApiNatTarget | null): string => (t ? (t.port === undefined ? t.address : `${t.address}:${t.port}`) : '');

const COLUMNS: [header: string, value: (c: ApiConnection) => Cell][] = [
  ['id', (c) => c.id],
  ['family', (c) => c.family],
  ['protocol', (c) => c.protocol],
  ['state', (c) => c.state],
  ['status', (c) => c.status.join(' ')],
  ['src', (c) => c.original.src],
  ['sport', (c) => c.original.sport],
  ['dst', (c) => c.original.dst],
  ['dport', (c) => c.original.dport],
  ['icmp', (c) => icmpText(c.original)],
  ['replySrc', (c) => c.reply.src],
  ['replySport', (c) => c.reply.sport],
  ['replyDst', (c) => c.reply.dst],
  ['replyDport', (c) => c.reply.dport],
  ['snat', (c) => natText(c.nat.snat)],
  ['dnat', (c) => natText(c.nat.dnat)],
  ['timeout', (c) => c.timeout],
  ['mark', (c) => c.mark],
  ['zone', (c) => c.zone],
  ['use', (c) => c.use],
  ['packetsOriginal', (c) => c.counters?.original.packets],
  ['bytesOriginal', (c) => c.counters?.original.bytes],
  ['packetsReply', (c) => c.counters?.reply.packets],
  ['bytesReply', (c) => c.counters?.reply.bytes],
  ['startedAt', (c) => c.startedAt],
  ['closedBy', (c) => c.closedBy],
];

/** One CSV field: quoted when it holds a quote, a comma or a line break; a leading formula sign is neutralised. */
export function csvField(cell: Cell): string {
  if (cell === undefined || cell === null) return '';
  let text = String(cell);
  if (typeof cell === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export const csvHeader = (): string => `${COLUMNS.map(([header]) => header).join(',')}\r\n`;

export const csvLine = (c: ApiConnection): string => `${COLUMNS.map(([, value]) => csvField(value(c))).join(',')}\r\n`;
