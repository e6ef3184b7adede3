// `ip -j` as the oracle for lib/router: what iproute2 shows of a namespace, and the same of a Router, as sorted
// lines in one plain format, so a test compares the two with toEqual and a failure shows the difference.
import { execIn } from '@/lib/lab/namespace';
import type { Router } from '@/lib/router';
import { MAIN_TABLE, type Topology } from '@/lib/router/types';

export interface TopologyLines {
  links: string[];
  addresses: string[];
  routes: string[];
  rules: string[];
  neighbours: string[];
}

interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  address?: string;
  linkinfo?: { info_kind?: string };
}
interface IpAddress {
  ifindex: number;
  addr_info: { family: string; local: string; prefixlen: number }[];
}
interface IpRoute {
  type?: string;
  dst: string;
  dev?: string;
  table?: string;
}
interface IpRule {
  priority: number;
  src: string;
  srclen?: number;
  dst?: string;
  dstlen?: number;
  fwmark?: string;
  fwmask?: string;
  table?: string;
  action?: string;
}
interface IpNeighbour {
  dst: string;
  dev: string;
  lladdr?: string;
}

const TABLE_NAMES: Record<number, string> = { 253: 'default', [MAIN_TABLE]: 'main', 255: 'local' };
const tableName = (table: number): string => TABLE_NAMES[table] ?? String(table);
const sorted = (lines: string[]): string[] => [...lines].sort();

async function ipJson<T>(netns: string, args: string[]): Promise<T> {
  const { stdout } = await execIn(netns, 'ip', ['-j', ...args]);
  return JSON.parse(stdout || '[]') as T;
}

/** A route destination as ip prints it: "default", a bare host address, or "prefix/length". */
function routeDst(dst: string, length: number, family: 'ipv4' | 'ipv6'): string {
  if (length === 0) return 'default';
  return length === (family === 'ipv4' ? 32 : 128) ? dst : `${dst}/${length}`;
}

export async function ipTopology(netns: string): Promise<TopologyLines> {
  const links = await ipJson<IpLink[]>(netns, ['-d', 'link', 'show']);
  const names = new Map(links.map((l) => [l.ifindex, l.ifname]));
  const addresses = await ipJson<IpAddress[]>(netns, ['addr', 'show']);
  const routes: string[] = [];
  for (const family of ['ipv4', 'ipv6'] as const) {
    for (const r of await ipJson<IpRoute[]>(netns, [family === 'ipv4' ? '-4' : '-6', 'route', 'show', 'table', 'all'])) {
      routes.push(`${family} ${r.table ?? 'main'} ${r.type ?? 'unicast'} ${r.dst} ${r.dev ?? '-'}`);
    }
  }
  const rules: string[] = [];
  for (const family of ['ipv4', 'ipv6'] as const) {
    for (const r of await ipJson<IpRule[]>(netns, [family === 'ipv4' ? '-4' : '-6', 'rule', 'show'])) {
      const src = r.src === 'all' ? 'all' : `${r.src}/${r.srclen ?? (family === 'ipv4' ? 32 : 128)}`;
      const dst = r.dst ? `${r.dst}/${r.dstlen ?? (family === 'ipv4' ? 32 : 128)}` : 'all';
      const mark = r.fwmark ? `${Number(r.fwmark)}/${r.fwmask ? Number(r.fwmask) : 0xffffffff}` : '-';
      rules.push(`${family} ${r.priority} from ${src} to ${dst} mark ${mark} ${r.action ?? 'lookup'} ${r.table ?? '-'}`);
    }
  }
  const neighbours = (await ipJson<IpNeighbour[]>(netns, ['neigh', 'show', 'nud', 'all'])).map((n) => `${n.dev} ${n.dst} ${n.lladdr ?? '-'}`);
  return {
    links: sorted(
      links.map((l) => `${l.ifindex} ${l.ifname} up=${l.flags.includes('UP')} carrier=${l.flags.includes('LOWER_UP')} kind=${l.linkinfo?.info_kind ?? '-'} mac=${l.address ?? '-'}`),
    ),
    addresses: sorted(
      addresses.flatMap((l) => l.addr_info.map((a) => `${names.get(l.ifindex)} ${a.family === 'inet' ? 'ipv4' : 'ipv6'} ${a.local}/${a.prefixlen}`)),
    ),
    routes: sorted(routes),
    rules: sorted(rules),
    neighbours: sorted(neighbours),
  };
}

export function routerTopology(router: Router): TopologyLines {
  const t: Topology = router.topology();
  const name = (index: number | undefined) => (index === undefined ? '-' : (router.link(index)?.name ?? `if${index}`));
  return {
    links: sorted(t.links.map((l) => `${l.index} ${l.name} up=${l.up} carrier=${l.carrier} kind=${l.kind ?? '-'} mac=${l.mac ?? '-'}`)),
    addresses: sorted(t.addresses.map((a) => `${name(a.index)} ${a.family} ${a.address}/${a.prefixLength}`)),
    routes: sorted(
      t.routes.map((r) => {
        // ip prints blackhole/unreachable/prohibit routes without their (loopback) device.
        const dev = ['blackhole', 'unreachable', 'prohibit'].includes(r.type) && r.family === 'ipv4' ? '-' : name(r.oif);
        return `${r.family} ${tableName(r.table)} ${r.type} ${routeDst(r.dst, r.dstLength, r.family)} ${dev}`;
      }),
    ),
    rules: sorted(
      t.rules.map((r) => {
        const src = r.src ? `${r.src}/${r.srcLength}` : 'all';
        const dst = r.dst ? `${r.dst}/${r.dstLength}` : 'all';
        const mark = r.fwmark !== undefined ? `${r.fwmark}/${r.fwmask ?? 0xffffffff}` : '-';
        const action = r.action === 'lookup' ? 'lookup' : r.action;
        return `${r.family} ${r.priority} from ${src} to ${dst} mark ${mark} ${action} ${r.action === 'lookup' ? tableName(r.table) : '-'}`;
      }),
    ),
    neighbours: sorted(t.neighbours.map((n) => `${name(n.index)} ${n.address} ${n.mac ?? '-'}`)),
  };
}
