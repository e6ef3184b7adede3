// The lab: three namespaces, lan <-> router <-> internet, with the router NATing between the LAN and two uplinks.
//
//   lan (eth0) ---- (lan0) router (wan1) ---- (up1) internet (servers on lo)
//                          router (wan2) ---- (up2) internet
import { LAB_ADDRESSES, PREFIX_LENGTH, type Family, type LabAddresses } from './addresses';
import { startAgent, type Agent } from './agentClient';
import { addNamespace, newLabName, removeStaleLabs, type Namespace } from './namespace';
import { run, type CommandOutput } from './run';
import { WAN_TABLES, WANS } from './uplinks';

export type LabRole = 'lan' | 'router' | 'internet';
/** Namespaces that run an agent (the router only forwards). */
export type AgentRole = 'lan' | 'internet';

export interface Lab {
  /** `ctc-<pid>-<hex>`; the namespaces are `<name>-lan`, `<name>-router`, `<name>-internet`. */
  name: string;
  namespaces: Record<LabRole, string>;
  addresses: LabAddresses;
  exec(role: LabRole, cmd: string, args: readonly string[]): Promise<CommandOutput>;
  /** The agent keeping sockets alive in that namespace. */
  agent(role: AgentRole): Agent;
  /** Runs `fn` first thing in destroy() (used to stop churn and open flows). Returns a function that unregisters it. */
  onDestroy(fn: () => Promise<void>): () => void;
  /** Stops everything running in the lab and removes its namespaces. Safe to call twice. */
  destroy(): Promise<void>;
}

export interface LabOptions {
  /** Remove labs left by dead processes first (default true). */
  removeStale?: boolean;
}

const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];

// DAD would keep IPv6 addresses tentative (unusable) for a second or more; rp_filter could drop the asymmetric
// replies that follow a failover.
const COMMON_SYSCTLS: Record<string, string> = {
  'net.ipv6.conf.all.accept_dad': '0',
  'net.ipv6.conf.default.accept_dad': '0',
  'net.ipv4.conf.all.rp_filter': '0',
  'net.ipv4.conf.default.rp_filter': '0',
};

const ROUTER_SYSCTLS: Record<string, string> = {
  ...COMMON_SYSCTLS,
  'net.ipv4.ip_forward': '1',
  'net.ipv6.conf.all.forwarding': '1',
  // An uplink set down and up again keeps its IPv6 addresses, as IPv4 does (setWanLink).
  'net.ipv6.conf.all.keep_addr_on_down': '1',
  'net.ipv6.conf.default.keep_addr_on_down': '1',
};

/** Set after the NAT table is loaded (nf_conntrack's sysctls exist once the module is in) and before any traffic. */
const ROUTER_CONNTRACK_SYSCTLS = ['net.netfilter.nf_conntrack_acct=1', 'net.netfilter.nf_conntrack_timestamp=1'];

function addressLines(device: string, addresses: readonly { ipv4: string; ipv6: string }[]): string[] {
  return addresses.flatMap((address) =>
    FAMILIES.map((family) => `address add ${address[family]}/${PREFIX_LENGTH[family]} dev ${device}${family === 'ipv6' ? ' nodad' : ''}`),
  );
}

function routerRuleset(a: LabAddresses): string {
  const { forwarded, lanServer } = a.ports;
  return `
table inet ctc_nat {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "wan1" ip daddr ${a.wan1.router.ipv4} tcp dport ${forwarded} dnat ip to ${a.lan.server.ipv4}:${lanServer}
    iifname "wan1" ip6 daddr ${a.wan1.router.ipv6} tcp dport ${forwarded} dnat ip6 to [${a.lan.server.ipv6}]:${lanServer}
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan1" masquerade
    oifname "wan2" meta nfproto ipv4 snat ip to ${a.wan2.router.ipv4}
    oifname "wan2" meta nfproto ipv6 snat ip6 to ${a.wan2.router.ipv6}
  }
}
`;
}

// The router's other conntrack features, each on some traffic only: the kernel's ftp helper on connections to port
// 21 (so FTP passive mode creates expectations), a label on the FTP control connections and on everything from the
// second LAN client, a mark per uplink on new forwarded connections, and a zone for traffic between the LAN and the
// router itself (set before conntrack sees the packet, in both directions, so both directions share the zone).
function routerFeatureRuleset(a: LabAddresses): string {
  const second = a.lan.clients[1];
  return `
table inet ctc_features {
  ct helper ftp-standard {
    type "ftp" protocol tcp;
    l3proto inet;
  }
  chain raw_prerouting {
    type filter hook prerouting priority raw; policy accept;
    iifname "lan0" fib daddr type local ct zone set ${a.routerZone}
  }
  chain raw_output {
    type filter hook output priority raw; policy accept;
    oifname "lan0" ct zone set ${a.routerZone}
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    ct state new tcp dport ${a.ports.ftp} ct helper set "ftp-standard"
    ct state new tcp dport ${a.ports.ftp} ct label set ${a.labels.ftpControl}
    ct state new ip saddr ${second.ipv4} ct label set ${a.labels.secondClient}
    ct state new ip6 saddr ${second.ipv6} ct label set ${a.labels.secondClient}
  }
  chain postrouting {
    type filter hook postrouting priority filter; policy accept;
    ct state new oifname "wan1" ct mark set ${a.wanMarks.wan1}
    ct state new oifname "wan2" ct mark set ${a.wanMarks.wan2}
  }
}
`;
}

