// Finding the table entry of a flow the lab's traffic generator made, for integration tests that read the table
// through conntrack(8) (TableEntry) or through the library (Connection).
import { expect } from 'vitest';
import { PROTOCOL_NAMES } from '@/lib/conntrack/constants';
import type { GeneratedFlow, GeneratedTraffic, TrafficKind } from '@/lib/lab';

/** What both entry shapes have: a TableEntry names its protocol, a Connection numbers it in the tuple. */
interface FlowEntry {
  family: string;
  protocol?: string;
  original: { src: string; dst: string; sport?: number; dport?: number; protocol?: number; icmp?: { id: number } };
}

function sameFlow(flow: GeneratedFlow, entry: FlowEntry): boolean {
  const { src, dst, sport, dport, icmpId } = flow.original;
  const protocol = entry.protocol ?? (entry.original.protocol === undefined ? undefined : PROTOCOL_NAMES[entry.original.protocol]);
  return (
    entry.family === flow.family &&
    protocol === flow.protocol &&
    entry.original.src === src &&
    entry.original.dst === dst &&
    entry.original.sport === sport &&
    entry.original.dport === dport &&
    entry.original.icmp?.id === icmpId
  );
}

/** The one entry of a generated flow (by family, protocol and original tuple); the test fails unless exactly one. */
export function entryOf<E extends FlowEntry>(flow: GeneratedFlow, entries: readonly E[]): E {
  const found = entries.filter((entry) => sameFlow(flow, entry));
  expect(found, `${flow.kind} ${flow.family} ${JSON.stringify(flow.original)}`).toHaveLength(1);
  return found[0];
}

/** The generated flows of a kind: one per family. */
export function flowsOf(traffic: GeneratedTraffic, kind: TrafficKind): GeneratedFlow[] {
  const flows = traffic.flows.filter((flow) => flow.kind === kind);
  expect(flows.map((flow) => flow.family).sort()).toEqual(['ipv4', 'ipv6']);
  return flows;
}
