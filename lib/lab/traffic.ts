// Traffic that leaves every kind of conntrack entry an admin meets in the router's table, and a description of it
// so tests can find each entry without hard-coding the table.
import type { DualStack, Family, Wan } from './addresses';
import type { Lab } from './lab';
import { activeWan } from './uplinks';
import type { TcpBehaviour } from './protocol';

export type TrafficKind =
  | 'tcp-established'
  | 'tcp-idle'
  | 'tcp-client-closed'
  | 'tcp-server-closed'
  | 'tcp-reset'
  | 'tcp-half-open'
  | 'udp-replied'
  | 'udp-unreplied'
  | 'icmp-echo'
  | 'dnat-inbound';

export const TRAFFIC_KINDS: readonly TrafficKind[] = [
  'tcp-established',
  'tcp-idle',
  'tcp-client-closed',
  'tcp-server-closed',
  'tcp-reset',
  'tcp-half-open',
  'udp-replied',
  'udp-unreplied',
  'icmp-echo',
  'dnat-inbound',
];

export type FlowProtocol = 'tcp' | 'udp' | 'icmp' | 'icmpv6';

export interface GeneratedFlow {
  kind: TrafficKind;
  family: Family;
  protocol: FlowProtocol;
  /** The original-direction tuple as it reaches the router (before NAT): ports, or the ICMP echo identifier. */
  original: { src: string; dst: string; sport?: number; dport?: number; icmpId?: number };
  /**
   * `outbound`: from the LAN, source-NATed to `wan`'s router address (the reply tuple's destination).
   * `inbound`: from the internet to `wan`'s forwarded port, destination-NATed to the LAN server (the reply's source).
   */
  direction: 'outbound' | 'inbound';
  wan: Wan;
  /** Whether the flow is kept open (a socket or a ping still running) until `stop()` or lab destroy. */
  open: boolean;
}

export interface GeneratedTraffic {
  flows: GeneratedFlow[];
  /** Ends the flows that were kept open (the entries then close as the kernel sees FINs or time out). */
  stop(): Promise<void>;
}

export interface TrafficOptions {
  /** Default: every kind. */
  kinds?: readonly TrafficKind[];
  /** Default: both. */
  families?: readonly Family[];
  /**
   * Demo mode: established connections send a line every 5 s and ICMP echo keeps pinging every 2 s, so counters move
   * and entries do not time out. Default false: one exchange, one ping.
   */
  keepAlive?: boolean;
}

const TCP_BEHAVIOUR: Partial<Record<TrafficKind, TcpBehaviour>> = {
  'tcp-established': 'chatty',
  'tcp-idle': 'idle',
  'tcp-client-closed': 'client-close',
  'tcp-server-closed': 'server-close',
  'tcp-reset': 'reset',
  'tcp-half-open': 'half-open',
  'dnat-inbound': 'chatty',
};

const KEEP_ALIVE_CHAT_MS = 5000;

// Echo identifiers distinguish pings between the same two hosts; a process-wide counter keeps them apart.
let icmpIdCounter = Math.floor(Math.random() * 0xffff);
function nextIcmpId(): number {
  icmpIdCounter = (icmpIdCounter + 1) & 0xffff;
  return icmpIdCounter;
}
const KEEP_ALIVE_PING_SECONDS = 2;

/** Runs one flow of each requested kind and family; outbound flows use the WAN the router routes through now. */
export async function generateTraffic(lab: Lab, options: TrafficOptions = {}): Promise<GeneratedTraffic> {
  const kinds = options.kinds ?? TRAFFIC_KINDS;
  const families = options.families ?? ['ipv4', 'ipv6'];
  const wan = await activeWan(lab);
  const a = lab.addresses;
  const handles: { role: 'lan' | 'internet'; handle: number }[] = [];
  const flows: GeneratedFlow[] = [];
  let clientIndex = 0;
  const nextClient = (): DualStack => a.lan.clients[clientIndex++ % a.lan.clients.length];

  const closeOpenFlows = async () => {
    for (const { role, handle } of handles.splice(0)) await lab.agent(role).send({ op: 'close', handle }).catch(() => {});
  };
  const unregister = lab.onDestroy(closeOpenFlows);
  const stop = async () => {
    unregister();
    await closeOpenFlows();
  };

  for (const family of families) {
    for (const kind of kinds) {
      const server = a.internet.server[family];
      if (kind === 'dnat-inbound') {
        const src = a.internet.client[family];
        const dst = a.wan1.router[family];
        const result = await lab.agent('internet').send({
          op: 'tcp', local: src, remote: dst, port: a.ports.forwarded, behaviour: 'chatty',
          chatIntervalMs: options.keepAlive ? KEEP_ALIVE_CHAT_MS : undefined,
        });
        if (result.handle !== undefined) handles.push({ role: 'internet', handle: result.handle });
        flows.push({
          kind, family, protocol: 'tcp', direction: 'inbound', wan: 'wan1', open: true,
          original: { src, dst, sport: result.localPort, dport: a.ports.forwarded },
        });
        continue;
      }
      const src = nextClient()[family];
      const behaviour = TCP_BEHAVIOUR[kind];
      if (behaviour) {
        const port = kind === 'tcp-half-open' ? a.ports.blackhole : a.ports.echo;
        const result = await lab.agent('lan').send({
          op: 'tcp', local: src, remote: server, port, behaviour,
          chatIntervalMs: options.keepAlive && behaviour === 'chatty' ? KEEP_ALIVE_CHAT_MS : undefined,
        });
        if (result.handle !== undefined) handles.push({ role: 'lan', handle: result.handle });
        flows.push({
          kind, family, protocol: 'tcp', direction: 'outbound', wan, open: result.handle !== undefined,
          original: { src, dst: server, sport: result.localPort, dport: port },
        });
      } else if (kind === 'udp-replied' || kind === 'udp-unreplied') {
        const replied = kind === 'udp-replied';
        const port = replied ? a.ports.echo : a.ports.blackhole;
        const result = await lab.agent('lan').send({ op: 'udp', local: src, remote: server, port, expectReply: replied });
        flows.push({
          kind, family, protocol: 'udp', direction: 'outbound', wan, open: false,
          original: { src, dst: server, sport: result.localPort, dport: port },
        });
      } else {
        const identifier = nextIcmpId();
        const ping = { op: 'ping', family, local: src, remote: server, identifier } as const;
        const result = await lab.agent('lan').send(
          options.keepAlive ? { ...ping, intervalSeconds: KEEP_ALIVE_PING_SECONDS } : { ...ping, count: 1, intervalSeconds: 1 },
        );
        if (result.handle !== undefined) handles.push({ role: 'lan', handle: result.handle });
        flows.push({
          kind, family, protocol: family === 'ipv4' ? 'icmp' : 'icmpv6', direction: 'outbound', wan,
          open: result.handle !== undefined, original: { src, dst: server, icmpId: identifier },
        });
      }
    }
  }
  return { flows, stop };
}
