// Free text: each row as the console shows it, lower-case, searched with a substring match.
import { formatIPv6 } from '@/lib/netlink/address';
import { IPS, PROTOCOL_NAMES, TCP_STATES } from '../constants';
import { FAMILY_V6, NO_STATE, PORTED, type Columns } from './columns';

/** Address slot k (0 orig src, 1 orig dst, 2 reply src, 3 reply dst) of a row as text. */
export function addressText(c: Columns, row: number, k: number): string {
  const value = c.addr[row * 4 + k];
  return c.family[row] === FAMILY_V6 ? formatIPv6(c.v6, value * 16) : `${value >>> 24}.${(value >> 16) & 255}.${(value >> 8) & 255}.${value & 255}`;
}

function endpoint(c: Columns, row: number, k: number): string {
  const address = addressText(c, row, k);
  if (!PORTED[c.protocol[row]]) return address;
  const port = c.ports[row * 4 + k];
  return c.family[row] === FAMILY_V6 ? `[${address}]:${port}` : `${address}:${port}`;
}

function statusText(status: number): string {
  const parts: string[] = [];
  if (status & IPS.ASSURED) parts.push('assured');
  if (!(status & IPS.SEEN_REPLY)) parts.push('unreplied');
  if (status & IPS.SRC_NAT) parts.push('snat');
  if (status & IPS.DST_NAT) parts.push('dnat');
  if (status & IPS.OFFLOAD) parts.push('offload');
  return parts.join(' ');
}

/** The row as the console shows it, lower-case. */
export function rowText(c: Columns, row: number): string {
  const protocol = c.protocol[row];
  const parts = [
    String(c.id[row]),
    c.family[row] === FAMILY_V6 ? 'ipv6' : 'ipv4',
    PROTOCOL_NAMES[protocol] ?? String(protocol),
    endpoint(c, row, 0),
    endpoint(c, row, 1),
    endpoint(c, row, 2),
    endpoint(c, row, 3),
    c.state[row] === NO_STATE ? '' : (TCP_STATES[c.state[row]] ?? ''),
    statusText(c.status[row]),
    c.mark[row] ? `mark=${c.mark[row]}` : '',
    c.zone[row] ? `zone=${c.zone[row]}` : '',
    c.helpers.get(row) ?? '',
  ];
  return parts.join(' ').toLowerCase();
}

/** The text of every row, for free-text search. */
export function buildTextIndex(c: Columns): string[] {
  const index = new Array<string>(c.size);
  for (let row = 0; row < c.size; row++) index[row] = rowText(c, row);
  return index;
}

/** Rows of text built per event-loop turn: a million rows would otherwise block the server for seconds. */
const TEXT_CHUNK = 8192;

/** buildTextIndex a chunk at a time, yielding to the event loop between chunks. */
export async function buildTextIndexInChunks(c: Columns): Promise<string[]> {
  const index = new Array<string>(c.size);
  for (let from = 0; from < c.size; from += TEXT_CHUNK) {
    const to = Math.min(c.size, from + TEXT_CHUNK);
    for (let row = from; row < to; row++) index[row] = rowText(c, row);
    if (to < c.size) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return index;
}

/**
 * Clears in `mask` (index = row) the rows whose text does not contain the needle (already lower-case), except
 * the rows `keep` marks (they match the text another way: by a host name).
 */
export function narrowByText(index: readonly string[], needle: string, mask: Uint8Array, keep?: Uint8Array): void {
  for (let r = 0; r < index.length; r++) if (mask[r] && !(keep && keep[r]) && !index[r].includes(needle)) mask[r] = 0;
}
