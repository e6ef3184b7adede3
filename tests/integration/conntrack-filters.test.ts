// Every filter kind returns exactly what conntrack(8) returns for the same filter, with kernel filtering on and
// off and through a snapshot. Where conntrack has no equivalent (any address, any port, port ranges, id) the
// expectation is a predicate over conntrack's full listing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conntrack, parseFilter, type FilterInput } from '@/lib/conntrack';
import { decodeConnection, familyFromNumber } from '@/lib/conntrack/codec/connection';
import { ctnlMsgType, IPCTNL_MSG } from '@/lib/conntrack/constants';
import { planKernelFilter } from '@/lib/conntrack/kernel-filter';
import { attrsOf, nfgenOf } from '@/lib/conntrack/netlink/message';
import { dumpOnThreadPool } from '@/lib/conntrack/netlink/pool-dump';
import { CASE_HOSTS, caseFilterOptions, FILTER_CASES } from '../support/filter-cases';
import { createTestNamespace, listAll, listWithConntrack, type OracleEntry, type TestNamespace } from '../support/oracle';
import { idsOf, insertVaried, OTHER_WAN_V4, WAN_V4, WAN_V6 } from './conntrack-setup';

let ns: TestNamespace | undefined;
let ct: Conntrack;
let all: OracleEntry[];

beforeAll(async () => {
  ns = await createTestNamespace('ctc-it');
  try {
    await insertVaried(ns.name);
    ct = new Conntrack({ netns: ns.name });
    all = await listAll(ns.name);
  } catch (error) {
    await ns.dispose();
    ns = undefined;
    throw error;
  }
});

afterAll(async () => {
  await ns?.dispose();
});

/** Ids our library returns for a filter, every way it can be asked. */
async function oursEveryWay(input: FilterInput): Promise<{ ids: Record<string, number[]>; counted: number }> {
  const filter = parseFilter(input, caseFilterOptions());
  const full = await ct.snapshot();
  const page = full.query({ filter, limit: 1_000_000 });
  const filtered = await ct.snapshot(filter);
  const filteredUser = await ct.snapshot(filter, { kernelFilter: false });
  const rowsIds = (s: typeof full, rows: Iterable<number>) => [...rows].map((r) => s.connection(r).id ?? -1).sort((a, b) => a - b);
  const ids = {
    'list (kernel filter)': idsOf(await ct.list(filter)),
    'list (userspace only)': idsOf(await ct.list(filter, { kernelFilter: false })),
    'snapshot().query': rowsIds(full, page.rows),
    'snapshot(filter)': rowsIds(filtered, Array.from({ length: filtered.size }, (_v, i) => i)),
    'snapshot(filter, userspace only)': rowsIds(filteredUser, Array.from({ length: filteredUser.size }, (_v, i) => i)),
  };
  return { ids, counted: full.count(filter) };
}

async function expectSame(input: FilterInput, expected: OracleEntry[]): Promise<void> {
  const want = idsOf(expected);
  const { ids: got, counted } = await oursEveryWay(input);
  for (const [way, ids] of Object.entries(got)) expect(ids, `${JSON.stringify(input)} via ${way}`).toEqual(want);
  expect(counted, `${JSON.stringify(input)} via snapshot().count`).toBe(want.length);
}

/** conntrack -L with these options (both families unless the options imply one). */
async function oracle(args: string[]): Promise<OracleEntry[]> {
  const family = args.includes('-f') || args.some((a) => ['-s', '-d', '-r', '-q'].includes(a));
  return family ? listWithConntrack({ netns: ns?.name ?? '', args }) : listAll(ns?.name ?? '', args);
}

