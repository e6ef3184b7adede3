// Fills a namespace's conntrack table with many synthetic entries, fast and reproducibly, for benchmarks and
// large-table tests. A seeded PRNG picks each entry's shape; the tuples are unique by construction.
//
// The picture is a NAT router: LAN clients masqueraded to a few external addresses (CTA_NAT_SRC, so the kernel
// itself rewrites the reply tuple and sets IPS_SRC_NAT, as masquerade would), port forwards from the internet
// to LAN servers (CTA_NAT_DST), routed LAN-to-DMZ traffic without NAT, and IPv6 without NAT.
import { readFileSync, writeFileSync } from 'node:fs';
import { Conntrack, IPPROTO, IPS, NetlinkError, PROTOCOL_NAMES, type Family, type TcpState } from '../conntrack';
import { formatIPv4, formatIPv6 } from '../netlink/address';
import { CTA_PROTOINFO, CTA_PROTOINFO_SCTP } from '../conntrack/constants';
import type { NewConnection } from '../conntrack/create';
import { createNamespace, type Namespace } from './namespace';

export interface SeedOptions {
  /** Namespace whose (empty) table to fill. */
  netns: string;
  /** Entries to create (default 250,000). */
  count?: number;
  /** PRNG seed (default 1): the same seed and count give the same entries on the same kernel. */
  seed?: number;
  /**
   * External (WAN) addresses LAN traffic is masqueraded to. The first is the "target": it gets `targetShare` of
   * all entries as reply-direction destination; the others share the rest of the source-NATed traffic.
   */
  externals?: readonly string[];
  /** Share of all entries source-NATed to externals[0] (default 0.10). */
  targetShare?: number;
  /** Share of IPv6 entries (default 0.15). */
  ipv6Share?: number;
  /** Entries per Conntrack.create() call (default 4096: fewer objects survive into the old generation). */
  chunkSize?: number;
  /**
   * Entries of this seed's sequence passed over first (default 0): a second call with `skip` = the entries the
   * first made adds the sequence's next ones to the same table, tuples still unique (the alarm test grows a table
   * in steps this way).
   */
  skip?: number;
}

export interface SeedResult {
  netns: string;
  seed: number;
  /** Entries created: always the requested count. */
  count: number;
  tookMs: number;
  byFamily: Record<Family, number>;
  /** Per protocol name (tcp, udp, icmp, icmpv6, sctp, gre), per family. */
  byProtocol: Record<Family, Record<string, number>>;
  tcpStates: Partial<Record<TcpState, number>>;
  udp: { replied: number; unreplied: number };
  /** Entries carrying a non-zero mark. */
  marked: number;
  /** Source-NATed entries per external address (reply-direction destination = that address), in `externals` order. */
  externals: { address: string; entries: number }[];
  /** Port-forwarded (destination-NATed) entries. */
  dnat: number;
  /** TCP entries with original destination port 443, and those of them in ESTABLISHED. */
  tcp443: number;
  tcp443Established: number;
  /** Optional protocols (sctp, gre) the kernel refused; their share went to tcp. */
  refused: string[];
}

export const DEFAULT_EXTERNALS: readonly string[] = ['203.0.113.1', '203.0.113.2', '198.51.100.7', '192.0.2.44'];

/** mulberry32: small, fast, good enough to pick shapes; deterministic for a seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Picks from weighted choices with one random number. */
function weighted<T>(choices: readonly (readonly [T, number])[]): (r: number) => T {
  const total = choices.reduce((sum, [, w]) => sum + w, 0);
  const bounds: number[] = [];
  let acc = 0;
  for (const [, w] of choices) bounds.push((acc += w / total));
  return (r) => {
    for (let i = 0; i < bounds.length; i++) if (r < bounds[i]) return choices[i][0];
    return choices[choices.length - 1][0];
  };
}

const v4 = (n: number): string => formatIPv4(Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255), 0);

function v6(prefix: readonly number[], host: number): string {
  const b = new Uint8Array(16);
  prefix.forEach((byte, i) => (b[i] = byte));
  b[12] = host >>> 24;
  b[13] = (host >>> 16) & 255;
  b[14] = (host >>> 8) & 255;
  b[15] = host & 255;
  return formatIPv6(b, 0);
}

const LAN_HOSTS = 8192;
const REMOTE_CLIENTS = 16384;
const SERVERS = 4096;
const DMZ_SERVERS = 256;
const PORT_FORWARDS = 64;
const EPHEMERAL_PORTS = 64512; // 1024..65535

