// Captures ctnetlink messages from the real kernel into tests/fixtures/ctnetlink/*.json.
// Run as root: npx tsx scripts/capture-fixtures.ts
//
// Everything happens in a network namespace made for the capture (its conntrack table starts empty) and removed
// at the end, also on error. Each fixture holds the raw netlink message (hex) and, as the test oracle, what
// conntrack(8) itself printed for the same entry at capture time.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { RawNetlinkSocket } from 'netlink';

const root = path.resolve(__dirname, '..');
const outDir = path.join(root, 'tests/fixtures/ctnetlink');
const tmpDir = `${outDir}.new`;
const ns = `ctc-fixture-${process.pid}`;

// struct nlmsghdr / nfgenmsg framing, kept local: the capture must not depend on the library it feeds.
const NLMSG_DONE = 3; // NLMSG_DONE
const NLMSG_ERROR = 2; // NLMSG_ERROR
const NLM_F_REQUEST = 0x1; // NLM_F_REQUEST
const NLM_F_ACK = 0x4; // NLM_F_ACK
const NLM_F_DUMP = 0x300; // NLM_F_DUMP
const CT_GET = (1 << 8) | 1; // IPCTNL_MSG_CT_GET
const CT_GET_STATS_CPU = (1 << 8) | 4; // IPCTNL_MSG_CT_GET_STATS_CPU
const CT_GET_STATS = (1 << 8) | 5; // IPCTNL_MSG_CT_GET_STATS
const EXP_GET = (2 << 8) | 1; // IPCTNL_MSG_EXP_GET (NFNL_SUBSYS_CTNETLINK_EXP)

const PROTOCOLS: Readonly<Record<string, number>> = { icmp: 1, tcp: 6, udp: 17, gre: 47, icmpv6: 58, '99': 99, sctp: 132 };

interface InsertSpec {
  name: string;
  description: string;
  args: string[];
  /** Skipped with a warning when the kernel or conntrack(8) refuses it. */
  optional?: boolean;
}

