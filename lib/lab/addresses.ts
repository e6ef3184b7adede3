// The lab's address plan. Documentation and private ranges only, and only inside the lab's namespaces, so every lab
// uses the same plan: two labs never share a link.
import type { Family } from '@/lib/conntrack/types';

export type { Family };

export interface DualStack {
  ipv4: string;
  ipv6: string;
}

export type Wan = 'wan1' | 'wan2';

export interface WanAddresses {
  /** The router's external address on this uplink: what SNAT/masquerade rewrites sources to. */
  router: DualStack;
  /** The internet side of the uplink: the router's next hop. */
  gateway: DualStack;
}

export interface LabAddresses {
  lan: {
    /** The router's LAN address, the clients' default gateway. */
    gateway: DualStack;
    clients: readonly DualStack[];
    /** The LAN server that wan1's forwarded port leads to. */
    server: DualStack;
  };
  wan1: WanAddresses;
  wan2: WanAddresses;
  internet: {
    /** Answers TCP and UDP echo on `ports.echo`, and ping. */
    server: DualStack;
    /** Source of inbound (port-forwarded) connections. */
    client: DualStack;
  };
  ports: {
    /** TCP and UDP echo on the internet server. */
    echo: number;
    /** The internet namespace drops TCP SYNs and UDP datagrams to this port: half-open and unreplied flows. */
    blackhole: number;
    /** TCP port on wan1 forwarded (DNAT) to the LAN server. */
    forwarded: number;
    /** Where the LAN server listens. */
    lanServer: number;
    /** The internet server's FTP-like control port; the router's ftp helper watches it. */
    ftp: number;
  };
  /** The conntrack zone the router gives traffic between the LAN and the router itself. */
  routerZone: number;
  /** Marks the router sets on new connections by uplink (VyOS WAN load-balancing style: bits 0x3f00). */
  wanMarks: Record<Wan, number>;
  /** Connection label bits the router sets (names in LAB_CONNLABELS). */
  labels: { ftpControl: number; secondClient: number };
}

export const LAB_ADDRESSES: LabAddresses = {
  lan: {
    gateway: { ipv4: '192.168.50.1', ipv6: 'fd00:50::1' },
    clients: [
      { ipv4: '192.168.50.10', ipv6: 'fd00:50::10' },
      { ipv4: '192.168.50.11', ipv6: 'fd00:50::11' },
    ],
    server: { ipv4: '192.168.50.20', ipv6: 'fd00:50::20' },
  },
  wan1: {
    router: { ipv4: '198.51.100.2', ipv6: '2001:db8:1::2' },
    gateway: { ipv4: '198.51.100.1', ipv6: '2001:db8:1::1' },
  },
  wan2: {
    router: { ipv4: '203.0.113.2', ipv6: '2001:db8:2::2' },
    gateway: { ipv4: '203.0.113.1', ipv6: '2001:db8:2::1' },
  },
  internet: {
    server: { ipv4: '192.0.2.10', ipv6: '2001:db8:ff::10' },
    client: { ipv4: '192.0.2.100', ipv6: '2001:db8:ff::100' },
  },
  ports: { echo: 7, blackhole: 9, forwarded: 8080, lanServer: 8000, ftp: 21 },
  routerZone: 7,
  wanMarks: { wan1: 0x100, wan2: 0x200 },
  labels: { ftpControl: 1, secondClient: 2 },
};

/** connlabel.conf for the lab's label bits (what the demo points the console's label-names setting at). */
export const LAB_CONNLABELS = `# conntrack labels the lab router sets
${LAB_ADDRESSES.labels.ftpControl} ftp-control
${LAB_ADDRESSES.labels.secondClient} second-client
`;

/** The lab LAN's hosts by name, as a DHCP server would know them: the clients in order, then the LAN server. */
export const LAB_HOST_NAMES = ['laptop', 'phone', 'nas'] as const;

/**
 * A dnsmasq lease file for the lab LAN (what the demo points the console's name files at): each host's IPv4 lease
 * with a MAC, and after the duid line its DHCPv6 lease. `expiresAt` in seconds since the epoch.
 */
export function labLeases(expiresAt: number): string {
  const hosts = [...LAB_ADDRESSES.lan.clients, LAB_ADDRESSES.lan.server];
  const mac = (i: number) => `02:00:00:00:50:${(0x10 + i).toString(16)}`;
  const v4 = hosts.map((h, i) => `${expiresAt} ${mac(i)} ${h.ipv4} ${LAB_HOST_NAMES[i]} 01:${mac(i)}`);
  const v6 = hosts.map((h, i) => `${expiresAt} ${1000 + i} ${h.ipv6} ${LAB_HOST_NAMES[i]} 00:03:00:01:${mac(i)}`);
  return [...v4, 'duid 00:01:00:01:2c:00:00:00:02:00:00:00:50:01', ...v6, ''].join('\n');
}

/**
 * A hosts file for the lab router's own names, as an administrator keeps one; its last line is malformed on purpose,
 * so the demo's Router page shows how a file's bad lines are reported (the rest of the file still counts).
 */
export const LAB_HOSTS = `# the lab router's own names
${LAB_ADDRESSES.lan.gateway.ipv4} router.lan gateway
${LAB_ADDRESSES.lan.gateway.ipv6} router.lan gateway
${LAB_ADDRESSES.lan.gateway.ipv4}/24 lan-network
`;

/** PTR names the lab's resolver gives the internet side (reverse DNS in the demo). */
export const LAB_PTR_NAMES: Record<string, string> = {
  [LAB_ADDRESSES.internet.server.ipv4]: 'echo.example.net',
  [LAB_ADDRESSES.internet.server.ipv6]: 'echo.example.net',
  [LAB_ADDRESSES.internet.client.ipv4]: 'visitor.example.org',
  [LAB_ADDRESSES.wan1.gateway.ipv4]: 'gw.isp-one.example',
  [LAB_ADDRESSES.wan2.gateway.ipv4]: 'gw.isp-two.example',
};

/** An address the lab's resolver never answers for (a zone whose servers are down): it costs one timeout, once. */
export const LAB_PTR_SILENT: readonly string[] = [LAB_ADDRESSES.internet.client.ipv6];

export const PREFIX_LENGTH: Record<Family, number> = { ipv4: 24, ipv6: 64 };