/**
 * One endpoint (host, port) per call, never the same twice: host = k mod hosts, port from k / hosts scrambled by a
 * multiplier coprime to 64512 (so each host's ports stay distinct and do not look sequential).
 */
class Endpoints {
  private next = 0;
  constructor(private readonly hosts: number) {}
  take(): { host: number; port: number } {
    const k = this.next++;
    const host = k % this.hosts;
    const round = Math.floor(k / this.hosts);
    if (round >= EPHEMERAL_PORTS) throw new RangeError(`more than ${this.hosts * EPHEMERAL_PORTS} endpoints requested`);
    return { host, port: 1024 + ((round * 7919 + host * 131) % EPHEMERAL_PORTS) };
  }
}

type Category = 'target' | 'snat' | 'dnat' | 'routed' | 'ipv6';
type Protocol = 'tcp' | 'udp' | 'icmp' | 'sctp' | 'gre';

const TCP_STATE_PICK = weighted<TcpState>([
  ['ESTABLISHED', 70],
  ['TIME_WAIT', 12],
  ['SYN_SENT', 4],
  ['FIN_WAIT', 3],
  ['CLOSE_WAIT', 3],
  ['LAST_ACK', 2],
  ['SYN_RECV', 2],
  ['CLOSE', 2],
  ['SYN_SENT2', 1],
  ['NONE', 1],
]);
const TCP_PORT_PICK = weighted<number>([
  [443, 55],
  [80, 15],
  [8443, 5],
  [993, 4],
  [5223, 3],
  [22, 3],
  [25, 2],
  [3389, 2],
  [8080, 6],
  [9000, 5],
]);
const UDP_PORT_PICK = weighted<number>([
  [443, 40],
  [53, 30],
  [123, 5],
  [3478, 6],
  [19302, 4],
  [51820, 5],
  [4500, 5],
  [1194, 5],
]);
const FORWARDS = weighted<readonly [Protocol, number, number]>([
  [['tcp', 443, 443], 40],
  [['tcp', 80, 80], 20],
  [['tcp', 2222, 22], 15],
  [['udp', 51820, 51820], 15],
  [['tcp', 8443, 9443], 10],
]);
const MARKS = [0x1, 0x2, 0x10, 0x100] as const;
/** SCTP_CONNTRACK_ESTABLISHED (enum sctp_conntrack). */
const SCTP_ESTABLISHED = 4;
// ctnetlink confirms a new entry before applying CTA_STATUS, so the status must keep IPS_CONFIRMED.
const UNREPLIED_STATUS = IPS.CONFIRMED;
const REPLIED_STATUS = IPS.CONFIRMED | IPS.SEEN_REPLY;
const ESTABLISHED_STATUS = IPS.CONFIRMED | IPS.SEEN_REPLY | IPS.ASSURED;
const MIN_TIMEOUT = 86_400;
const TIMEOUT_SPREAD = 345_600; // up to 5 days: nothing expires during a benchmark

const PROTOCOL_NUMBERS: Record<Protocol, number> = { tcp: IPPROTO.TCP, udp: IPPROTO.UDP, icmp: IPPROTO.ICMP, sctp: IPPROTO.SCTP, gre: IPPROTO.GRE };

/** Makes the entries; tallies are taken from what the kernel accepted. */
class Generator {
  private readonly random: () => number;
  private readonly lan = new Endpoints(LAN_HOSTS);
  private readonly lan6 = new Endpoints(LAN_HOSTS);
  private readonly remote = new Endpoints(REMOTE_CLIENTS);
  private readonly lanV4: string[];
  private readonly lanV6: string[];
  private readonly remoteV4: string[];
  private readonly serversV4: string[];
  private readonly serversV6: string[];
  private readonly dmz: string[];
  private readonly forwardTargets: string[];
  private readonly pickCategory: (r: number) => Category;
  private readonly refused = new Set<Protocol>();

