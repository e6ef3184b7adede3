// An independent view of a namespace's conntrack table, read with conntrack(8) (`-L -o extended,id`), for the lab's
// tests and the demo. It must not use the console's own netlink code, which it is there to check.
// The text format is used rather than XML because only the text shows ICMP type, code and id.
import type { Family } from './addresses';
import { execIn } from './namespace';

export interface TableTuple {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  icmp?: { type: number; code: number; id: number };
}

export interface Packets {
  packets: number;
  bytes: number;
}

export interface TableEntry {
  family: Family;
  /** conntrack(8)'s protocol name: tcp, udp, icmp, icmpv6, ... */
  protocol: string;
  original: TableTuple;
  reply: TableTuple;
  /** TCP state name as conntrack(8) prints it (ESTABLISHED, TIME_WAIT, CLOSE, SYN_SENT, ...). */
  state?: string;
  timeout: number;
  id?: number;
  assured: boolean;
  /** No reply seen (SEEN_REPLY not set). */
  unreplied: boolean;
  /** Present when nf_conntrack_acct was on when the entry was created. */
  counters?: { original: Packets; reply: Packets };
}

const TUPLE_KEYS = new Set(['src', 'dst', 'sport', 'dport', 'type', 'code', 'id', 'packets', 'bytes']);

interface TupleFields {
  values: Map<string, string>;
}

function toTuple({ values }: TupleFields, line: string): TableTuple {
  const src = values.get('src');
  const dst = values.get('dst');
  if (src === undefined || dst === undefined) throw new Error(`conntrack -L: tuple without addresses: ${line}`);
  const number = (key: string) => (values.has(key) ? Number(values.get(key)) : undefined);
  const sport = number('sport');
  const dport = number('dport');
  const type = number('type');
  return {
    src,
    dst,
    ...(sport !== undefined ? { sport } : {}),
    ...(dport !== undefined ? { dport } : {}),
    ...(type !== undefined ? { icmp: { type, code: number('code') ?? 0, id: number('id') ?? 0 } } : {}),
  };
}

function toPackets({ values }: TupleFields): Packets | undefined {
  return values.has('packets') ? { packets: Number(values.get('packets')), bytes: Number(values.get('bytes')) } : undefined;
}

/** Parses one line of `conntrack -L -o extended[,id]`. */
export function parseConntrackLine(line: string): TableEntry {
  const tokens = line.trim().split(/\s+/);
  const [l3name, , protocol, , timeout] = tokens;
  const tuples: TupleFields[] = [];
  const flags = new Set<string>();
  let state: string | undefined;
  let id: number | undefined;
  let inTuples = true;
  for (const token of tokens.slice(5)) {
    if (token.startsWith('[')) {
      flags.add(token);
      continue;
    }
    const equals = token.indexOf('=');
    if (equals < 0) {
      state = token;
      continue;
    }
    const key = token.slice(0, equals);
    const value = token.slice(equals + 1);
    if (inTuples && key === 'src' && tuples.length < 2) tuples.push({ values: new Map() });
    if (inTuples && TUPLE_KEYS.has(key) && tuples.length > 0) {
      tuples[tuples.length - 1].values.set(key, value);
      continue;
    }
    // After the tuples: mark=, use=, zone=, delta-time=, then the entry id.
    inTuples = false;
    if (key === 'id') id = Number(value);
  }
  if (tuples.length !== 2) throw new Error(`conntrack -L: expected two tuples: ${line}`);
  const [original, reply] = tuples;
  const originalCounters = toPackets(original);
  const replyCounters = toPackets(reply);
  return {
    family: l3name === 'ipv6' ? 'ipv6' : 'ipv4',
    protocol,
    original: toTuple(original, line),
    reply: toTuple(reply, line),
    ...(state !== undefined ? { state } : {}),
    timeout: Number(timeout),
    ...(id !== undefined ? { id } : {}),
    assured: flags.has('[ASSURED]'),
    unreplied: flags.has('[UNREPLIED]'),
    ...(originalCounters && replyCounters ? { counters: { original: originalCounters, reply: replyCounters } } : {}),
  };
}

/** Every entry (IPv4 and IPv6) in the conntrack table of namespace `namespace`. */
export async function readConntrackTable(namespace: string): Promise<TableEntry[]> {
  const { stdout } = await execIn(namespace, 'conntrack', ['-L', '-o', 'extended,id']);
  return stdout
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map(parseConntrackLine);
}
