// The seeder against the real kernel: what it reports having created is what conntrack(8) sees in the namespace,
// entry for entry; the namespace goes and the global limits come back afterwards.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, listNamespaces, type Namespace } from '@/lib/lab';
import { raiseConntrackLimits, seed, withSeededNamespace, type ConntrackLimits, type SeedResult } from '@/lib/lab/seeder';

const COUNT = 20_000;
const readMax = (): number => Number(readFileSync('/proc/sys/net/netfilter/nf_conntrack_max', 'utf8').trim());

let originalMax: number;
let namespace: Namespace | undefined;
let limits: ConntrackLimits | undefined;
let seeded: SeedResult;

beforeAll(async () => {
  originalMax = readMax();
  limits = raiseConntrackLimits(COUNT);
  namespace = await createNamespace({ role: 'seeder' });
  seeded = await seed({ netns: namespace.name, count: COUNT, seed: 7 });
});

afterAll(async () => {
  await namespace?.destroy();
  limits?.release();
});

/** How many entries `conntrack -L ARGS` lists, from its summary line on stderr. */
async function listed(args: readonly string[]): Promise<number> {
  const { stderr } = await namespace!.exec('conntrack', ['-L', ...args]);
  const match = /(\d+) flow entries have been shown/.exec(stderr);
  if (!match) throw new Error(`no summary from conntrack -L ${args.join(' ')}: ${stderr}`);
  return Number(match[1]);
}

const sum = (values: Record<string, number>): number => Object.values(values).reduce((a, b) => a + b, 0);

describe('seed', () => {
  it('creates exactly the requested number of entries', async () => {
    expect(seeded.count).toBe(COUNT);
    const { stdout } = await namespace!.exec('conntrack', ['-C']);
    expect(Number(stdout.trim())).toBe(COUNT);
  });

  it('reports the per-family counts conntrack lists', async () => {
    expect(seeded.byFamily.ipv4 + seeded.byFamily.ipv6).toBe(COUNT);
    expect(seeded.byFamily.ipv6).toBeGreaterThan(0);
    expect(await listed(['-f', 'ipv4'])).toBe(seeded.byFamily.ipv4);
    expect(await listed(['-f', 'ipv6'])).toBe(seeded.byFamily.ipv6);
  });

  it('reports the per-protocol counts conntrack lists, mixing tcp, udp, icmp, icmpv6, sctp and gre', async () => {
    const total = (name: string) => (seeded.byProtocol.ipv4[name] ?? 0) + (seeded.byProtocol.ipv6[name] ?? 0);
    expect(sum(seeded.byProtocol.ipv4)).toBe(seeded.byFamily.ipv4);
    expect(sum(seeded.byProtocol.ipv6)).toBe(seeded.byFamily.ipv6);
    for (const name of ['tcp', 'udp', 'icmp', 'icmpv6', 'sctp', 'gre']) {
      if (seeded.refused.includes(name)) continue;
      expect(total(name), name).toBeGreaterThan(0);
      expect(await listed(['-p', name]), name).toBe(total(name));
    }
    expect(sum(seeded.tcpStates)).toBe(total('tcp'));
    expect(await listed(['-p', 'tcp', '--state', 'TIME_WAIT'])).toBe(seeded.tcpStates.TIME_WAIT);
    expect(await listed(['-p', 'tcp', '--dport', '443', '--state', 'ESTABLISHED'])).toBe(seeded.tcp443Established);
    expect(await listed(['-p', 'tcp', '--dport', '443'])).toBe(seeded.tcp443);
    expect(seeded.udp.replied + seeded.udp.unreplied).toBe(total('udp'));
    expect(await listed(['-p', 'udp', '-u', 'UNREPLIED'])).toBe(seeded.udp.unreplied);
  });

  it('masquerades about a tenth of all entries to the first external address, as the kernel NAT would', async () => {
    const [target, ...others] = seeded.externals;
    expect(target.entries / COUNT).toBeGreaterThan(0.08);
    expect(target.entries / COUNT).toBeLessThan(0.12);
    expect(await listed(['-q', target.address])).toBe(target.entries);
    for (const external of others) expect(await listed(['-q', external.address]), external.address).toBe(external.entries);
    // The kernel set IPS_SRC_NAT / IPS_DST_NAT itself: conntrack filters on those bits.
    expect(await listed(['--src-nat'])).toBe(sum(Object.fromEntries(seeded.externals.map((e) => [e.address, e.entries]))));
    expect(seeded.dnat).toBeGreaterThan(0);
    // conntrack's --dst-nat also lists ICMP entries with any NAT (their reply "source port" is the ICMP id, which
    // never equals the original "destination port", type and code); port forwards are tcp and udp only.
    expect((await listed(['--dst-nat', '-p', 'tcp'])) + (await listed(['--dst-nat', '-p', 'udp']))).toBe(seeded.dnat);
  });

  it('gives every entry a long timeout', async () => {
    const { stdout } = await namespace!.exec('conntrack', ['-L', '-o', 'xml']);
    const timeouts = [...stdout.matchAll(/<timeout>(\d+)<\/timeout>/g)].map((m) => Number(m[1]));
    expect(timeouts).toHaveLength(COUNT);
    expect(Math.min(...timeouts)).toBeGreaterThan(80_000);
  });

  it('makes the same table from the same seed, and withSeededNamespace cleans up after itself', async () => {
    const table = async (role: string) =>
      withSeededNamespace({ count: 2_000, seed: 42, role }, async (ns, result) => {
        const { stdout } = await ns.exec('conntrack', ['-L']);
        // Without the timeout countdown (third column after the protocol), the rows must match exactly.
        const rows = stdout
          .trim()
          .split('\n')
          .map((line) => line.replace(/^(\S+\s+\d+)\s+\d+/, '$1'))
          .sort();
        return { name: ns.name, rows, result: { ...result, netns: '', tookMs: 0 } };
      });
    const first = await table('seedera');
    const second = await table('seederb');
    expect(first.rows).toHaveLength(2_000);
    expect(second.rows).toEqual(first.rows);
    expect(second.result).toEqual(first.result);
    const names = await listNamespaces();
    expect(names).not.toContain(first.name);
    expect(names).not.toContain(second.name);
  });

  it('restores nf_conntrack_max once the namespace is gone', async () => {
    await namespace!.destroy();
    namespace = undefined;
    limits!.release();
    limits = undefined;
    expect(readMax()).toBe(originalMax);
  });
});