function internetRuleset(a: LabAddresses): string {
  return `
table inet ctc_blackhole {
  chain input {
    type filter hook input priority filter; policy accept;
    tcp dport ${a.ports.blackhole} drop
    udp dport ${a.ports.blackhole} drop
  }
}
`;
}

async function wire(ns: Record<LabRole, Namespace>, a: LabAddresses): Promise<void> {
  const batch = (namespace: Namespace, lines: string[]) => run('ip', ['-n', namespace.name, '-batch', '-'], { input: `${lines.join('\n')}\n` });
  await batch(ns.router, [
    `link add lan0 type veth peer name eth0 netns ${ns.lan.name}`,
    `link add wan1 type veth peer name up1 netns ${ns.internet.name}`,
    `link add wan2 type veth peer name up2 netns ${ns.internet.name}`,
  ]);
  await batch(ns.router, [
    ...addressLines('lan0', [a.lan.gateway]),
    ...addressLines('wan1', [a.wan1.router]),
    ...addressLines('wan2', [a.wan2.router]),
    'link set lan0 up',
    'link set wan1 up',
    'link set wan2 up',
    `route add default via ${a.wan1.gateway.ipv4} dev wan1`,
    `route add default via ${a.wan1.gateway.ipv6} dev wan1`,
    // mwan3-style: each uplink's own table with its default route (policy rules may select them).
    ...WANS.flatMap((wan) => FAMILIES.map((family) => `route add default via ${a[wan].gateway[family]} dev ${wan} table ${WAN_TABLES[wan]}`)),
  ]);
  await batch(ns.lan, [
    ...addressLines('eth0', [...a.lan.clients, a.lan.server]),
    'link set eth0 up',
    `route add default via ${a.lan.gateway.ipv4}`,
    `route add default via ${a.lan.gateway.ipv6}`,
  ]);
  await batch(ns.internet, [
    ...addressLines('up1', [a.wan1.gateway]),
    ...addressLines('up2', [a.wan2.gateway]),
    // On loopback: this kernel may have no dummy interfaces, and the servers only need to be local addresses.
    ...addressLines('lo', [a.internet.server, a.internet.client]),
    'link set up1 up',
    'link set up2 up',
  ]);
  await ns.router.exec('nft', ['-f', '-'], { input: routerRuleset(a) });
  await ns.router.exec('nft', ['-f', '-'], { input: routerFeatureRuleset(a) });
  await ns.router.exec('sysctl', ['-q', '-w', ...ROUTER_CONNTRACK_SYSCTLS]);
  await ns.internet.exec('nft', ['-f', '-'], { input: internetRuleset(a) });
}

async function startServers(agents: Record<AgentRole, Agent>, a: LabAddresses): Promise<void> {
  for (const family of FAMILIES) {
    await agents.internet.send({ op: 'listen-tcp', address: a.internet.server[family], port: a.ports.echo });
    await agents.internet.send({ op: 'listen-udp', address: a.internet.server[family], port: a.ports.echo });
    await agents.lan.send({ op: 'listen-tcp', address: a.lan.server[family], port: a.ports.lanServer });
    await agents.internet.send({ op: 'listen-ftp', address: a.internet.server[family], port: a.ports.ftp });
  }
}

/** Builds a lab with a unique name; the router's default routes go through wan1 (tables 101 and 102: one uplink each). */
export async function createLab(options: LabOptions = {}): Promise<Lab> {
  if (options.removeStale ?? true) await removeStaleLabs();
  const name = newLabName();
  const created: Namespace[] = [];
  const agents: Partial<Record<AgentRole, Agent>> = {};
  const destroyHooks = new Set<() => Promise<void>>();
  let destroyed: Promise<void> | null = null;

  const destroy = (): Promise<void> => {
    destroyed ??= (async () => {
      const hooks = [...destroyHooks].reverse();
      destroyHooks.clear();
      for (const hook of hooks) await hook().catch(() => {});
      await Promise.all(Object.values(agents).map((agent) => agent.stop()));
      for (const namespace of created) await namespace.destroy();
    })();
    return destroyed;
  };

  try {
    const add = async (role: LabRole, sysctls: Record<string, string>) => {
      const namespace = await addNamespace(`${name}-${role}`, { sysctls });
      created.push(namespace);
      return namespace;
    };
    const ns: Record<LabRole, Namespace> = {
      lan: await add('lan', COMMON_SYSCTLS),
      router: await add('router', ROUTER_SYSCTLS),
      internet: await add('internet', COMMON_SYSCTLS),
    };
    await wire(ns, LAB_ADDRESSES);
    [agents.lan, agents.internet] = await Promise.all([startAgent(ns.lan.name), startAgent(ns.internet.name)]);
    const started = { lan: agents.lan, internet: agents.internet };
    await startServers(started, LAB_ADDRESSES);
    return {
      name,
      namespaces: { lan: ns.lan.name, router: ns.router.name, internet: ns.internet.name },
      addresses: LAB_ADDRESSES,
      exec: (role, cmd, args) => ns[role].exec(cmd, args),
      agent: (role) => started[role],
      onDestroy: (fn) => {
        destroyHooks.add(fn);
        return () => destroyHooks.delete(fn);
      },
      destroy,
    };
  } catch (error) {
    await destroy();
    throw error;
  }
}