const inserts: InsertSpec[] = [
  {
    name: 'tcp4-established-mark',
    description: 'IPv4 TCP ESTABLISHED, SEEN_REPLY|ASSURED, mark 42',
    args: ['-p', 'tcp', '-s', '10.0.0.1', '-d', '10.0.0.2', '--sport', '40000', '--dport', '80', '--state', 'ESTABLISHED', '-t', '120', '-u', 'SEEN_REPLY,ASSURED', '-m', '42'],
  },
  {
    name: 'tcp4-syn-sent',
    description: 'IPv4 TCP SYN_SENT, unreplied',
    args: ['-p', 'tcp', '-s', '10.0.0.1', '-d', '10.0.0.3', '--sport', '40001', '--dport', '22', '--state', 'SYN_SENT', '-t', '60'],
  },
  {
    name: 'tcp4-fin-wait',
    description: 'IPv4 TCP FIN_WAIT',
    args: ['-p', 'tcp', '-s', '10.0.0.1', '-d', '10.0.0.4', '--sport', '40002', '--dport', '443', '--state', 'FIN_WAIT', '-t', '60', '-u', 'SEEN_REPLY'],
  },
  {
    name: 'tcp4-close-wait',
    description: 'IPv4 TCP CLOSE_WAIT',
    args: ['-p', 'tcp', '-s', '10.0.0.1', '-d', '10.0.0.5', '--sport', '40003', '--dport', '443', '--state', 'CLOSE_WAIT', '-t', '60', '-u', 'SEEN_REPLY'],
  },
  {
    name: 'tcp4-close',
    description: 'IPv4 TCP CLOSE',
    args: ['-p', 'tcp', '-s', '10.0.0.1', '-d', '10.0.0.6', '--sport', '40004', '--dport', '8080', '--state', 'CLOSE', '-t', '10'],
  },
  {
    name: 'tcp4-snat',
    description: 'IPv4 TCP ESTABLISHED with source NAT to 203.0.113.5:61000',
    args: ['-p', 'tcp', '-s', '192.168.1.10', '-d', '93.184.216.34', '--sport', '51000', '--dport', '443', '--state', 'ESTABLISHED', '-t', '300', '-u', 'SEEN_REPLY,ASSURED', '--src-nat', '203.0.113.5:61000'],
  },
  {
    name: 'tcp4-snat-address-only',
    description: 'IPv4 TCP ESTABLISHED with source NAT to 203.0.113.5 (port kept)',
    args: ['-p', 'tcp', '-s', '192.168.1.11', '-d', '93.184.216.34', '--sport', '51001', '--dport', '443', '--state', 'ESTABLISHED', '-t', '300', '--src-nat', '203.0.113.5'],
  },
  {
    name: 'tcp4-dnat',
    description: 'IPv4 TCP TIME_WAIT with destination NAT to 10.0.0.99:8080',
    args: ['-p', 'tcp', '-s', '198.51.100.7', '-d', '10.0.0.10', '--sport', '33000', '--dport', '80', '--state', 'TIME_WAIT', '-t', '30', '--dst-nat', '10.0.0.99:8080'],
  },
  {
    name: 'udp4-orig-zone',
    description: 'IPv4 UDP with CTA_TUPLE_ZONE 3 in the original tuple',
    args: ['-p', 'udp', '-s', '10.0.0.1', '-d', '10.0.0.53', '--sport', '5353', '--dport', '53', '-t', '30', '--orig-zone', '3'],
  },
  {
    name: 'udp4-zone',
    description: 'IPv4 UDP in zone 9 (CTA_ZONE), SEEN_REPLY',
    args: ['-p', 'udp', '-s', '10.0.0.1', '-d', '10.0.0.54', '--sport', '5354', '--dport', '53', '-t', '30', '-w', '9', '-u', 'SEEN_REPLY'],
  },
  {
    name: 'icmp4-echo',
    description: 'IPv4 ICMP echo request type 8 code 0 id 1234',
    args: ['-p', 'icmp', '-s', '10.0.0.1', '-d', '10.0.0.2', '--icmp-type', '8', '--icmp-code', '0', '--icmp-id', '1234', '-t', '30'],
  },
  {
    name: 'tcp6-established-zone',
    description: 'IPv6 TCP ESTABLISHED in zone 7, mark 0xdeadbeef',
    args: ['-p', 'tcp', '-s', '2001:db8::1', '-d', '2001:db8::2', '--sport', '1024', '--dport', '443', '--state', 'ESTABLISHED', '-t', '120', '-u', 'SEEN_REPLY,ASSURED', '-w', '7', '-m', '3735928559'],
  },
  {
    name: 'udp6-mapped',
    description: 'IPv6 UDP between an IPv4-mapped address and 2001:db8::1:0:0:1',
    args: ['-p', 'udp', '-s', '::ffff:10.1.0.1', '-d', '2001:db8:0:0:1:0:0:1', '--sport', '1', '--dport', '2', '-t', '30'],
  },
  {
    name: 'icmp6-echo',
    description: 'IPv6 ICMPv6 echo request type 128 code 0 id 77',
    args: ['-p', 'icmpv6', '-s', 'fe80::1', '-d', 'ff02::1', '--icmpv6-type', '128', '--icmpv6-code', '0', '--icmpv6-id', '77', '-t', '30'],
  },
  {
    name: 'sctp4-established',
    description: 'IPv4 SCTP ESTABLISHED (CTA_PROTOINFO_SCTP, kept raw)',
    args: ['-p', 'sctp', '-s', '10.1.0.1', '-d', '10.1.0.2', '--sport', '1', '--dport', '2', '--state', 'ESTABLISHED', '--orig-vtag', '1', '--reply-vtag', '2', '-t', '30'],
    optional: true,
  },
  {
    name: 'gre4-keys',
    description: 'IPv4 GRE with keys 1/2 (sent as CTA_PROTO_SRC_PORT/DST_PORT)',
    args: ['-p', 'gre', '-s', '10.1.0.1', '-d', '10.1.0.2', '--srckey', '1', '--dstkey', '2', '-t', '30'],
    optional: true,
  },
  {
    name: 'proto99-generic',
    description: 'IPv4 protocol 99 (generic tracker: no ports)',
    args: ['-p', '99', '-s', '10.1.0.3', '-d', '10.1.0.4', '-t', '30'],
    optional: true,
  },
];