  constructor(
    seed: number,
    private readonly externals: readonly string[],
    targetShare: number,
    ipv6Share: number,
  ) {
    this.random = prng(seed);
    const pool = (n: number, make: (i: number) => string) => Array.from({ length: n }, (_, i) => make(i));
    // Disjoint ranges, so no entry's reply tuple can equal another's original tuple.
    this.lanV4 = pool(LAN_HOSTS, (i) => v4(0x0a000000 + 256 + i)); // 10.0.1.0 - 10.0.32.255
    this.lanV6 = pool(LAN_HOSTS, (i) => v6([0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0, 0, 0, 0, 0, 0], 0x1000 + i));
    this.remoteV4 = pool(REMOTE_CLIENTS, (i) => v4(0xc6120000 + 256 + i)); // 198.18.1.0/...
    this.serversV4 = pool(SERVERS, (i) => v4(0x5db80000 + ((i * 40503) & 0xffff))); // 93.184.0.0/16, spread out
    this.serversV6 = pool(SERVERS, (i) => v6([0x20, 0x01, 0x0d, 0xb8, 0xf0, 0x00, 0, 0, 0, 0, 0, 0], 0x100 + i));
    this.dmz = pool(DMZ_SERVERS, (i) => v4(0xac100000 + 1 + i)); // 172.16.0.1
    this.forwardTargets = pool(PORT_FORWARDS, (i) => v4(0x0a630000 + 10 + i)); // 10.99.0.10
    const snatShare = externals.length > 1 ? 0.45 : 0;
    this.pickCategory = weighted<Category>([
      ['ipv6', ipv6Share],
      ['target', targetShare],
      ['snat', snatShare],
      ['dnat', 0.05],
      ['routed', Math.max(0, 1 - ipv6Share - targetShare - snatShare - 0.05)],
    ]);
  }

  refuse(protocol: Protocol): void {
    this.refused.add(protocol);
  }

  private protocol(category: Category): Protocol {
    const r = this.random();
    let protocol: Protocol = r < 0.62 ? 'tcp' : r < 0.92 ? 'udp' : r < 0.97 ? 'icmp' : r < 0.985 ? 'sctp' : 'gre';
    // Masquerading SCTP or GRE needs helpers a LAN rarely has; keep them on unNATed paths.
    if ((protocol === 'sctp' || protocol === 'gre') && category !== 'routed' && category !== 'ipv6') protocol = 'tcp';
    if (protocol === 'gre' && category === 'ipv6') protocol = 'udp';
    if (this.refused.has(protocol)) protocol = 'tcp';
    return protocol;
  }

  next(): NewConnection {
    const random = this.random;
    const category = this.pickCategory(random());
    const protocol = this.protocol(category);
    const family: Family = category === 'ipv6' ? 'ipv6' : 'ipv4';
    let client: string;
    let clientPort: number;
    let server: string;
    let serverPort: number;
    let forward: readonly [Protocol, number, number] | undefined;
    if (category === 'dnat') {
      forward = FORWARDS(random());
      const ep = this.remote.take();
      client = this.remoteV4[ep.host];
      clientPort = ep.port;
      server = this.externals[Math.floor(random() * this.externals.length)];
      serverPort = forward[1];
    } else {
      const ep = family === 'ipv6' ? this.lan6.take() : this.lan.take();
      client = family === 'ipv6' ? this.lanV6[ep.host] : this.lanV4[ep.host];
      clientPort = ep.port;
      const servers = family === 'ipv6' ? this.serversV6 : category === 'routed' ? this.dmz : this.serversV4;
      server = servers[Math.floor(random() * servers.length)];
      serverPort = protocol === 'udp' ? UDP_PORT_PICK(random()) : protocol === 'sctp' ? 38412 : TCP_PORT_PICK(random());
    }
    const proto = forward ? forward[0] : protocol;
    const number = proto === 'icmp' && family === 'ipv6' ? IPPROTO.ICMPV6 : PROTOCOL_NUMBERS[proto];
    const timeout = MIN_TIMEOUT + Math.floor(random() * TIMEOUT_SPREAD);
    const entry: NewConnection = {
      family,
      original: { src: client, dst: server, protocol: number },
      // Untranslated: the kernel rewrites it when snat / dnat is given.
      reply: { src: server, dst: client, protocol: number },
      status: ESTABLISHED_STATUS,
      zone: 0,
      timeout,
    };
    if (proto === 'icmp') {
      const v6 = family === 'ipv6';
      entry.original.icmp = { type: v6 ? 128 : 8, code: 0, id: clientPort };
      entry.reply.icmp = { type: v6 ? 129 : 0, code: 0, id: clientPort };
      if (random() < 0.2) entry.status = UNREPLIED_STATUS;
    } else {
      entry.original.sport = clientPort;
      entry.original.dport = serverPort;
      entry.reply.sport = serverPort;
      entry.reply.dport = clientPort;
    }
    if (proto === 'tcp') {
      const state = TCP_STATE_PICK(random());
      entry.protoinfo = { tcp: { state } };
      if (state === 'SYN_SENT' || state === 'NONE') entry.status = UNREPLIED_STATUS;
      else if (state === 'SYN_RECV' || state === 'SYN_SENT2') entry.status = REPLIED_STATUS;
    } else if (proto === 'udp') {
      const r = random();
      entry.status = r < 0.3 ? UNREPLIED_STATUS : r < 0.65 ? REPLIED_STATUS : ESTABLISHED_STATUS;
    } else if (proto === 'sctp') {
      const info = new Uint8Array(24);
      const view = new DataView(info.buffer);
      // CTA_PROTOINFO_SCTP { STATE u8 (padded), VTAG_ORIGINAL be32, VTAG_REPLY be32 }
      view.setUint16(0, 5, true);
      view.setUint16(2, CTA_PROTOINFO_SCTP.STATE, true);
      info[4] = SCTP_ESTABLISHED;
      view.setUint16(8, 8, true);
      view.setUint16(10, CTA_PROTOINFO_SCTP.VTAG_ORIGINAL, true);
      view.setUint32(12, (random() * 0xffffffff) >>> 0, false);
      view.setUint16(16, 8, true);
      view.setUint16(18, CTA_PROTOINFO_SCTP.VTAG_REPLY, true);
      view.setUint32(20, (random() * 0xffffffff) >>> 0, false);
      entry.protoinfo = { unknown: [{ type: CTA_PROTOINFO.SCTP, nested: true, data: info }] };
    } else if (proto === 'gre') {
      entry.status = random() < 0.5 ? REPLIED_STATUS : ESTABLISHED_STATUS;
    }
    if (random() < 0.15) entry.mark = MARKS[Math.floor(random() * MARKS.length)];
    if (category === 'target') entry.snat = { address: this.externals[0] };
    else if (category === 'snat') entry.snat = { address: this.externals[1 + Math.floor(random() * (this.externals.length - 1))] };
    else if (forward) entry.dnat = { address: this.forwardTargets[Math.floor(random() * this.forwardTargets.length)], portMin: forward[2] };
    return entry;
  }
}