// [our filter, conntrack -L options]
const WITH_ORACLE: [FilterInput, string[]][] = [
  [{ family: 'ipv4' }, ['-f', 'ipv4']],
  [{ family: 'ipv6' }, ['-f', 'ipv6']],
  [{ protocol: 'tcp' }, ['-p', 'tcp']],
  [{ protocol: 'udp' }, ['-p', 'udp']],
  [{ protocol: 'icmp' }, ['-p', 'icmp']],
  [{ protocol: 'icmpv6' }, ['-p', 'icmpv6']],
  [{ protocol: 'sctp' }, ['-p', 'sctp']],
  [{ protocol: 'tcp', sport: '40001' }, ['-p', 'tcp', '--sport', '40001']],
  [{ protocol: 'tcp', dport: '443' }, ['-p', 'tcp', '--dport', '443']],
  [{ protocol: 'udp', dport: 53 }, ['-p', 'udp', '--dport', '53']],
  [{ protocol: 'udp', sport: 5353, dport: 53 }, ['-p', 'udp', '--sport', '5353', '--dport', '53']],
  [{ family: 'ipv6', protocol: 'tcp', dport: '443' }, ['-f', 'ipv6', '-p', 'tcp', '--dport', '443']],
  [{ state: 'ESTABLISHED' }, ['-p', 'tcp', '--state', 'ESTABLISHED']],
  [{ state: 'SYN_SENT' }, ['-p', 'tcp', '--state', 'SYN_SENT']],
  [{ state: 'TIME_WAIT' }, ['-p', 'tcp', '--state', 'TIME_WAIT']],
  [{ src: '10.1.0.1' }, ['-s', '10.1.0.1']],
  [{ src: '10.1.0.0/30' }, ['-s', '10.1.0.0/30']],
  [{ src: 'fd00:1::1' }, ['-s', 'fd00:1::1']],
  [{ src: 'fd00:1::/126' }, ['-s', 'fd00:1::/126']],
  [{ dst: '198.18.0.10' }, ['-d', '198.18.0.10']],
  [{ dst: '2001:db8:ff::10' }, ['-d', '2001:db8:ff::10']],
  [{ dst: '2001:db8:ff::/64' }, ['-d', '2001:db8:ff::/64']],
  [{ replySrc: '10.1.0.20' }, ['-r', '10.1.0.20']],
  [{ replySrc: '2001:db8:ff::10' }, ['-r', '2001:db8:ff::10']],
  [{ replyDst: WAN_V4 }, ['-q', WAN_V4]],
  [{ replyDst: OTHER_WAN_V4 }, ['-q', OTHER_WAN_V4]],
  [{ replyDst: WAN_V6 }, ['-q', WAN_V6]],
  [{ protocol: 'tcp', replyDst: WAN_V4 }, ['-p', 'tcp', '-q', WAN_V4]],
  [{ protocol: 'udp', dport: 53, replyDst: WAN_V6 }, ['-p', 'udp', '--dport', '53', '-q', WAN_V6]],
  [{ protocol: 'tcp', dport: 443, src: '10.1.0.0/24' }, ['-p', 'tcp', '--dport', '443', '-s', '10.1.0.0/24']],
  [{ protocol: 'tcp', dport: 443, src: 'fd00:1::1' }, ['-p', 'tcp', '--dport', '443', '-s', 'fd00:1::1']],
  [{ protocol: 'udp', replySrc: '2001:db8:ff::53' }, ['-p', 'udp', '-r', '2001:db8:ff::53']],
  [{ mark: '1' }, ['-m', '1']],
  [{ mark: '0x10' }, ['-m', '16']],
  [{ mark: '0x100/0xff00' }, ['-m', '256/65280']],
  [{ mark: '0/0xffffffff' }, ['-m', '0']],
  [{ status: 'ASSURED' }, ['-u', 'ASSURED']],
  [{ status: 'SEEN_REPLY' }, ['-u', 'SEEN_REPLY']],
  [{ status: 'UNREPLIED' }, ['-u', 'UNREPLIED']],
  [{ zone: 7 }, ['-w', '7']],
  [{ zone: '0' }, ['-w', '0']],
];

describe('filters against conntrack -L', () => {
  it('the table holds both families and every filter below selects a proper subset', () => {
    expect(all.length).toBeGreaterThan(15);
    expect(new Set(all.map((e) => e.family))).toEqual(new Set(['ipv4', 'ipv6']));
  });

  for (const [input, args] of WITH_ORACLE) {
    it(`${JSON.stringify(input)} = conntrack -L ${args.join(' ')}`, async () => {
      const expected = await oracle(args);
      expect(expected.length, 'the oracle selected nothing: the case proves nothing').toBeGreaterThan(0);
      expect(expected.length, 'the oracle selected everything: the case proves nothing').toBeLessThan(all.length);
      await expectSame(input, expected);
    });
  }
});

/** The addresses of the CASE_HOSTS lines that give a name (exact) or a name ending in the suffix of "*.suffix". */
function hostsNamed(pattern: string): Set<string> {
  const out = new Set<string>();
  for (const [address, ...names] of CASE_HOSTS.split('\n').map((line) => line.split(' '))) {
    if (names.some((name) => (pattern.startsWith('*.') ? name.endsWith(pattern.slice(1)) : name === pattern))) out.add(address);
  }
  return out;
}

