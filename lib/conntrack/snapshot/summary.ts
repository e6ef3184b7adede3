// How many entries of each kind a snapshot holds, and their bytes: one pass over the rows into typed-array
// tallies, behind both the console's header (summarize) and the overview's protocol and state groups.
import { IPPROTO, IPS, PROTOCOL_NAMES, TCP_STATES } from '../constants';
import type { Family } from '../types';
import { SHAPE, type Columns } from './columns';
import { runAll, type Steps } from './order';

/** How many entries of each kind a snapshot holds (zero counts left out). */
export interface SnapshotSummary {
  /** By protocol name (tcp, udp, icmp, icmpv6, ...; the number as text when unnamed). */
  byProtocol: Record<string, number>;
  /** TCP entries by state. */
  byState: Record<string, number>;
  byFamily: Record<Family, number>;
}

/** Slots of the state tally after the TCP states: UDP entries with and without a reply. */
export const UDP_REPLIED = 254;
export const UDP_UNREPLIED = 253;

/** Entries and bytes (original, reply) per protocol number and per state slot (TCP state, UDP_REPLIED/UNREPLIED). */
export interface Tallies {
  protocols: Uint32Array;
  protocolBytes: Float64Array;
  states: Uint32Array;
  stateBytes: Float64Array;
  v6: number;
  rows: number;
}

// Imported constants as module locals: a bundler reads an imported binding through a getter, once per row here.
const COUNTERS = SHAPE.COUNTERS;
const UDP = IPPROTO.UDP;
const SEEN_REPLY = IPS.SEEN_REPLY;

/** Bytes of a row's direction (0 original, 1 reply) when accounting recorded them, else 0. */
export function bytesOf(c: Columns, row: number, direction: 0 | 1): number {
  if (!(c.shape[row] & COUNTERS)) return 0;
  const k = row * 8 + 2 + direction * 4;
  return c.counters[k] * 0x1_0000_0000 + c.counters[k + 1];
}

/** Rows between the points where tallySteps lets the event loop run. */
const STEP_ROWS = 131072;

/** One pass over `rows` (default: all) counting entries and bytes per protocol and per state slot. */
export const tally = (c: Columns, rows?: Uint32Array): Tallies => runAll(tallySteps(c, rows));

/** tally() in steps of STEP_ROWS rows (the overview's answer lets the event loop run between them). */
export function* tallySteps(c: Columns, rows?: Uint32Array): Steps<Tallies> {
  const t: Tallies = { protocols: new Uint32Array(256), protocolBytes: new Float64Array(512), states: new Uint32Array(256), stateBytes: new Float64Array(512), v6: 0, rows: 0 };
  const n = rows ? rows.length : c.size;
  for (let i = 0; i < n; i++) {
    if (i && i % STEP_ROWS === 0) yield;
    const row = rows ? rows[i] : i;
    const protocol = c.protocol[row];
    const state = protocol === UDP ? (c.status[row] & SEEN_REPLY ? UDP_REPLIED : UDP_UNREPLIED) : c.state[row];
    t.protocols[protocol]++;
    t.states[state]++;
    t.v6 += c.family[row];
    if (c.shape[row] & COUNTERS) {
      const original = bytesOf(c, row, 0);
      const reply = bytesOf(c, row, 1);
      t.protocolBytes[protocol * 2] += original;
      t.protocolBytes[protocol * 2 + 1] += reply;
      t.stateBytes[state * 2] += original;
      t.stateBytes[state * 2 + 1] += reply;
    }
  }
  t.rows = n;
  return t;
}

/** The name of a protocol number (the number as text when unnamed). */
export const protocolName = (p: number): string => PROTOCOL_NAMES[p] ?? String(p);

/** Entries per protocol name, TCP state and family. */
export function summarize(c: Columns): SnapshotSummary {
  const t = tally(c);
  const byProtocol: Record<string, number> = {};
  for (let p = 0; p < 256; p++) if (t.protocols[p]) byProtocol[protocolName(p)] = t.protocols[p];
  const byState: Record<string, number> = {};
  for (let s = 0; s < TCP_STATES.length; s++) if (t.states[s]) byState[TCP_STATES[s]] = t.states[s];
  return { byProtocol, byState, byFamily: { ipv4: c.size - t.v6, ipv6: t.v6 } };
}
