// The traffic generator against the real kernel: every entry kind it promises shows up in the router's conntrack
// table (read with conntrack(8)), with the NAT the lab's rules imply. Expectations come from the generator's own
// description and the lab's address plan.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLab,
  failover,
  generateTraffic,
  readConntrackTable,
  startChurn,
  TRAFFIC_KINDS,
  type GeneratedFlow,
  type GeneratedTraffic,
  type Lab,
  type TableEntry,
  type TrafficKind,
} from '@/lib/lab';
import { entryOf as entryOfFlow, flowsOf as flowsOfKind } from '../support/flows';

let lab: Lab;
let traffic: GeneratedTraffic;
let table: TableEntry[];

beforeAll(async () => {
  lab = await createLab();
  traffic = await generateTraffic(lab);
  table = await readConntrackTable(lab.namespaces.router);
});

afterAll(async () => {
  await lab?.destroy();
});

const entryOf = (flow: GeneratedFlow, entries: TableEntry[] = table): TableEntry => entryOfFlow(flow, entries);
const flowsOf = (kind: TrafficKind): GeneratedFlow[] => flowsOfKind(traffic, kind);

/** Sockets in TIME-WAIT in a lab namespace, as `local peer` address pairs printed by ss. */
async function timeWaitSockets(role: 'lan' | 'internet'): Promise<string[]> {
  const { stdout } = await lab.exec(role, 'ss', ['-Htan', 'state', 'time-wait']);
  return stdout.split('\n').filter(Boolean).map((line) => line.trim().split(/\s+/).slice(-2).join(' '));
}

const endpoint = (address: string, port: number | undefined) => `${address.includes(':') ? `[${address}]` : address}:${port}`;

