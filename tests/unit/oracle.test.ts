// Tests of the conntrack-tools oracle (tests/support/oracle.ts).
// Fixtures were captured from the real kernel by tests/fixtures/oracle/capture.ts; every expectation about
// the inserted entries is derived from the `conntrack -I` arguments in inserts.json, not from the XML.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IPS, type TcpState } from '../../lib/conntrack/constants';
import type { Connection, Family, IcmpFields } from '../../lib/conntrack/types';
import {
  buildInsertArgs,
  canonicalIPv4,
  canonicalIPv6,
  compareConnections,
  countWithConntrack,
  createTestNamespace,
  deleteWithConntrack,
  flushWithConntrack,
  insertWithConntrack,
  listAll,
  listWithConntrack,
  listWithConntrackDetailed,
  mergeIcmpDetails,
  parseConntrackTextIcmp,
  parseConntrackXml,
  parseReportedCount,
  runCommand,
  type OracleEntry,
  type OracleTuple,
} from '../support/oracle';

const dir = join(process.cwd(), 'tests/fixtures/oracle');
const read = (name: string): string => readFileSync(join(dir, name), 'utf8');

interface InsertsFile {
  inserts: string[][];
  traffic: { family: Family; protocol: number; src: string; dst: string; packets: number }[];
}
interface MetaFile {
  capturedBetweenNs: [string, string];
  stderr: Record<string, string>;
}
const inserts = JSON.parse(read('inserts.json')) as InsertsFile;
const meta = JSON.parse(read('meta.json')) as MetaFile;

// ---------------------------------------------------------------------------------------------------------
// Expectations from `conntrack -I` arguments

const PROTOCOLS: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58, sctp: 132, udplite: 136 };
/** How the kernel inverts an ICMP echo request type for the reply tuple. */
const ICMP_REPLY_TYPE: Record<number, number> = { 8: 0, 128: 129 };

interface Expected {
  family: Family;
  original: OracleTuple;
  reply: OracleTuple;
  status: number;
  tcpState?: TcpState;
  timeout: number;
  mark: number;
  zone: number;
  sctp: boolean;
}

function splitNat(value: string): { address: string; port?: number } {
  const v6 = /^\[(.+)\](?::(\d+))?$/.exec(value);
  if (v6) return { address: v6[1], port: v6[2] === undefined ? undefined : Number(v6[2]) };
  const [address, port] = value.split(':');
  return { address, port: port === undefined ? undefined : Number(port) };
}

function expectationFromArgs(args: string[]): Expected {
  const opt = new Map<string, string>();
  for (let i = 0; i < args.length; i += 2) opt.set(args[i], args[i + 1]);
  const get = (k: string): string => {
    const v = opt.get(k);
    if (v === undefined) throw new Error(`insert lacks ${k}: ${args.join(' ')}`);
    return v;
  };
  const family: Family = get('-s').includes(':') ? 'ipv6' : 'ipv4';
  const canon = (a: string): string => (family === 'ipv4' ? canonicalIPv4(a) : canonicalIPv6(a));
  const protocol = PROTOCOLS[get('-p')];
  const src = canon(get('-s'));
  const dst = canon(get('-d'));
  const snat = opt.has('--src-nat') ? splitNat(get('--src-nat')) : undefined;
  const dnat = opt.has('--dst-nat') ? splitNat(get('--dst-nat')) : undefined;
  const original: OracleTuple = { src, dst, protocol };
  const reply: OracleTuple = { src: dnat ? canon(dnat.address) : dst, dst: snat ? canon(snat.address) : src, protocol };
  if (opt.has('--sport')) {
    original.sport = Number(get('--sport'));
    original.dport = Number(get('--dport'));
    reply.sport = dnat?.port ?? original.dport;
    reply.dport = snat?.port ?? original.sport;
  }
  const icmpPrefix = protocol === 1 ? '--icmp' : protocol === 58 ? '--icmpv6' : undefined;
  if (icmpPrefix) {
    const type = Number(get(`${icmpPrefix}-type`));
    const code = Number(get(`${icmpPrefix}-code`));
    const id = Number(get(`${icmpPrefix}-id`));
    original.icmp = { type, code, id };
    reply.icmp = { type: ICMP_REPLY_TYPE[type], code, id };
  }
  if (opt.has('--orig-zone')) original.zone = Number(get('--orig-zone'));
  const flags = (opt.get('-u') ?? '').split(',');
  return {
    family,
    original,
    reply,
    status: (flags.includes('ASSURED') ? IPS.ASSURED : 0) | (flags.includes('SEEN_REPLY') ? IPS.SEEN_REPLY : 0),
    tcpState: protocol === 6 ? (get('--state') as TcpState) : undefined,
    timeout: Number(get('-t')),
    mark: opt.has('-m') ? Number(get('-m')) : 0,
    zone: opt.has('-w') ? Number(get('-w')) : 0,
    sctp: protocol === 132,
  };
}

