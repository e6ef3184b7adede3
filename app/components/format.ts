// How the console writes things as text, on every page: endpoints, NAT, counts, sizes, durations, times with their
// offset, and the conntrack(8) command that deletes a connection. One module, so a duration or a size reads the same
// on Connections, History, Overview, Expectations, Router and Audit.
import type { ApiConnection } from './api/types';

type Endpoint = ApiConnection['original'];

const ICMP_TYPES: Record<string, Record<number, string>> = {
  icmp: { 0: 'echo-reply', 3: 'unreachable', 5: 'redirect', 8: 'echo-request', 11: 'time-exceeded', 13: 'timestamp', 14: 'timestamp-reply' },
  icmpv6: { 1: 'unreachable', 2: 'packet-too-big', 3: 'time-exceeded', 128: 'echo-request', 129: 'echo-reply' },
};


/** An address as it is written before a port: IPv6 in brackets ("[2001:db8::1]"), IPv4 as it is. */
export const bracketed = (address: string): string => (address.includes(':') ? `[${address}]` : address);

/** "192.0.2.1:443", "[2001:db8::1]:443", or the bare address when there is no port. */
export function hostPort(address: string, port: number | undefined): string {
  return port === undefined ? address : `${bracketed(address)}:${port}`;
}

export function icmpText(c: ApiConnection, endpoint: Endpoint): string | undefined {
  if (!endpoint.icmp) return undefined;
  const { type, code, id } = endpoint.icmp;
  const name = ICMP_TYPES[c.protocol]?.[type];
  return `${name ? `${name} ` : ''}type ${type} code ${code} id ${id}`;
}

/** Source or destination as one string; ICMP entries show type/code beside the destination, never a port. */
export function endpointText(c: ApiConnection, endpoint: Endpoint, side: 'src' | 'dst'): string {
  if (side === 'src') return hostPort(endpoint.src, endpoint.sport);
  const icmp = icmpText(c, endpoint);
  return icmp ? `${endpoint.dst} (${icmp})` : hostPort(endpoint.dst, endpoint.dport);
}

export function natText(c: ApiConnection): string[] {
  const out: string[] = [];
  if (c.nat.snat) out.push(`SNAT ${hostPort(c.nat.snat.address, c.nat.snat.port)}`);
  if (c.nat.dnat) out.push(`DNAT ${hostPort(c.nat.dnat.address, c.nat.dnat.port)}`);
  return out;
}