describe('traffic generator', () => {
  it('describes one flow per kind and family, each on the WAN the router used', () => {
    expect(new Set(traffic.flows.map((flow) => flow.kind))).toEqual(new Set(TRAFFIC_KINDS));
    expect(traffic.flows).toHaveLength(TRAFFIC_KINDS.length * 2);
    for (const flow of traffic.flows) expect(flow.wan).toBe('wan1');
  });

  it('every flow has its own entry, with the NAT the rules imply and counters from nf_conntrack_acct', () => {
    for (const flow of traffic.flows) {
      const entry = entryOf(flow);
      if (flow.direction === 'outbound') {
        // SNAT/masquerade: replies come back to the WAN address.
        expect(entry.reply.src).toBe(flow.original.dst);
        expect(entry.reply.dst).toBe(lab.addresses[flow.wan].router[flow.family]);
      } else {
        // DNAT: the real server answers.
        expect(entry.reply.src).toBe(lab.addresses.lan.server[flow.family]);
        expect(entry.reply.sport).toBe(lab.addresses.ports.lanServer);
        expect(entry.reply.dst).toBe(flow.original.src);
      }
      expect(entry.counters?.original.packets).toBeGreaterThan(0);
    }
  });

  it('open connections are ESTABLISHED and ASSURED', () => {
    for (const kind of ['tcp-established', 'tcp-idle', 'dnat-inbound'] as const) {
      for (const flow of flowsOf(kind)) {
        const entry = entryOf(flow);
        expect(flow.open).toBe(true);
        expect([kind, entry.state, entry.assured, entry.unreplied]).toEqual([kind, 'ESTABLISHED', true, false]);
      }
    }
    // The idle connection carried no payload: the server sent less than the chatty one's echo.
    const replyBytes = (kind: TrafficKind) => flowsOf(kind).map((flow) => entryOf(flow).counters?.reply.bytes ?? 0);
    const chatty = replyBytes('tcp-established');
    replyBytes('tcp-idle').forEach((bytes, i) => expect(bytes).toBeLessThan(chatty[i]));
  });

  it('a client-closed connection is in TIME_WAIT, and the client (who sent the first FIN) holds the TIME-WAIT socket', async () => {
    const lanTimeWait = await timeWaitSockets('lan');
    for (const flow of flowsOf('tcp-client-closed')) {
      expect(entryOf(flow).state).toBe('TIME_WAIT');
      expect(lanTimeWait).toContain(`${endpoint(flow.original.src, flow.original.sport)} ${endpoint(flow.original.dst, flow.original.dport)}`);
    }
  });

  it('a server-closed connection is in TIME_WAIT, and the server (who sent the first FIN) holds the TIME-WAIT socket', async () => {
    const [lanTimeWait, internetTimeWait] = await Promise.all([timeWaitSockets('lan'), timeWaitSockets('internet')]);
    for (const flow of flowsOf('tcp-server-closed')) {
      const entry = entryOf(flow);
      expect(entry.state).toBe('TIME_WAIT');
      // The server sees the NATed client: the reply tuple, seen from the server's side.
      expect(internetTimeWait).toContain(`${endpoint(entry.reply.src, entry.reply.sport)} ${endpoint(entry.reply.dst, entry.reply.dport)}`);
      expect(lanTimeWait.some((pair) => pair.startsWith(`${endpoint(flow.original.src, flow.original.sport)} `))).toBe(false);
    }
  });

  it('a reset connection is in CLOSE', () => {
    for (const flow of flowsOf('tcp-reset')) expect(entryOf(flow).state).toBe('CLOSE');
  });

  it('a half-open connection is SYN_SENT and UNREPLIED', () => {
    for (const flow of flowsOf('tcp-half-open')) {
      const entry = entryOf(flow);
      expect([entry.state, entry.unreplied, entry.assured]).toEqual(['SYN_SENT', true, false]);
      expect(entry.counters?.reply.packets).toBe(0);
    }
  });

  it('UDP is replied or UNREPLIED as described', () => {
    for (const flow of flowsOf('udp-replied')) expect(entryOf(flow).unreplied).toBe(false);
    for (const flow of flowsOf('udp-unreplied')) expect(entryOf(flow).unreplied).toBe(true);
  });

  it('ICMP and ICMPv6 echo are tracked and answered', () => {
    for (const flow of flowsOf('icmp-echo')) {
      expect(flow.protocol).toBe(flow.family === 'ipv4' ? 'icmp' : 'icmpv6');
      const entry = entryOf(flow);
      expect(entry.unreplied).toBe(false);
      // Echo request out, echo reply back (ICMP 8/0, ICMPv6 128/129).
      expect([entry.original.icmp?.type, entry.reply.icmp?.type]).toEqual(flow.family === 'ipv4' ? [8, 0] : [128, 129]);
    }
  });

  it('after failover new flows leave through wan2 while the wan1 entries stay', async () => {
    expect(await failover(lab)).toBe('wan2');
    const after = await generateTraffic(lab, { kinds: ['tcp-established', 'udp-replied', 'icmp-echo', 'dnat-inbound'] });
    const now = await readConntrackTable(lab.namespaces.router);
    for (const flow of after.flows) {
      const entry = entryOf(flow, now);
      if (flow.direction === 'outbound') {
        expect(flow.wan).toBe('wan2');
        expect(entry.reply.dst).toBe(lab.addresses.wan2.router[flow.family]);
      } else {
        // The port forward lives on wan1 only.
        expect(flow.wan).toBe('wan1');
        expect(entry.reply.src).toBe(lab.addresses.lan.server[flow.family]);
      }
    }
    for (const flow of flowsOf('tcp-established')) {
      expect(entryOf(flow, now).reply.dst).toBe(lab.addresses.wan1.router[flow.family]);
    }
    expect(await failover(lab)).toBe('wan1');
  });

  it('churn opens and closes connections at the given rate and closes everything on stop', async () => {
    const countEstablished = async () =>
      (await readConntrackTable(lab.namespaces.router)).filter((entry) => entry.state === 'ESTABLISHED').length;
    const baseline = await countEstablished();
    const churn = startChurn(lab, { perSecond: 40, lifetimeMs: 400 });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const during = await countEstablished();
    await churn.stop();
    const stats = churn.stats();
    expect(stats.failed).toBe(0);
    expect(stats.opened).toBeGreaterThan(20);
    expect(stats.closed).toBe(stats.opened);
    expect(stats.udpExchanges).toBeGreaterThan(0);
    expect(stats.open).toBe(0);
    expect(during).toBeGreaterThan(baseline);
    expect(await countEstablished()).toBe(baseline);
  });
});