function findByOriginal(entries: OracleEntry[], t: { src: string; dst: string; protocol: number; sport?: number }): OracleEntry[] {
  return entries.filter(
    (e) => e.original.src === t.src && e.original.dst === t.dst && e.original.protocol === t.protocol && e.original.sport === t.sport,
  );
}

const [capStart, capEnd] = meta.capturedBetweenNs.map(BigInt);

// ---------------------------------------------------------------------------------------------------------

describe('address canonicalisation', () => {
  it.each([
    ['2001:DB8:0:0:1::2', '2001:db8::1:0:0:2'],
    ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
    ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
    ['2001:db8::1:0:0:0', '2001:db8:0:0:1::'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::', 'fe80::'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ['::ffff:c000:0201', '::ffff:192.0.2.1'],
    ['::1.2.3.4', '::102:304'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['FE80::1%eth0', 'fe80::1'],
  ])('%s -> %s', (input, expected) => {
    expect(canonicalIPv6(input)).toBe(expected);
  });

  it.each(['1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'g::1', '1:2:3:4:5:6:7', '::1.2.3'])('rejects %s', (bad) => {
    expect(() => canonicalIPv6(bad)).toThrow();
  });

  it('IPv4', () => {
    expect(canonicalIPv4('192.000.002.001')).toBe('192.0.2.1');
    expect(() => canonicalIPv4('256.0.0.1')).toThrow();
    expect(() => canonicalIPv4('1.2.3')).toThrow();
  });
});

describe('stderr parsing', () => {
  it('reads the count conntrack reports', () => {
    expect(parseReportedCount('conntrack v1.4.7 (conntrack-tools): 17 flow entries have been shown.\n')).toBe(17);
    expect(parseReportedCount('conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n', 'deleted')).toBe(0);
    expect(parseReportedCount('conntrack v1.4.7 (conntrack-tools): 3 flow entries have been deleted.\n')).toBeUndefined();
    expect(parseReportedCount('')).toBeUndefined();
  });
});

describe('XML fixtures captured from conntrack 1.4.7 on 6.18', () => {
  const all = parseConntrackXml(read('all.xml'));
  const v4 = parseConntrackXml(read('ipv4.xml'));
  const v6 = parseConntrackXml(read('ipv6.xml'));
  const plain = parseConntrackXml(read('all-plain.xml'));
  const withIcmp = parseConntrackXml(read('all.xml'));
  mergeIcmpDetails(withIcmp, parseConntrackTextIcmp(read('all.txt')));

  it('parses as many entries as conntrack reported, and as were created', () => {
    expect(all).toHaveLength(parseReportedCount(meta.stderr['all.xml']) ?? -1);
    expect(v4).toHaveLength(parseReportedCount(meta.stderr['ipv4.xml']) ?? -1);
    expect(v6).toHaveLength(parseReportedCount(meta.stderr['ipv6.xml']) ?? -1);
    expect(plain).toHaveLength(all.length);
    expect(all).toHaveLength(inserts.inserts.length + inserts.traffic.length);
  });

  it('plain -L lists both families; -f restricts to one', () => {
    expect(v4.every((e) => e.family === 'ipv4')).toBe(true);
    expect(v6.every((e) => e.family === 'ipv6')).toBe(true);
    const ids = (list: OracleEntry[]): number[] => list.map((e) => e.id ?? -1).sort((a, b) => a - b);
    expect(ids([...v4, ...v6])).toEqual(ids(all));
    expect(all.every((e) => e.id !== undefined)).toBe(true);
  });

  it('maps every element of the XML', () => {
    expect(all.filter((e) => e.unmapped)).toEqual([]);
  });

  it.each(inserts.inserts.map((args) => [args.join(' '), args] as const))('conntrack -I %s', (_name, args) => {
    const want = expectationFromArgs(args);
    const found = findByOriginal(withIcmp, want.original);
    expect(found).toHaveLength(1);
    const got = found[0];
    expect(got.family).toBe(want.family);
    expect(got.original).toEqual(want.original);
    expect(got.reply).toEqual(want.reply);
    expect(got.status).toBe(want.status);
    expect(got.tcpState).toBe(want.tcpState);
    if (want.sctp) {
      // Quirk: SCTP states are printed with the TCP name table (ESTABLISHED = 4 = "FIN_WAIT").
      expect(got.stateText).toBe('FIN_WAIT');
    }
    expect(got.timeout).toBeLessThanOrEqual(want.timeout);
    expect(got.timeout).toBeGreaterThanOrEqual(want.timeout - 5);
    expect(got.mark).toBe(want.mark);
    expect(got.zone).toBe(want.zone);
    expect(got.use).toBe(1);
    expect(got.counters).toEqual({ original: { packets: 0n, bytes: 0n }, reply: { packets: 0n, bytes: 0n } });
    expect(got.timestamp?.start).toBeGreaterThanOrEqual(capStart);
    expect(got.timestamp?.start).toBeLessThanOrEqual(capEnd);
    expect(got.timestamp?.stop).toBeUndefined();
    expect(got.helper).toBeUndefined();
    expect(got.labels).toBeUndefined();
  });

  it.each(inserts.traffic.map((t) => [`${t.family} ping ${t.dst}`, t] as const))('real traffic: %s', (_name, t) => {
    const found = findByOriginal(withIcmp, { src: t.src, dst: t.dst, protocol: t.protocol });
    expect(found).toHaveLength(1);
    const got = found[0];
    expect(got.family).toBe(t.family);
    expect(got.status).toBe(IPS.SEEN_REPLY);
    expect(got.counters?.original.packets).toBe(BigInt(t.packets));
    expect(got.counters?.reply.packets).toBe(BigInt(t.packets));
    expect(got.counters?.original.bytes).toBeGreaterThan(0n);
    const req: IcmpFields | undefined = got.original.icmp;
    expect(req?.type).toBe(t.protocol === 1 ? 8 : 128);
    expect(got.reply.icmp).toEqual({ type: t.protocol === 1 ? 0 : 129, code: 0, id: req?.id });
    expect(got.timestamp?.start).toBeGreaterThanOrEqual(capStart);
  });

  it('the XML alone has no ICMP fields; the text listing supplies them by id', () => {
    expect(all.filter((e) => e.original.icmp || e.reply.icmp)).toEqual([]);
    const icmpEntries = withIcmp.filter((e) => e.original.protocol === 1 || e.original.protocol === 58);
    expect(icmpEntries).toHaveLength(4);
    expect(icmpEntries.every((e) => e.original.icmp && e.reply.icmp)).toBe(true);
  });

  it('without ktimestamp there is no <timestamp>, only <deltatime>; the rest is identical', () => {
    expect(plain.every((e) => e.timestamp === undefined && e.deltatime !== undefined)).toBe(true);
    const strip = (e: OracleEntry): Omit<OracleEntry, 'timestamp' | 'timeout' | 'deltatime'> => {
      const { timestamp: _t, timeout: _o, deltatime: _d, ...rest } = e;
      return rest;
    };
    const byId = new Map(all.map((e) => [e.id, strip(e)]));
    for (const e of plain) expect(strip(e)).toEqual(byId.get(e.id));
  });
});

describe('synthetic XML', () => {
  const flow = (independent: string, extra = '', origZone = ''): string =>
    `<?xml version="1.0" encoding="utf-8"?>\n<conntrack>\n<flow><meta direction="original"><layer3 protonum="10" protoname="ipv6"><src>2001:0DB8::0001</src><dst>2001:db8::2</dst></layer3><layer4 protonum="6" protoname="tcp"><sport>1</sport><dport>2</dport></layer4>${origZone}<counters><packets>18446744073709551615</packets><bytes>9007199254740993</bytes></counters></meta><meta direction="reply"><layer3 protonum="10" protoname="ipv6"><src>2001:db8::2</src><dst>2001:db8::1</dst></layer3><layer4 protonum="6" protoname="tcp"><sport>2</sport><dport>1</dport></layer4><counters><packets>1</packets><bytes>2</bytes></counters></meta><meta direction="independent">${independent}</meta>${extra}</flow>\n</conntrack>\n`;

  it('reads helper, labels, stop timestamps, tuple zones and big counters', () => {
    const [e] = parseConntrackXml(
      flow(
        '<state>LISTEN</state><timeout>5</timeout><mark>1</mark><labels><label>a</label><label>b</label></labels><secmark>9</secmark><zone>4</zone><use>2</use><id>42</id><assured/><timestamp><start>10</start><stop>2000000010</stop></timestamp><deltatime>2</deltatime>',
        '<helper>ftp</helper>',
        '<zone>7</zone>',
      ),
    );
    expect(e.original.src).toBe('2001:db8::1');
    expect(e.original.zone).toBe(7);
    expect(e.reply.zone).toBeUndefined();
    expect(e.tcpState).toBe('SYN_SENT2');
    expect(e.status).toBe(IPS.ASSURED | IPS.SEEN_REPLY);
    expect(e.labels).toEqual(['a', 'b']);
    expect(e.helper).toBe('ftp');
    expect(e.secmark).toBe(9);
    expect(e.zone).toBe(4);
    expect(e.timestamp).toEqual({ start: 10n, stop: 2000000010n });
    expect(e.counters?.original).toEqual({ packets: 18446744073709551615n, bytes: 9007199254740993n });
    expect(e.unmapped).toBeUndefined();
  });

  it('reports elements it does not know and rejects malformed numbers', () => {
    const [e] = parseConntrackXml(flow('<id>1</id><unreplied/><novel>1</novel>'));
    expect(e.unmapped).toEqual(['independent.novel']);
    expect(e.status).toBe(0);
    expect(() => parseConntrackXml(flow('<timeout>-1</timeout>'))).toThrow(/timeout/);
    expect(() => parseConntrackXml(flow('<state>BOGUS</state>'))).toThrow(/BOGUS/);
  });

  it('empty listings', () => {
    expect(parseConntrackXml('')).toEqual([]);
    expect(parseConntrackXml('<?xml version="1.0" encoding="utf-8"?>\n<conntrack>\n</conntrack>\n')).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------

/** What a correct codec would produce for an oracle entry (plus bits the XML cannot show). */
function asConnection(e: OracleEntry): Connection {
  const tuple = (t: OracleTuple): Connection['original'] => ({ ...t, icmp: t.icmp ? { ...t.icmp } : undefined });
  return {
    family: e.family,
    original: tuple(e.original),
    reply: tuple(e.reply),
    id: e.id,
    status: e.status | IPS.CONFIRMED,
    timeout: e.timeout,
    mark: e.mark,
    zone: e.zone,
    use: e.use,
    protoinfo: e.tcpState ? { tcp: { state: e.tcpState, wscaleOriginal: 7 } } : undefined,
    counters: e.counters
      ? { original: { ...e.counters.original }, reply: { ...e.counters.reply } }
      : undefined,
    timestamp: e.timestamp?.start !== undefined ? { start: e.timestamp.start, stop: e.timestamp.stop } : undefined,
  };
}

describe('compareConnections', () => {
  const oracle = parseConntrackXml(read('all.xml'));
  mergeIcmpDetails(oracle, parseConntrackTextIcmp(read('all.txt')));
  const fresh = (): Connection[] => oracle.map(asConnection);
  const pick = (list: Connection[], pred: (c: Connection) => boolean): Connection => {
    const c = list.find(pred);
    if (!c) throw new Error('fixture entry missing');
    return c;
  };
  const tcp6 = (c: Connection): boolean => c.family === 'ipv6' && c.original.protocol === 6 && c.original.sport === 40001;
  const ping4 = (c: Connection): boolean => c.original.src === '127.0.0.1';

  it('agrees with itself, ignoring bits and fields the XML cannot show', () => {
    expect(compareConnections(fresh(), oracle)).toEqual([]);
  });

  it('tolerates small timeout differences only', () => {
    const ours = fresh();
    pick(ours, tcp6).timeout! -= 3;
    expect(compareConnections(ours, oracle)).toEqual([]);
    pick(ours, tcp6).timeout! -= 1;
    expect(compareConnections(ours, oracle)).toEqual([expect.stringMatching(/timeout: ours 115, conntrack 119 \(tolerance ±3 s\)/)]);
    expect(compareConnections(ours, oracle, { timeoutTolerance: 5 })).toEqual([]);
  });

  it('counters: exact by default, one direction of growth when asked', () => {
    const ours = fresh();
    pick(ours, ping4).counters!.reply.bytes += 84n;
    expect(compareConnections(ours, oracle)).toEqual([expect.stringMatching(/reply\.bytes: ours 252, conntrack 168$/)]);
    expect(compareConnections(ours, oracle, { counters: 'ours-later' })).toEqual([]);
    expect(compareConnections(ours, oracle, { counters: 'oracle-later' })).toHaveLength(1);
    delete pick(ours, ping4).counters;
    expect(compareConnections(ours, oracle, { counters: 'ours-later' })).toEqual([expect.stringMatching(/only conntrack has them/)]);
  });

  it('finds differences in every field it compares', () => {
    const mutations: [string, (c: Connection) => void, RegExp][] = [
      ['src', (c) => (c.original.src = '2001:db8::9'), /original\.src: ours 2001:db8::9, conntrack 2001:db8::1$/],
      ['spelling', (c) => (c.original.dst = '2001:db8:0:0:1:0:0:2'), /same address, not canonical in ours/],
      ['dport', (c) => (c.reply.dport = 1), /reply\.dport: ours 1, conntrack 40001/],
      ['tuple zone', (c) => (c.original.zone = 0), /original\.zone: ours 0, conntrack undefined/],
      ['assured', (c) => (c.status |= IPS.ASSURED), /status \(ASSURED\|SEEN_REPLY only\): ours 0x4, conntrack 0x0/],
      ['state', (c) => (c.protoinfo = { tcp: { state: 'ESTABLISHED' } }), /tcp state: ours ESTABLISHED, conntrack SYN_SENT/],
      ['mark', (c) => (c.mark = 1), /mark: ours 1, conntrack 0/],
      ['zone', (c) => (c.zone = 2), /zone: ours 2, conntrack 0/],
      ['use', (c) => (c.use = 2), /use: ours 2, conntrack 1/],
      ['timestamp', (c) => (c.timestamp = { start: 1n }), /timestamp\.start: ours 1, conntrack \d+/],
      ['helper', (c) => (c.helper = 'ftp'), /helper: ours ftp, conntrack undefined/],
      ['family', (c) => (c.family = 'ipv4'), /family: ours ipv4, conntrack ipv6/],
    ];
    for (const [, mutate, pattern] of mutations) {
      const ours = fresh();
      mutate(pick(ours, tcp6));
      const diffs = compareConnections(ours, oracle);
      expect(diffs).toEqual([expect.stringMatching(pattern)]);
    }
  });

  it('compares ICMP fields when the oracle has them', () => {
    const ours = fresh();
    pick(ours, ping4).reply.icmp!.type = 8;
    expect(compareConnections(ours, oracle)).toEqual([expect.stringMatching(/reply\.icmp: ours .*"type":8.*, conntrack .*"type":0/)]);
  });

  it('reports missing, extra and duplicated entries', () => {
    const ours = fresh();
    const gone = ours.pop()!;
    expect(compareConnections(ours, oracle)).toEqual([expect.stringMatching(new RegExp(`id ${gone.id} .* only in conntrack$`))]);
    ours.push({ ...gone, id: 1 });
    expect(compareConnections(ours, oracle)).toEqual([
      expect.stringMatching(/\[id 1 .* only in ours$/),
      expect.stringMatching(new RegExp(`id ${gone.id} .* only in conntrack$`)),
    ]);
    const dup = fresh();
    dup.push(dup[0]);
    expect(compareConnections(dup, oracle)).toEqual([expect.stringMatching(/ours listed id \d+ twice/)]);
  });

  it('matches entries without an id by tuple', () => {
    const ours = fresh().map((c) => ({ ...c, id: undefined }));
    expect(compareConnections(ours, oracle)).toEqual([]);
  });

  it('compares labels only through a name -> bit map', () => {
    const entry: OracleEntry = { ...oracle[0], labels: ['blue'] };
    const ours = [asConnection(entry)];
    expect(compareConnections(ours, [entry])).toEqual([]);
    expect(compareConnections(ours, [entry], { labelBits: { blue: 9 } })).toEqual([expect.stringMatching(/label bits: ours \[\], conntrack \[9\]/)]);
    ours[0].labels = new Uint8Array([0, 2, 0, 0]);
    expect(compareConnections(ours, [entry], { labelBits: { blue: 9 } })).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('live conntrack in a fresh namespace', () => {
  it('parses exactly as many entries as conntrack reports, in both families', { timeout: 60_000 }, async () => {
    const ns = await createTestNamespace('ctc-oracle');
    try {
      const specs = [
        { protocol: 'tcp', src: '192.0.2.1', dst: '198.51.100.1', sport: 1000, dport: 443, state: 'ESTABLISHED', timeout: 120, status: ['ASSURED', 'SEEN_REPLY'] },
        { protocol: 'tcp', src: '2001:db8::1', dst: '2001:db8::2', sport: 1001, dport: 443, state: 'ESTABLISHED', timeout: 120, mark: 3 },
        { protocol: 'udp', src: '192.0.2.2', dst: '198.51.100.2', sport: 53, dport: 53, timeout: 60, srcNat: '203.0.113.1' },
        { protocol: 'udp', src: '2001:db8::3', dst: '2001:db8::4', sport: 1, dport: 2, timeout: 60, zone: 5 },
        { protocol: 'icmp', src: '192.0.2.5', dst: '198.51.100.5', icmp: { type: 8, code: 0, id: 9 }, timeout: 30 },
        { protocol: 'icmpv6', src: '2001:db8::5', dst: '2001:db8::6', icmp: { type: 128, code: 0, id: 10 }, timeout: 30 },
      ];
      for (const s of specs) await insertWithConntrack(ns.name, s);
      expect(buildInsertArgs(specs[2])).toEqual(['-I', '-p', 'udp', '-s', '192.0.2.2', '-d', '198.51.100.2', '--sport', '53', '--dport', '53', '-t', '60', '--src-nat', '203.0.113.1']);

      const listing = await listWithConntrackDetailed({ netns: ns.name });
      expect(listing.reportedCount).toBe(specs.length);
      expect(listing.entries).toHaveLength(listing.reportedCount ?? -1);
      expect(listing.entries.filter((e) => e.family === 'ipv6')).toHaveLength(3);
      expect(listing.entries.find((e) => e.original.protocol === 58)?.reply.icmp).toEqual({ type: 129, code: 0, id: 10 });
      expect(listing.entries.every((e) => e.timestamp?.start !== undefined && e.counters)).toBe(true);

      expect(await listAll(ns.name)).toHaveLength(specs.length);
      expect(await countWithConntrack(ns.name)).toBe(specs.length);
      expect(await countWithConntrack(ns.name, ['-f', 'ipv6'])).toBe(3);
      expect(await listWithConntrack({ netns: ns.name, args: ['-p', 'tcp', '--dport', '443'] })).toHaveLength(2);
      expect((await listWithConntrack({ netns: ns.name, args: ['-q', '203.0.113.1'] })).map((e) => e.original.src)).toEqual(['192.0.2.2']);
      expect(await listWithConntrack({ netns: ns.name, args: ['-s', '192.0.2.250'] })).toEqual([]);

      const none = await deleteWithConntrack(ns.name, ['-q', '198.51.100.250']);
      expect(none.exitCode).toBe(1);
      expect(none.deleted).toBe(0);
      expect((await deleteWithConntrack(ns.name, ['-q', '203.0.113.1'])).deleted).toBe(1);
      expect(await countWithConntrack(ns.name)).toBe(specs.length - 1);
      await flushWithConntrack(ns.name);
      expect(await listWithConntrack({ netns: ns.name })).toEqual([]);
    } finally {
      await ns.dispose();
    }
    const left = await runCommand(['ip', 'netns', 'list']);
    expect(left.stdout).not.toContain(ns.name);
  });
});
