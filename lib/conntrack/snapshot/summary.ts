// How many entries of each kind a snapshot holds: what the console's header shows.
import { PROTOCOL_NAMES, TCP_STATES } from '../constants';
import type { Family } from '../types';
import type { Columns } from './columns';

/** How many entries of each kind a snapshot holds (zero counts left out). */
export interface SnapshotSummary {
  /** By protocol name (tcp, udp, icmp, icmpv6, ...; the number as text when unnamed). */
  byProtocol: Record<string, number>;
  /** TCP entries by state. */
  byState: Record<string, number>;
  byFamily: Record<Family, number>;
}

/** Entries per protocol name, TCP state and family, counted in one pass (into typed-array tallies). */
export function summarize(c: Columns): SnapshotSummary {
  const protocols = new Uint32Array(256);
  const states = new Uint32Array(256);
  let v6 = 0;
  for (let row = 0; row < c.size; row++) {
    protocols[c.protocol[row]]++;
    states[c.state[row]]++;
    v6 += c.family[row];
  }
  const byProtocol: Record<string, number> = {};
  for (let p = 0; p < 256; p++) if (protocols[p]) byProtocol[PROTOCOL_NAMES[p] ?? String(p)] = protocols[p];
  const byState: Record<string, number> = {};
  for (let s = 0; s < TCP_STATES.length; s++) if (states[s]) byState[TCP_STATES[s]] = states[s];
  return { byProtocol, byState, byFamily: { ipv4: c.size - v6, ipv6: v6 } };
}