const OPTIONAL: readonly number[] = [IPPROTO.SCTP, IPPROTO.GRE];
/** What a kernel without SCTP / GRE tracking answers. */
const UNSUPPORTED_ERRNOS = new Set([22, 93, 95]); // EINVAL, EPROTONOSUPPORT, EOPNOTSUPP

/** Fills netns's table with exactly `count` entries. Raise the limits first (raiseConntrackLimits) for big counts. */
export async function seed(options: SeedOptions): Promise<SeedResult> {
  const started = performance.now();
  const count = options.count ?? 250_000;
  const seedValue = options.seed ?? 1;
  const externals = options.externals ?? DEFAULT_EXTERNALS;
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a whole number >= 0, not ${count}`);
  if (externals.length === 0) throw new RangeError('give at least one external address');
  const chunkSize = options.chunkSize ?? 4096;
  const generator = new Generator(seedValue, externals, options.targetShare ?? 0.1, options.ipv6Share ?? 0.15);
  for (let i = options.skip ?? 0; i > 0; i--) generator.next();
  const ct = new Conntrack({ netns: options.netns });

  const result: SeedResult = {
    netns: options.netns,
    seed: seedValue,
    count: 0,
    tookMs: 0,
    byFamily: { ipv4: 0, ipv6: 0 },
    byProtocol: { ipv4: {}, ipv6: {} },
    tcpStates: {},
    udp: { replied: 0, unreplied: 0 },
    marked: 0,
    externals: externals.map((address) => ({ address, entries: 0 })),
    dnat: 0,
    tcp443: 0,
    tcp443Established: 0,
    refused: [],
  };
  const externalIndex = new Map(externals.map((address, i) => [address, i]));

  while (result.count < count) {
    const chunk: NewConnection[] = [];
    for (let i = Math.min(chunkSize, count - result.count); i > 0; i--) chunk.push(generator.next());
    const errnos = await ct.create(chunk);
    for (let i = 0; i < chunk.length; i++) {
      const entry = chunk[i];
      const errno = errnos[i];
      const protocol = entry.original.protocol;
      if (errno !== 0) {
        if (OPTIONAL.includes(protocol) && UNSUPPORTED_ERRNOS.has(errno)) {
          const name = PROTOCOL_NAMES[protocol];
          generator.refuse(name as Protocol);
          if (!result.refused.includes(name)) result.refused.push(name);
          continue; // the next chunk makes up for it
        }
        const error = new NetlinkError({ errno, operation: 'seed: create connection', subject: 'connection' });
        if (error.code === 'ENOMEM') throw new Error(`${error.message}: the table is full; raise net.netfilter.nf_conntrack_max (raiseConntrackLimits)`);
        throw new Error(`${error.message}: ${JSON.stringify(entry)}`);
      }
      result.count++;
      result.byFamily[entry.family]++;
      const name = PROTOCOL_NAMES[protocol] ?? String(protocol);
      const perFamily = result.byProtocol[entry.family];
      perFamily[name] = (perFamily[name] ?? 0) + 1;
      if (protocol === IPPROTO.TCP && entry.original.dport === 443) result.tcp443++;
      const state = entry.protoinfo?.tcp?.state;
      if (state) {
        result.tcpStates[state] = (result.tcpStates[state] ?? 0) + 1;
        if (state === 'ESTABLISHED' && entry.original.dport === 443) result.tcp443Established++;
      }
      if (protocol === IPPROTO.UDP) {
        if (entry.status & IPS.SEEN_REPLY) result.udp.replied++;
        else result.udp.unreplied++;
      }
      if (entry.mark) result.marked++;
      if (entry.snat) result.externals[externalIndex.get(entry.snat.address) ?? 0].entries++;
      if (entry.dnat) result.dnat++;
    }
  }
  result.tookMs = performance.now() - started;
  return result;
}

// ---- the global conntrack limits (init namespace) ----

const SYSCTL_DIR = '/proc/sys/net/netfilter';
const readSysctl = (name: string): number => Number(readFileSync(`${SYSCTL_DIR}/${name}`, 'utf8').trim());
const writeSysctl = (name: string, value: number): void => writeFileSync(`${SYSCTL_DIR}/${name}`, String(value));

/** Values before our first raise, restored when the last holder releases (or at process exit). */
let saved: { max: number; buckets: number } | undefined;
let holders = 0;
let exitHookInstalled = false;

function restoreSaved(): void {
  if (!saved) return;
  const { max, buckets } = saved;
  saved = undefined;
  holders = 0;
  writeSysctl('nf_conntrack_max', max);
  if (readSysctl('nf_conntrack_buckets') !== buckets) writeSysctl('nf_conntrack_buckets', buckets);
}

export interface ConntrackLimits {
  /** nf_conntrack_max and nf_conntrack_buckets while held. */
  max: number;
  buckets: number;
  /** Puts the original values back once every holder has released. Safe to call twice. */
  release(): void;
}

/**
 * Makes room for `entries` entries in one namespace: nf_conntrack_max is a global limit (set in the init namespace)
 * checked against each namespace's own count; the hash table (nf_conntrack_buckets) is shared by all namespaces and
 * is grown to about one bucket per two entries. Never lowers anything. The originals come back on release() or at
 * process exit. Programs that handle SIGINT/SIGTERM should exit through process.exit so the exit hook runs.
 */
export function raiseConntrackLimits(entries: number): ConntrackLimits {
  if (!saved) saved = { max: readSysctl('nf_conntrack_max'), buckets: readSysctl('nf_conntrack_buckets') };
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      try {
        restoreSaved();
      } catch {
        // Best effort at exit.
      }
    });
  }
  holders++;
  const wantMax = Math.ceil(entries * 1.05) + 4096;
  if (readSysctl('nf_conntrack_max') < wantMax) writeSysctl('nf_conntrack_max', wantMax);
  const wantBuckets = Math.min(1 << 21, 2 ** Math.ceil(Math.log2(Math.max(1, entries / 2))));
  if (readSysctl('nf_conntrack_buckets') < wantBuckets) writeSysctl('nf_conntrack_buckets', wantBuckets);
  let released = false;
  return {
    max: readSysctl('nf_conntrack_max'),
    buckets: readSysctl('nf_conntrack_buckets'),
    release() {
      if (released) return;
      released = true;
      holders--;
      if (holders <= 0) restoreSaved();
    },
  };
}

/**
 * A fresh namespace seeded with options.count entries, limits raised as needed; the namespace is removed and the
 * limits restored afterwards, whether work succeeds or throws.
 */
export async function withSeededNamespace<T>(
  options: Omit<SeedOptions, 'netns'> & { role?: string },
  work: (namespace: Namespace, seeded: SeedResult) => Promise<T>,
): Promise<T> {
  const limits = raiseConntrackLimits(options.count ?? 250_000);
  let namespace: Namespace | undefined;
  try {
    namespace = await createNamespace({ role: options.role ?? 'seed' });
    const seeded = await seed({ ...options, netns: namespace.name });
    return await work(namespace, seeded);
  } finally {
    try {
      await namespace?.destroy();
    } finally {
      limits.release();
    }
  }
}
