// What happens to a router's uplinks, as lab functions: a new address (a PPPoE reconnect), a carrier cut (the
// peer side down: what mwan3's ping tracking notices), the link set down, the default route moved (failover()).
// They take only the lab's name and exec, so the demo's console process can drive a lab another process built.
import { LAB_ADDRESSES, PREFIX_LENGTH, type DualStack, type Family, type LabAddresses, type Wan } from './addresses';
import { execIn } from './namespace';
import { run, type CommandOutput } from './run';

/** The part of a Lab these functions need (a whole Lab, or attachLab's handle on one another process made). */
export interface LabHandle {
  name: string;
  addresses: LabAddresses;
  exec(role: 'lan' | 'router' | 'internet', cmd: string, args: readonly string[]): Promise<CommandOutput>;
}

/** mwan3 keeps one table per uplink with that uplink's default route; the lab does the same. */
export const WAN_TABLES: Record<Wan, number> = { wan1: 101, wan2: 102 };
export const WANS: readonly Wan[] = ['wan1', 'wan2'];
const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];
const familyFlag = (family: Family) => (family === 'ipv4' ? '-4' : '-6');
/** The peer interface of each uplink, in the internet namespace. */
const PEER: Record<Wan, string> = { wan1: 'up1', wan2: 'up2' };

/** A handle on a lab created by another process (the demo), by its `ctc-<pid>-<hex>` name. */
export function attachLab(name: string): LabHandle {
  if (!/^ctc-\d+-[0-9a-f]{4}$/.test(name)) throw new Error(`not a lab name: ${name}`);
  return { name, addresses: LAB_ADDRESSES, exec: (role, cmd, args) => execIn(`${name}-${role}`, cmd, args) };
}

/** The router's addresses on the uplink now (global scope), read from the kernel. */
export async function wanAddresses(lab: LabHandle, wan: Wan): Promise<DualStack> {
  const { stdout } = await lab.exec('router', 'ip', ['-j', 'address', 'show', 'dev', wan, 'scope', 'global']);
  const info = (JSON.parse(stdout || '[]') as { addr_info: { family: string; local: string }[] }[]).flatMap((l) => l.addr_info);
  return { ipv4: info.find((a) => a.family === 'inet')?.local ?? '', ipv6: info.find((a) => a.family === 'inet6')?.local ?? '' };
}

/** The next free host address in the uplink's /24 and /64 (the gateway is .1 / ::1, the first address .2 / ::2). */
function nextAddresses(wan: Wan, current: DualStack): DualStack {
  const plan = LAB_ADDRESSES[wan].router;
  const v4Host = Number(current.ipv4.split('.')[3] || '2');
  const v6Host = parseInt(current.ipv6.split(':').pop() || '2', 16);
  const next = (host: number) => (host >= 250 ? 3 : host + 1);
  return {
    ipv4: `${plan.ipv4.split('.').slice(0, 3).join('.')}.${next(v4Host)}`,
    ipv6: `${plan.ipv6.slice(0, plan.ipv6.lastIndexOf(':') + 1)}${next(v6Host).toString(16)}`,
  };
}

/** Default routes out of the uplink now, as `ip route replace` arguments (to put back what the kernel removed). */
async function defaultRoutesVia(lab: LabHandle, wan: Wan): Promise<string[][]> {
  const routes: string[][] = [];
  for (const family of FAMILIES) {
    const { stdout } = await lab.exec('router', 'ip', ['-j', familyFlag(family), 'route', 'show', 'table', 'all', 'default']);
    for (const r of JSON.parse(stdout || '[]') as { dev?: string; gateway?: string; table?: string }[]) {
      if (r.dev === wan && r.gateway) routes.push([familyFlag(family), 'route', 'replace', 'default', 'via', r.gateway, 'dev', wan, 'table', r.table ?? 'main']);
    }
  }
  return routes;
}