// Real connections over loopback, so the TCP flags (CLOSE_INIT, window scale, SACK) are what the tracker set.
// Printing READY means everything is in the table; the child then holds one connection open until killed.
const trafficScript = `
const net = require('node:net');
const dgram = require('node:dgram');
const once = (e, n) => new Promise((r) => e.once(n, r));
async function pair(host, port, closer) {
  const server = net.createServer();
  server.listen(port, host);
  await once(server, 'listening');
  const accepted = once(server, 'connection');
  const client = net.connect(port, host);
  client.on('error', () => {});
  await once(client, 'connect');
  const peer = await accepted;
  client.write('hello');
  await once(peer, 'data');
  peer.write('world');
  await once(client, 'data');
  if (closer === 'client') { client.end(); await once(peer, 'end'); peer.end(); }
  else if (closer === 'server') { peer.end(); await once(client, 'end'); client.end(); }
  else if (closer === 'reset') { peer.resetAndDestroy(); await once(client, 'close'); }
  else return { server, client, peer };
  await new Promise((r) => setTimeout(r, 100));
  server.close();
  return undefined;
}
(async () => {
  await pair('127.0.0.1', 8080, 'client');
  await pair('127.0.0.1', 8081, 'server');
  await pair('127.0.0.1', 8082, 'reset');
  const held = await pair('::1', 8083, 'none');
  const u = dgram.createSocket('udp4');
  const v = dgram.createSocket('udp4');
  v.bind(5300, '127.0.0.1');
  await once(v, 'listening');
  v.on('message', (m, r) => v.send(m, r.port, r.address));
  u.send('ping', 5300, '127.0.0.1');
  await once(u, 'message');
  // FTP-like control connections through the kernel's ftp helper: the server's passive-mode replies make it
  // expect the data connections (one IPv4 PASV, one IPv6 EPSV).
  const ftp = async (host, reply) => {
    const server = net.createServer((c) => {
      c.write('220 ready\\r\\n');
      c.on('data', () => c.write(reply));
    });
    server.listen(21, host);
    await once(server, 'listening');
    const client = net.connect(21, host);
    await once(client, 'data');
    client.write(host === '::1' ? 'EPSV\\r\\n' : 'PASV\\r\\n');
    await once(client, 'data');
    return { server, client };
  };
  const ftp4 = await ftp('127.0.0.1', '227 Entering Passive Mode (127,0,0,1,195,80).\\r\\n');
  const ftp6 = await ftp('::1', '229 Entering Extended Passive Mode (|||50001|)\\r\\n');
  await new Promise((r) => setTimeout(r, 200));
  process.stdout.write('READY\\n');
  setInterval(() => [ftp4, ftp6], 1000);
  setInterval(() => held, 1000);
})().catch((e) => { console.error(e); process.exit(1); });
`;

const realConnections: { name: string; description: string; match: (o: ExpectedTuple) => boolean }[] = [
  { name: 'tcp4-real-client-closed', description: 'Real IPv4 TCP over loopback, client sent the first FIN (CLOSE_INIT original)', match: (o) => o.protocol === 6 && o.dport === 8080 },
  { name: 'tcp4-real-server-closed-label', description: 'Real IPv4 TCP over loopback, server sent the first FIN (CLOSE_INIT reply), ct label 5 set by nft', match: (o) => o.protocol === 6 && o.dport === 8081 },
  { name: 'tcp4-real-reset', description: 'Real IPv4 TCP over loopback ended by RST (CLOSE, no CLOSE_INIT)', match: (o) => o.protocol === 6 && o.dport === 8082 },
  { name: 'tcp6-real-established', description: 'Real IPv6 TCP over loopback, held open (ESTABLISHED, window scale and SACK flags)', match: (o) => o.protocol === 6 && o.dport === 8083 },
  { name: 'tcp4-real-ftp-control', description: 'Real IPv4 FTP control connection with the ftp helper (CTA_HELP) and an expectation', match: (o) => o.protocol === 6 && o.dport === 21 && o.src === '127.0.0.1' },
  { name: 'tcp6-real-ftp-control', description: 'Real IPv6 FTP control connection with the ftp helper (CTA_HELP) and an expectation', match: (o) => o.protocol === 6 && o.dport === 21 && o.src === '::1' },
  { name: 'udp4-real-replied', description: 'Real IPv4 UDP over loopback with a reply (SEEN_REPLY, counters)', match: (o) => o.protocol === 17 && o.dport === 5300 },
];

