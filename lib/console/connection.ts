// The JSON shape of a connection in API responses (and CSV rows), built from the library's Connection.
// Counters are JSON numbers: 64-bit kernel counters stay exact below 2^53 (8 PiB), far beyond any real entry.
import { labelsOf } from './labels';
import { PROTOCOL_NAMES, closedBy, natInfo, statusNamesShown, type Connection, type Family, type IcmpFields, type Snapshot, type TcpState, type Tuple } from '@/lib/conntrack';

export interface ApiEndpoint {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  icmp?: IcmpFields;
  /** CTA_TUPLE_ZONE: the entry's zone is bound to this direction (conntrack --orig-zone / --reply-zone). */
  zone?: number;
}

export interface ApiNatTarget {
  address: string;
  port?: number;
}

export interface ApiCounter {
  packets: number;
  bytes: number;
}

/** What a connection and an ended connection (a history row) have in common. */
export interface ApiConnectionBase {
  id: number;
  family: Family;
  /** Protocol name (tcp, udp, ...) or the number as text when the console has no name for it. */
  protocol: string;
  protocolNumber: number;
  /** TCP state, TCP only. */
  state?: TcpState;
  /** IPS_* flag names, plus UNREPLIED when SEEN_REPLY is clear. */
  status: string[];
  mark: number;
  zone: number;
  original: ApiEndpoint;
  reply: ApiEndpoint;
  nat: { snat: ApiNatTarget | null; dnat: ApiNatTarget | null };
  /** Only when nf_conntrack_acct was on when the entry was created. */
  counters?: { original: ApiCounter; reply: ApiCounter };
  /** ISO 8601, only when nf_conntrack_timestamp was on when the entry was created. */
  startedAt?: string;
  /** Who sent the first FIN (TCP). */
  closedBy?: 'client' | 'server';
}

export interface ApiConnection extends ApiConnectionBase {
  /** Seconds until expiry when the snapshot was taken. */
  timeout: number;
  use: number;
  /** The conntrack helper attached to it (ftp, sip, ...), when there is one. */
  helper?: string;
  /** Its connection labels: names from connlabel.conf, bit numbers for unnamed bits. */
  labels?: string[];
  /** An expected (RELATED) connection: the original tuple of its master. */
  master?: ApiEndpoint;
  /** The uplink: a WAN's name, `none` (local or LAN-only) or `unknown` (a rule selects on what the entry does not say). */
  wan?: string;
  /** Its external address is on no interface now (evaluated when asked, not when the snapshot was taken). */
  stale?: boolean;
  /** The external address (SNAT: reply destination; DNAT: original destination) and who holds or held it. */
  external?: ApiExternal;
}

export interface ApiExternal {
  address: string;
  kind: 'snat' | 'dnat';
  /** The WAN that holds it now or held it (null: no WAN on record). */
  wan: string | null;
  /** Whether an interface holds it now. */
  held: boolean;
  /** When it left its WAN (ISO 8601), for a former address. */
  until?: string;
}

/** Summary of a snapshot, as every response that reads one reports it. */
export interface ApiSnapshot {
  id: string;
  takenAt: string;
  total: number;
  tookMs: number;
  /** Dump entries that could not be read and are not in the snapshot (the rest of it stands). */
  skipped: number;
  /** How old the snapshot was when this answer was sent: a page counts its age from this, whatever its own clock says. */
  ageMs: number;
}

export function snapshotSummary(snapshot: Snapshot): ApiSnapshot {
  const { id, takenAt, total, tookMs, skipped } = snapshot.info;
  return { id, takenAt: takenAt.toISOString(), total, tookMs: Math.round(tookMs * 10) / 10, skipped, ageMs: Math.max(0, Date.now() - takenAt.getTime()) };
}

function endpoint(tuple: Tuple): ApiEndpoint {
  const out: ApiEndpoint = { src: tuple.src, dst: tuple.dst };
  if (tuple.sport !== undefined) out.sport = tuple.sport;
  if (tuple.dport !== undefined) out.dport = tuple.dport;
  if (tuple.icmp) out.icmp = { type: tuple.icmp.type, code: tuple.icmp.code, id: tuple.icmp.id };
  if (tuple.zone !== undefined) out.zone = tuple.zone;
  return out;
}

export const apiStatusNames = statusNamesShown;

/** The fields every API shape of a connection shares, derived once (NAT from the status bits and the reply tuple). */
export function apiConnectionBase(c: Connection): ApiConnectionBase {
  const protocolNumber = c.original.protocol;
  const nat = natInfo(c);
  const out: ApiConnectionBase = {
    id: c.id ?? 0,
    family: c.family,
    protocol: PROTOCOL_NAMES[protocolNumber] ?? String(protocolNumber),
    protocolNumber,
    status: apiStatusNames(c.status),
    mark: c.mark ?? 0,
    zone: c.zone,
    original: endpoint(c.original),
    reply: endpoint(c.reply),
    nat: { snat: nat.snat ?? null, dnat: nat.dnat ?? null },
  };
  const state = c.protoinfo?.tcp?.state;
  if (state) out.state = state;
  if (c.counters) {
    out.counters = {
      original: { packets: Number(c.counters.original.packets), bytes: Number(c.counters.original.bytes) },
      reply: { packets: Number(c.counters.reply.packets), bytes: Number(c.counters.reply.bytes) },
    };
  }
  if (c.timestamp) out.startedAt = new Date(Number(c.timestamp.start / 1_000_000n)).toISOString();
  const closer = closedBy(c);
  if (closer) out.closedBy = closer;
  return out;
}

export function toApiConnection(c: Connection): ApiConnection {
  const out: ApiConnection = { ...apiConnectionBase(c), timeout: c.timeout ?? 0, use: c.use ?? 0 };
  if (c.helper !== undefined) out.helper = c.helper;
  const labels = labelsOf(c.labels);
  if (labels.length) out.labels = labels;
  if (c.master) out.master = endpoint(c.master);
  return out;
}

export const rowToApi = (snapshot: Snapshot, row: number): ApiConnection => toApiConnection(snapshot.connection(row));

/** An entry named exactly (what a delete went for): its id, family, protocol, zone and original tuple. */
export interface ApiEntryRef {
  id: number | null;
  family: Family;
  protocol: string;
  zone: number;
  original: ApiEndpoint;
}

export function toApiEntryRef(ref: { family: Family; original: Tuple; zone?: number; id?: number }): ApiEntryRef {
  const protocol = PROTOCOL_NAMES[ref.original.protocol] ?? String(ref.original.protocol);
  return { id: ref.id ?? null, family: ref.family, protocol, zone: ref.zone ?? 0, original: endpoint(ref.original) };
}
