// How many entries of each kind a snapshot holds, and their bytes: one pass over the rows into typed-array
// tallies, behind the console's header (summaryOf), the overview's protocol and state groups and the metrics'
// entries by family, protocol and TCP state. A whole snapshot's tallies are computed once (wholeTallySteps).
import { IPPROTO, IPS, PROTOCOL_NAMES, TCP_STATES } from '../constants';
import type { Family } from '../types';
import { NO_STATE, SHAPE, type Columns } from './columns';
import type { Steps } from './order';

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

/**
 * Entries and bytes (original, reply) per protocol number and per state slot: a TCP entry's state, a UDP entry's
 * UDP_REPLIED/UNREPLIED, every other entry NO_STATE.
 */
export interface Tallies {
  protocols: Uint32Array;
  /** The IPv6 entries of `protocols` (the IPv4 ones are the difference). */
  v6Protocols: Uint32Array;
  protocolBytes: Float64Array;
  states: Uint32Array;
  stateBytes: Float64Array;
  v6: number;
  rows: number;
}

// Imported constants as module locals: a bundler reads an imported binding through a getter, once per row here.
const COUNTERS = SHAPE.COUNTERS;
const UDP = IPPROTO.UDP;
const TCP = IPPROTO.TCP;
const NO_STATE_SLOT = NO_STATE;
const SEEN_REPLY = IPS.SEEN_REPLY;

/** Bytes of a row's direction (0 original, 1 reply) when accounting recorded them, else 0. */
export function bytesOf(c: Columns, row: number, direction: 0 | 1): number {
  if (!(c.shape[row] & COUNTERS)) return 0;
  const k = row * 8 + 2 + direction * 4;
  return c.counters[k] * 0x1_0000_0000 + c.counters[k + 1];
}

/** Rows between the points where tallySteps lets the event loop run (a few milliseconds on a loaded machine). */
const STEP_ROWS = 65536;

/**
 * One pass over `rows` (default: all) counting entries and bytes per protocol and per state slot, in steps of
 * STEP_ROWS rows (inTurns() lets the event loop run between them).
 */
export function* tallySteps(c: Columns, rows?: Uint32Array): Steps<Tallies> {
  const t: Tallies = { protocols: new Uint32Array(256), v6Protocols: new Uint32Array(256), protocolBytes: new Float64Array(512), states: new Uint32Array(256), stateBytes: new Float64Array(512), v6: 0, rows: 0 };
  const n = rows ? rows.length : c.size;
  for (let i = 0; i < n; i++) {
    if (i && i % STEP_ROWS === 0) yield;
    const row = rows ? rows[i] : i;
    const protocol = c.protocol[row];
    const state = protocol === UDP ? (c.status[row] & SEEN_REPLY ? UDP_REPLIED : UDP_UNREPLIED) : protocol === TCP ? c.state[row] : NO_STATE_SLOT;
    const v6 = c.family[row];
    t.protocols[protocol]++;
    t.v6Protocols[protocol] += v6;
    t.states[state]++;
    t.v6 += v6;
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

/** The tallies of a whole snapshot (its Columns), kept while it lives: a snapshot never changes. */
const wholeTallies = new WeakMap<Columns, Tallies>();

/** tallySteps() of every row, computed once per snapshot. */
export function* wholeTallySteps(c: Columns): Steps<Tallies> {
  const cached = wholeTallies.get(c);
  if (cached) return cached;
  const tallies = yield* tallySteps(c);
  wholeTallies.set(c, tallies);
  return tallies;
}

/** Entries per protocol name, TCP state and family, from the tallies of every row. */
export function summaryOf(c: Columns, t: Tallies): SnapshotSummary {
  const byProtocol: Record<string, number> = {};
  for (let p = 0; p < 256; p++) if (t.protocols[p]) byProtocol[protocolName(p)] = t.protocols[p];
  const byState: Record<string, number> = {};
  for (let s = 0; s < TCP_STATES.length; s++) if (t.states[s]) byState[TCP_STATES[s]] = t.states[s];
  return { byProtocol, byState, byFamily: { ipv4: c.size - t.v6, ipv6: t.v6 } };
}