interface ExpectedTuple {
  src: string;
  dst: string;
  protocol: number;
  sport?: number;
  dport?: number;
  icmp?: { type: number; code: number; id: number };
  zone?: number;
  packets?: string;
  bytes?: string;
}

/** What conntrack(8) printed for one entry; strings for 64-bit numbers (JSON has no bigint). */
interface Expected {
  family: 'ipv4' | 'ipv6';
  original: ExpectedTuple;
  reply: ExpectedTuple;
  id: number;
  state?: string;
  mark?: number;
  zone?: number;
  use?: number;
  assured: boolean;
  unreplied: boolean;
  timestampStart?: string;
  timestampStop?: string;
}

const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const inNs = (cmd: string, args: string[]): string => sh('ip', ['netns', 'exec', ns, cmd, ...args]);

function loadSetns(): (fd: number) => void {
  const m = { exports: {} as { setns(fd: number): void } };
  process.dlopen(m, path.join(root, 'build/native/netns.node'));
  return m.exports.setns;
}

/** A netlink socket created inside the namespace (a socket stays in the namespace it was created in). */
function openSocketInNs(): RawNetlinkSocket {
  const setns = loadSetns();
  const orig = fs.openSync('/proc/thread-self/ns/net', 'r');
  const target = fs.openSync(`/var/run/netns/${ns}`, 'r');
  try {
    setns(target);
    try {
      return new RawNetlinkSocket(12, { recvBufferSize: 1 << 20, sendBufferSize: 1 << 16 });
    } finally {
      setns(orig);
    }
  } finally {
    fs.closeSync(target);
    fs.closeSync(orig);
  }
}

function request(type: number, flags: number, seq: number): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt32LE(20, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt16LE(flags, 6);
  b.writeUInt32LE(seq, 8);
  b.writeUInt32LE(0, 12);
  // nfgenmsg: family AF_UNSPEC, version 0, res_id 0 (already zero)
  return b;
}

/** Sends one request and collects the data messages of its answer until NLMSG_DONE or the ACK. */
function exchange(sock: RawNetlinkSocket, type: number, flags: number, seq: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const timer = setTimeout(() => finish(new Error(`no answer to message type ${type}`)), 5000);
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      sock.off('message', onMessage);
      if (err) reject(err);
      else resolve(out);
    };
    const onMessage = (buf: Buffer): void => {
      let offset = 0;
      while (offset + 16 <= buf.length) {
        const len = buf.readUInt32LE(offset);
        const msgType = buf.readUInt16LE(offset + 4);
        if (len < 16 || offset + len > buf.length) return finish(new Error(`bad nlmsghdr length ${len}`));
        if (buf.readUInt32LE(offset + 8) === seq) {
          if (msgType === NLMSG_DONE) return finish();
          if (msgType === NLMSG_ERROR) {
            const errno = buf.readInt32LE(offset + 16);
            return finish(errno === 0 ? undefined : new Error(`kernel error ${errno} for message type ${type}`));
          }
          out.push(Buffer.from(buf.subarray(offset, offset + len)));
        }
        offset += (len + 3) & ~3;
      }
    };
    sock.on('message', onMessage);
    sock.send(request(type, flags, seq), {}, (err) => {
      if (err) finish(err);
    });
  });
}

type XmlNode = Record<string, unknown>;
const asArray = (v: unknown): XmlNode[] => (Array.isArray(v) ? (v as XmlNode[]) : v === undefined ? [] : [v as XmlNode]);
const num = (v: unknown): number | undefined => (v === undefined || v === '' ? undefined : Number(v));
const str = (v: unknown): string | undefined => (v === undefined ? undefined : String(v));