const integer = new Intl.NumberFormat('en-US');
export const formatCount = (n: number): string => integer.format(n);

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** Every duration of the console reads the same: "850 ms", "59 s", "2 min 13 s", "5 min", "3 h 2 min", "4 d 23 h". */
export function formatDuration(totalSeconds: number): string {
  if (totalSeconds > 0 && totalSeconds < 1) return `${Math.round(totalSeconds * 1000)} ms`;
  const s = Math.max(0, Math.round(totalSeconds));
  // The larger unit and the next one, the latter left out when it is zero ("1 h", not "1 h 0 min").
  const two = (big: number, bigUnit: string, small: number, smallUnit: string) => (small ? `${big} ${bigUnit} ${small} ${smallUnit}` : `${big} ${bigUnit}`);
  if (s < 60) return `${s} s`;
  if (s < 3600) return two(Math.floor(s / 60), 'min', s % 60, 's');
  if (s < 86400) return two(Math.floor(s / 3600), 'h', Math.floor((s % 3600) / 60), 'min');
  return two(Math.floor(s / 86400), 'd', Math.floor((s % 86400) / 3600), 'h');
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** The browser zone's UTC offset at that instant ("+01:00"; it changes with daylight saving time). */
export function zoneOffset(d: Date): string {
  const offset = -d.getTimezoneOffset();
  const abs = Math.abs(offset);
  return `${offset >= 0 ? '+' : '-'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** A datetime-local value ("2026-03-01T15:05") as ISO 8601 with the browser's offset for that date and time. */
export function withOffset(local: string): string {
  const d = new Date(local);
  if (Number.isNaN(d.getTime())) return local;
  return `${local.length === 16 ? `${local}:00` : local}${zoneOffset(d)}`;
}

/** A time in the browser's zone with its UTC offset ("2026-03-01 15:05:00 +01:00"); exports keep ISO UTC. */
export function formatTime(iso: string | undefined | null): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${zoneOffset(d)}`;
}

/** A time of day in the browser's zone with its UTC offset ("15:05:00 +01:00"), where the date goes without saying. */
export function formatClock(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${zoneOffset(d)}`;
}

/** Seconds between the connection's start and the snapshot, when timestamps were on. */
export function ageSeconds(c: ApiConnection, takenAt: string | undefined): number | undefined {
  if (!c.startedAt || !takenAt) return undefined;
  return (Date.parse(takenAt) - Date.parse(c.startedAt)) / 1000;
}

export const formatMark = (mark: number): string => `0x${mark.toString(16)}`;

/** The badges of the flags column: what an administrator looks for first. */
export function flagBadges(c: ApiConnection): string[] {
  const out: string[] = [];
  if (c.status.includes('ASSURED')) out.push('ASSURED');
  if (c.status.includes('UNREPLIED')) out.push('UNREPLIED');
  if (c.nat.snat || c.nat.dnat || c.status.includes('SRC_NAT') || c.status.includes('DST_NAT')) out.push('NAT');
  if (c.status.includes('OFFLOAD') || c.status.includes('HW_OFFLOAD')) out.push('OFFLOAD');
  return out;
}

/** The conntrack(8) command that deletes exactly this entry (its original tuple). */
export function conntrackDeleteCommand(c: ApiConnection): string {
  const o = c.original;
  const args = ['conntrack', '-D'];
  if (c.family === 'ipv6') args.push('-f', 'ipv6');
  args.push('-p', c.protocol, '-s', o.src, '-d', o.dst);
  // A GRE tuple's "ports" are its keys, which conntrack(8) takes as --srckey/--dstkey (it refuses --sport for gre).
  const [sport, dport] = c.protocol === 'gre' ? ['--srckey', '--dstkey'] : ['--sport', '--dport'];
  if (o.sport !== undefined) args.push(sport, String(o.sport));
  if (o.dport !== undefined) args.push(dport, String(o.dport));
  if (o.icmp) {
    const prefix = c.protocol === 'icmpv6' ? '--icmpv6' : '--icmp';
    args.push(`${prefix}-type`, String(o.icmp.type), `${prefix}-code`, String(o.icmp.code), `${prefix}-id`, String(o.icmp.id));
  }
  // A zone for both directions is -w; one bound to a direction (CTA_TUPLE_ZONE) is conntrack's --orig-zone or
  // --reply-zone, which -D compares with that direction's zone (-w alone would not match such an entry).
  if (c.zone) args.push('-w', String(c.zone));
  if (c.original.zone !== undefined) args.push('--orig-zone', String(c.original.zone));
  if (c.reply.zone !== undefined) args.push('--reply-zone', String(c.reply.zone));
  return args.join(' ');
}

/** One line per connection, in the spirit of `conntrack -L`. */
export function connectionLine(c: ApiConnection): string {
  const parts = [`id=${c.id}`, c.family, c.protocol];
  if (c.state) parts.push(c.state);
  parts.push(`timeout=${c.timeout}`);
  parts.push(`${endpointText(c, c.original, 'src')} -> ${endpointText(c, c.original, 'dst')}`);
  parts.push(`reply ${endpointText(c, c.reply, 'src')} -> ${endpointText(c, c.reply, 'dst')}`);
  parts.push(...natText(c));
  if (c.status.length) parts.push(`[${c.status.join(',')}]`);
  if (c.mark) parts.push(`mark=${c.mark}`);
  if (c.zone) parts.push(`zone=${c.zone}`);
  if (c.counters) {
    parts.push(`orig: ${c.counters.original.packets} pkts ${c.counters.original.bytes} B`);
    parts.push(`reply: ${c.counters.reply.packets} pkts ${c.counters.reply.bytes} B`);
  }
  return parts.join('  ');
}

export type CopyFormat = 'text' | 'json' | 'command';

export function copyText(rows: ApiConnection[], format: CopyFormat): string {
  if (format === 'json') return JSON.stringify(rows.length === 1 ? rows[0] : rows, null, 2);
  if (format === 'command') return rows.map(conntrackDeleteCommand).join('\n');
  return rows.map(connectionLine).join('\n');
}

export async function writeClipboard(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Plain-http consoles (a router's LAN address) have no Clipboard API.
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  if (!ok) throw new Error('the browser refused to copy');
}

/** "id 5" or "ids 5, 6, …" (the first 10 of them). */
export const idList = (ids: readonly number[]): string => `${ids.length === 1 ? 'id' : 'ids'} ${ids.slice(0, 10).join(', ')}${ids.length > 10 ? `, … (${formatCount(ids.length)} in all)` : ''}`;