/**
 * Gives the uplink new addresses (both families) in place of the current ones, as a PPPoE reconnect would:
 * masquerade's entries for the old address go (the kernel drops them), SNAT-to-address, DNAT and routed ones stay.
 * The default routes through the uplink are kept. Returns the new addresses.
 */
export async function replaceWanAddress(lab: LabHandle, wan: Wan, to?: Partial<DualStack>): Promise<DualStack> {
  const current = await wanAddresses(lab, wan);
  const planned = nextAddresses(wan, current);
  const next = { ipv4: to?.ipv4 ?? planned.ipv4, ipv6: to?.ipv6 ?? planned.ipv6 };
  const routes = await defaultRoutesVia(lab, wan);
  const lines: string[] = [];
  // The old one first: a second IPv4 address in the same prefix would be a secondary, removed with the primary.
  for (const family of FAMILIES) if (current[family]) lines.push(`address del ${current[family]}/${PREFIX_LENGTH[family]} dev ${wan}`);
  for (const family of FAMILIES) lines.push(`address add ${next[family]}/${PREFIX_LENGTH[family]} dev ${wan}${family === 'ipv6' ? ' nodad' : ''}`);
  await runBatch(lab, lines);
  for (const args of routes) await lab.exec('router', 'ip', args);
  return next;
}

/** One `ip -batch` for all lines: the new address arrives right after the old one goes. */
async function runBatch(lab: LabHandle, lines: string[]): Promise<void> {
  await run('ip', ['-n', `${lab.name}-router`, '-batch', '-'], { input: `${lines.join('\n')}\n` });
}

/** Cuts (or restores) the uplink's carrier by setting the peer side down: the router's link stays up, without carrier. */
export async function setWanCarrier(lab: LabHandle, wan: Wan, carrier: boolean): Promise<void> {
  await lab.exec('internet', 'ip', ['link', 'set', PEER[wan], carrier ? 'up' : 'down']);
}

/**
 * Sets the router's uplink interface down (the kernel removes its routes and masquerade's entries) or up again
 * (the uplink's own table gets its default route back; the main table too when it has no default route).
 */
export async function setWanLink(lab: LabHandle, wan: Wan, up: boolean): Promise<void> {
  await lab.exec('router', 'ip', ['link', 'set', wan, up ? 'up' : 'down']);
  if (!up) return;
  for (const family of FAMILIES) {
    const gateway = lab.addresses[wan].gateway[family];
    await lab.exec('router', 'ip', [familyFlag(family), 'route', 'replace', 'default', 'via', gateway, 'dev', wan, 'table', String(WAN_TABLES[wan])]);
    const { stdout } = await lab.exec('router', 'ip', [familyFlag(family), 'route', 'show', 'default']);
    if (!stdout.trim()) await lab.exec('router', 'ip', [familyFlag(family), 'route', 'replace', 'default', 'via', gateway, 'dev', wan]);
  }
}

/** The uplink the router's IPv4 default route uses now, read from the kernel. */
export async function activeWan(lab: LabHandle): Promise<Wan> {
  const { stdout } = await lab.exec('router', 'ip', ['-4', 'route', 'show', 'default']);
  return /\bdev wan2\b/.test(stdout) ? 'wan2' : 'wan1';
}

/**
 * Moves the router's default routes (IPv4 and IPv6) to the other uplink (or to `to`). Existing conntrack entries
 * keep their old NAT address; only new flows leave with the new uplink's address.
 */
export async function failover(lab: LabHandle, options: { to?: Wan } = {}): Promise<Wan> {
  const to = options.to ?? ((await activeWan(lab)) === 'wan1' ? 'wan2' : 'wan1');
  for (const family of FAMILIES) {
    await lab.exec('router', 'ip', [familyFlag(family), 'route', 'replace', 'default', 'via', lab.addresses[to].gateway[family], 'dev', to]);
  }
  return to;
}