/** conntrack -L -o xml,id,ktimestamp, plus the ICMP fields that only the text output shows. */
function conntrackOracle(): Map<number, Expected> {
  const xml = inNs('conntrack', ['-L', '-o', 'xml,id,ktimestamp']);
  const text = inNs('conntrack', ['-L', '-o', 'extended,id']);
  const icmpById = new Map<number, { type: number[]; code: number[]; id: number[] }>();
  for (const line of text.split('\n')) {
    const fields = { type: [] as number[], code: [] as number[], id: [] as number[] };
    for (const token of line.split(/\s+/)) {
      const [key, value] = token.split('=');
      if (key === 'type' || key === 'code' || key === 'id') fields[key].push(Number(value));
    }
    // The last id= is the entry's own id; the ones before it are the ICMP ids of the two directions.
    const ctId = fields.id.pop();
    if (ctId !== undefined && fields.type.length === 2) icmpById.set(ctId, fields);
  }
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false });
  const doc = parser.parse(xml) as { conntrack?: { flow?: unknown } };
  const result = new Map<number, Expected>();
  for (const flow of asArray(doc.conntrack?.flow)) {
    const metas = asArray(flow.meta);
    const byDir = (d: string): XmlNode => metas.find((m) => m['@direction'] === d) ?? {};
    const tuple = (m: XmlNode, index: number, id: number): ExpectedTuple => {
      const l3 = m.layer3 as XmlNode;
      const l4 = m.layer4 as XmlNode;
      const counters = m.counters as XmlNode | undefined;
      const t: ExpectedTuple = { src: String(l3.src), dst: String(l3.dst), protocol: Number(l4['@protonum']) };
      if (l4.sport !== undefined) t.sport = Number(l4.sport);
      if (l4.dport !== undefined) t.dport = Number(l4.dport);
      // GRE keys (hex in conntrack's output) travel as CTA_PROTO_SRC_PORT / CTA_PROTO_DST_PORT.
      if (l4.srckey !== undefined) t.sport = Number(l4.srckey);
      if (l4.dstkey !== undefined) t.dport = Number(l4.dstkey);
      const icmp = icmpById.get(id);
      if (icmp) t.icmp = { type: icmp.type[index], code: icmp.code[index], id: icmp.id[index] };
      if (m.zone !== undefined) t.zone = Number(m.zone);
      if (counters) {
        t.packets = String(counters.packets);
        t.bytes = String(counters.bytes);
      }
      return t;
    };
    const ind = byDir('independent');
    const id = Number(ind.id);
    const l3 = byDir('original').layer3 as XmlNode;
    const ts = ind.timestamp as XmlNode | undefined;
    const e: Expected = {
      family: l3['@protoname'] === 'ipv6' ? 'ipv6' : 'ipv4',
      original: tuple(byDir('original'), 0, id),
      reply: tuple(byDir('reply'), 1, id),
      id,
      state: str(ind.state),
      mark: num(ind.mark),
      zone: num(ind.zone),
      use: num(ind.use),
      assured: 'assured' in ind,
      unreplied: 'unreplied' in ind,
      timestampStart: str(ts?.start),
      timestampStop: str(ts?.stop),
    };
    result.set(id, e);
  }
  return result;
}

/** What `conntrack -L expect -o xml` printed for each expectation (its XML has no id). */
interface ExpectedExpectation {
  family: 'ipv4' | 'ipv6';
  protocol: number;
  tuple: { src: string; dst: string; sport: number; dport: number };
  mask: { src: string; dst: string; sport: number; dport: number };
  master: { src: string; dst: string; sport: number; dport: number };
  helper?: string;
  timeout: number;
  class: number;
}

function expectationOracle(): ExpectedExpectation[] {
  // conntrack -L expect lists one family (IPv4 unless told -f ipv6).
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false });
  const flows = ['ipv4', 'ipv6'].flatMap((family) => {
    const doc = parser.parse(inNs('conntrack', ['-L', 'expect', '-f', family, '-o', 'xml'])) as { expect?: { flow?: unknown } };
    return asArray(doc.expect?.flow);
  });
  return flows.map((flow) => {
    const l3 = flow.layer3 as XmlNode;
    const l4 = flow.layer4 as XmlNode;
    const meta = flow.meta as XmlNode;
    const part = (name: string) => {
      const a = l3[name] as XmlNode;
      const p = l4[name] as XmlNode;
      return { src: String(a.src), dst: String(a.dst), sport: Number(p.sport), dport: Number(p.dport) };
    };
    return {
      family: l3['@protoname'] === 'ipv6' ? 'ipv6' : 'ipv4',
      protocol: Number(l4['@protonum']),
      tuple: part('expected'),
      mask: part('mask'),
      master: part('master'),
      helper: str(meta['helper-name']),
      timeout: Number(meta.timeout),
      class: Number(meta.class),
    };
  });
}