describe('filters conntrack cannot express, against a predicate over its full listing', () => {
  const addresses = (e: OracleEntry) => [e.original.src, e.original.dst, e.reply.src, e.reply.dst];
  const ports = (e: OracleEntry) => [e.original.sport, e.original.dport, e.reply.sport, e.reply.dport];
  const inRange = (p: number | undefined, min: number, max: number) => p !== undefined && p >= min && p <= max;
  const v4In24 = (a: string, net: string) => a.split('.').slice(0, 3).join('.') === net;

  const cases: [FilterInput, (e: OracleEntry) => boolean][] = [
    // conntrack: "CIDR notation unavailable for `--reply-dst'".
    [{ replyDst: '203.0.113.0/24' }, (e) => v4In24(e.reply.dst, '203.0.113')],
    [{ replyDst: '2001:db8:2::/48' }, (e) => e.reply.dst.startsWith('2001:db8:2:')],
    [{ ip: '198.18.0.10' }, (e) => addresses(e).includes('198.18.0.10')],
    [{ ip: WAN_V4 }, (e) => addresses(e).includes(WAN_V4)],
    [{ ip: '10.1.0.20' }, (e) => addresses(e).includes('10.1.0.20')],
    [{ ip: '2001:db8:ff::10' }, (e) => addresses(e).includes('2001:db8:ff::10')],
    [{ ip: '198.18.0.0/24' }, (e) => addresses(e).some((a) => v4In24(a, '198.18.0'))],
    [{ ip: 'fd00:1::/64' }, (e) => addresses(e).some((a) => a.startsWith('fd00:1::'))],
    [{ port: 53 }, (e) => ports(e).includes(53)],
    [{ port: 8000 }, (e) => ports(e).includes(8000)],
    [{ port: '8000-8100' }, (e) => ports(e).some((p) => inRange(p, 8000, 8100))],
    [{ sport: '40000-40004' }, (e) => inRange(e.original.sport, 40000, 40004)],
    [{ dport: '400-500' }, (e) => inRange(e.original.dport, 400, 500)],
    [{ sport: 40001 }, (e) => e.original.sport === 40001],
    [{ protocol: 'udp', dport: '50-60' }, (e) => e.original.protocol === 17 && inRange(e.original.dport, 50, 60)],
    [{ family: 'ipv6', port: 443 }, (e) => e.family === 'ipv6' && ports(e).includes(443)],
    // host=: the entries with any address (either direction) that CASE_HOSTS gives the name.
    ...(['laptop.lan', 'laptop', 'wan.example.test', '*.lan', '*.example.test'] as const).map((host): [FilterInput, (e: OracleEntry) => boolean] => {
      const named = hostsNamed(host);
      return [{ host }, (e) => addresses(e).some((a) => named.has(a))];
    }),
  ];

  for (const [input, predicate] of cases) {
    it(`${JSON.stringify(input)}`, async () => {
      const expected = all.filter(predicate);
      expect(expected.length).toBeGreaterThan(0);
      expect(expected.length).toBeLessThan(all.length);
      await expectSame(input, expected);
    });
  }

  it('{ id } for every entry finds exactly that entry', async () => {
    for (const entry of all) await expectSame({ id: entry.id ?? -1 }, [entry]);
  });
});

describe('the kernel plan is a translation of the evaluator', () => {
  /** Ids of what the kernel alone returns for the planned requests (no userspace evaluation after it). */
  async function kernelOnly(requests: ReturnType<typeof planKernelFilter>['requests']): Promise<number[]> {
    const ids: number[] = [];
    for (const request of requests) {
      await dumpOnThreadPool({
        netns: ns?.name,
        timeoutMs: 10_000,
        header: { type: ctnlMsgType(IPCTNL_MSG.CT_GET), family: request.family },
        attrs: request.attrs,
        operation: 'dump connections',
        onMessage: (msg) => {
          const { start, end } = attrsOf(msg);
          ids.push(decodeConnection(msg.buf, start, end, familyFromNumber(nfgenOf(msg).family)).id ?? -1);
        },
      });
    }
    return ids.sort((a, b) => a - b);
  }

  for (const input of FILTER_CASES) {
    it(`${JSON.stringify(input)}: the kernel returns exactly the evaluator's rows when the plan is complete, else a superset`, async () => {
      const filter = parseFilter(input, caseFilterOptions());
      const full = await ct.snapshot();
      const evaluator = [...full.select(filter)].map((row) => full.connection(row).id ?? -1).sort((a, b) => a - b);
      const plan = planKernelFilter(filter, ct.kernelSupport, 'dump');
      const kernel = await kernelOnly(plan.requests);
      if (plan.complete) expect(kernel).toEqual(evaluator);
      else expect(kernel).toEqual(expect.arrayContaining(evaluator));
    });
  }
});