/** CTA_ID of a ctnetlink data message, read without the library under test (top-level scan for type 12). */
function messageId(msg: Buffer): number | undefined {
  let offset = 20;
  const end = msg.readUInt32LE(0);
  while (offset + 4 <= end) {
    const len = msg.readUInt16LE(offset);
    if (len < 4) return undefined;
    if ((msg.readUInt16LE(offset + 2) & 0x3fff) === 12 && len === 8) return msg.readUInt32BE(offset + 4);
    offset += (len + 3) & ~3;
  }
  return undefined;
}

function parseCpuStats(text: string): Record<string, number>[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('cpu='))
    .map((line) => Object.fromEntries(line.trim().split(/\s+/).map((t) => t.split('=')).map(([k, v]) => [k, Number(v)])));
}

function writeFixture(name: string, fixture: Record<string, unknown>): void {
  fs.writeFileSync(path.join(tmpDir, `${name}.json`), `${JSON.stringify(fixture, null, 2)}\n`);
}

async function capture(): Promise<void> {
  sh('ip', ['netns', 'add', ns]);
  inNs('sysctl', ['-qw', 'net.netfilter.nf_conntrack_acct=1', 'net.netfilter.nf_conntrack_timestamp=1']);
  inNs('ip', ['link', 'set', 'lo', 'up']);
  // A rule that needs conntrack makes the kernel track this namespace's packets; the label shows CTA_LABELS.
  inNs('nft', ['add', 'table', 'inet', 't']);
  inNs('nft', ['add', 'chain', 'inet', 't', 'c', '{ type filter hook output priority 0; }']);
  inNs('nft', ['add', 'rule', 'inet', 't', 'c', 'tcp', 'dport', '8081', 'ct', 'state', 'new', 'ct', 'label', 'set', '5']);
  inNs('nft', ['add', 'rule', 'inet', 't', 'c', 'ct', 'state', 'new', 'counter']);
  inNs('nft', ['add', 'ct', 'helper', 'inet', 't', 'ftp-std', '{ type "ftp" protocol tcp; }']);
  inNs('nft', ['add', 'rule', 'inet', 't', 'c', 'tcp', 'dport', '21', 'ct', 'helper', 'set', '"ftp-std"']);

  const inserted: InsertSpec[] = [];
  for (const spec of inserts) {
    try {
      inNs('conntrack', ['-I', ...spec.args]);
      inserted.push(spec);
    } catch (err) {
      if (!spec.optional) throw err;
      console.warn(`skipped ${spec.name}: ${(err as Error).message.split('\n')[0]}`);
    }
  }

  let traffic: ChildProcess | undefined;
  try {
    traffic = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', trafficScript], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      traffic?.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('READY')) resolve();
      });
      traffic?.once('exit', (code) => reject(new Error(`traffic generator exited with ${code}`)));
    });

    const sock = openSocketInNs();
    let dump: Buffer[];
    let stats: Buffer[];
    let cpuStats: Buffer[];
    let expectations: Buffer[];
    try {
      dump = await exchange(sock, CT_GET, NLM_F_REQUEST | NLM_F_DUMP, 1);
      stats = await exchange(sock, CT_GET_STATS, NLM_F_REQUEST | NLM_F_ACK, 2);
      cpuStats = await exchange(sock, CT_GET_STATS_CPU, NLM_F_REQUEST | NLM_F_DUMP, 3);
      expectations = await exchange(sock, EXP_GET, NLM_F_REQUEST | NLM_F_DUMP, 4);
    } finally {
      sock.close();
    }
    const oracle = conntrackOracle();
    const expectOracle = expectationOracle();
    const cpuOracle = parseCpuStats(inNs('conntrack', ['-S']));
    const count = Number(inNs('conntrack', ['-C']).trim());
    const maxEntries = Number(fs.readFileSync('/proc/sys/net/netfilter/nf_conntrack_max', 'utf8').trim());

    // Written beside the old fixtures and swapped in at the end, so a failed capture leaves them as they were.
    fs.rmSync(tmpDir, { recursive: true, force: true });
    fs.mkdirSync(tmpDir, { recursive: true });
    const kernel = sh('uname', ['-r']).trim();
    const written = new Set<string>();
    for (const msg of dump) {
      const id = messageId(msg);
      const expected = id === undefined ? undefined : oracle.get(id);
      if (!expected) throw new Error(`conntrack(8) did not list the entry with id ${id}`);
      const o = expected.original;
      const spec = inserted.find((s) => {
        const value = (flag: string): string | undefined => (s.args.includes(flag) ? s.args[s.args.indexOf(flag) + 1] : undefined);
        return PROTOCOLS[value('-p') ?? ''] === o.protocol && sameAddress(value('-s') ?? '', o.src) && sameAddress(value('-d') ?? '', o.dst) && (value('--sport') === undefined || Number(value('--sport')) === o.sport);
      });
      const real = realConnections.find((r) => r.match(o));
      const name = spec?.name ?? real?.name;
      if (!name) {
        console.warn(`no fixture name for ${o.src} -> ${o.dst} proto ${o.protocol}, skipped`);
        continue;
      }
      if (written.has(name)) throw new Error(`two entries match fixture ${name}`);
      written.add(name);
      writeFixture(name, {
        description: spec?.description ?? real?.description,
        kind: 'ct',
        kernel,
        source: spec ? `conntrack -I ${spec.args.join(' ')}` : 'real traffic in the capture namespace',
        hex: msg.toString('hex'),
        conntrack: expected,
      });
    }
    if (stats.length !== 1) throw new Error(`expected one CT_GET_STATS reply, got ${stats.length}`);
    writeFixture('stats-global', {
      description: 'CT_GET_STATS reply for the capture namespace',
      kind: 'stats',
      kernel,
      hex: stats[0].toString('hex'),
      conntrack: { entries: count, maxEntries },
    });
    for (const msg of cpuStats) {
      const cpu = msg.readUInt16BE(18);
      writeFixture(`stats-cpu-${cpu}`, {
        description: `CT_GET_STATS_CPU dump message for CPU ${cpu}`,
        kind: 'stats-cpu',
        kernel,
        hex: msg.toString('hex'),
        conntrack: cpuOracle.find((c) => c.cpu === cpu),
      });
    }
    if (expectations.length !== 2) throw new Error(`expected two expectations (IPv4 PASV, IPv6 EPSV), got ${expectations.length}`);
    for (const msg of expectations) {
      const family = msg[16] === 10 ? 'ipv6' : 'ipv4';
      const expected = expectOracle.find((e) => e.family === family);
      if (!expected) throw new Error(`conntrack -L expect did not list the ${family} expectation`);
      writeFixture(`expect-${family === 'ipv4' ? 'ftp4-pasv' : 'ftp6-epsv'}`, {
        description: `${family === 'ipv4' ? 'IPv4 FTP PASV' : 'IPv6 FTP EPSV'} expectation created by the kernel's ftp helper`,
        kind: 'expect',
        kernel,
        source: 'real traffic in the capture namespace',
        hex: msg.toString('hex'),
        conntrack: expected,
      });
    }
    fs.rmSync(outDir, { recursive: true, force: true });
    fs.renameSync(tmpDir, outDir);
    console.log(`wrote ${written.size} connection fixtures, ${cpuStats.length + 1} stats fixtures and ${expectations.length} expectation fixtures to ${path.relative(root, outDir)}`);
  } finally {
    traffic?.kill();
  }
}

/** Compares an address as typed on the command line with conntrack's canonical output. */
function sameAddress(typed: string, printed: string): boolean {
  if (typed === printed) return true;
  return typed === '2001:db8:0:0:1:0:0:1' && printed === '2001:db8::1:0:0:1';
}

capture()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => {
    try {
      sh('ip', ['netns', 'del', ns]);
    } catch {
      // The namespace may not exist if its creation failed.
    }
  });
