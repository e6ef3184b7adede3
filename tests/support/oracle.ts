// Test oracle: the conntrack table as conntrack-tools (`conntrack -L -o xml,id`) sees it, normalised to our
// domain model so integration tests can compare it with our own netlink dump field by field.
//
// Independent of lib/conntrack on purpose (only the domain *types* and the uapi constants are shared): a bug
// in our codec must not be mirrored here.
//
// What `conntrack -L -o xml,id,ktimestamp` (conntrack-tools 1.4.7 / libnetfilter_conntrack) can show:
//   family, both tuples (addresses, protocol number, ports for tcp/udp/udplite/sctp/dccp), tuple zone
//   (<zone> inside a direction, only when the kernel sent CTA_TUPLE_ZONE), per-direction counters (only when
//   accounting was on at creation), TCP state, timeout, mark, secmark, secctx, zone (CTA_ZONE), use, id,
//   two status bits, timestamp start/stop (only with the `ktimestamp` output flag), helper name, labels
//   (only by name, and only when /etc/xtables/connlabel.conf exists).
// What it cannot show (so compareConnections never compares it):
//   - status bits other than ASSURED (<assured/>) and SEEN_REPLY (absence of <unreplied/>): CONFIRMED, NAT
//     bits, DYING, FIXED_TIMEOUT, HELPER, OFFLOAD, ... are invisible. See STATUS_BITS_SHOWN.
//   - ICMP / ICMPv6 type, code and id: the XML prints an empty <layer4/>. With `icmpDetails` (the default)
//     they are taken from a second, plain-text listing (`-o id`) and matched by id; an entry that vanished
//     between the two listings keeps `icmp` undefined.
//   - TCP window scale and flags, SCTP/DCCP protoinfo (the XML names SCTP/DCCP states with the TCP name
//     table, so <state> is only trusted for TCP), seq adjust, master tuple, raw/unknown attributes,
//     labels as a bitmap (names only, via connlabel.conf, which these machines do not have).
//
// Quirks of conntrack-tools 1.4.7 on kernel 6.18 (observed; the fixtures under tests/fixtures/oracle pin them):
//   - `-L` without -f lists BOTH families; `-f ipv4` / `-f ipv6` restrict it. Address filters (-s/-d/-r/-q)
//     imply the family. `-C` takes no filters (-f or -p are "Illegal option") and prints the namespace's
//     total on stdout.
//   - `-I` refuses `-f` ("Illegal option `--family'"): the family comes from the addresses. `--reply-zone`
//     (and --orig-zone together with -w) fails with "invalid parameters"; `--orig-zone` alone works and shows
//     as <zone> inside the original direction. `-I --label` needs connlabel.conf; `-I --helper` does not exist.
//   - Exit codes: -L with no match exits 0 ("0 flow entries have been shown.", empty stdout: no XML at all);
//     -D with no match exits 1 ("0 flow entries have been deleted."); -D prints the deleted entries on stdout.
//   - `-F -f ipv6` flushes every family.
//   - The text output shows type/code/id for ICMP; the XML does not. `-o labels` without connlabel.conf
//     prints "nfct_labelmap_new: No such file or directory" on stderr.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { IPS, TCP_STATES, type TcpState } from '../../lib/conntrack/constants';
import type { Connection, Counter, Family, IcmpFields, Tuple } from '../../lib/conntrack/types';

// ---------------------------------------------------------------------------------------------------------
// Model

export interface OracleTuple {
  src: string;
  dst: string;
  protocol: number;
  sport?: number;
  dport?: number;
  /** Only from the plain-text supplement (the XML never shows ICMP fields). */
  icmp?: IcmpFields;
  /** CTA_TUPLE_ZONE: only present when the kernel sent one for this direction. */
  zone?: number;
}

export interface OracleEntry {
  family: Family;
  original: OracleTuple;
  reply: OracleTuple;
  id?: number;
  /** IPS_* bits, restricted to STATUS_BITS_SHOWN (the only ones the XML reveals). */
  status: number;
  /** TCP state, only for protocol 6. */
  tcpState?: TcpState;
  /** Raw <state> text for any protocol (unreliable for SCTP/DCCP, see above). */
  stateText?: string;
  timeout?: number;
  mark?: number;
  secmark?: number;
  secctx?: string;
  /** CTA_ZONE (0 when absent, as in Connection). */
  zone: number;
  use?: number;
  counters?: { original: Counter; reply: Counter };
  /** Wall-clock ns since the epoch; only when listed with the ktimestamp output flag. */
  timestamp?: { start?: bigint; stop?: bigint };
  /** Seconds since start (or stop - start), as computed by conntrack from the local clock. */
  deltatime?: number;
  /** Label names (connlabel.conf), when shown. */
  labels?: string[];
  helper?: string;
  /** Elements of the XML this parser does not map: a non-empty list means the oracle lost information. */
  unmapped?: string[];
}

/** The status bits the XML output can express. */
export const STATUS_BITS_SHOWN = IPS.ASSURED | IPS.SEEN_REPLY;

export interface CommandResult {
  argv: string[];
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface OracleListing {
  entries: OracleEntry[];
  /** "N flow entries have been shown." from stderr, undefined if conntrack did not say. */
  reportedCount: number | undefined;
  xml: CommandResult;
  /** The plain-text listing used for ICMP details, when one was run. */
  text?: CommandResult;
}

export interface ListOptions {
  /** Network namespace name as `ip netns` knows it. */
  netns: string;
  /** Filters for `conntrack -L`, e.g. ['-p', 'tcp', '--dport', '443'] or ['-f', 'ipv6']. */
  args?: string[];
  /** Add the `ktimestamp` output flag so <timestamp><start> is printed (default true). */
  ktimestamp?: boolean;
  /** Fill ICMP type/code/id from a second, text listing (default true; only runs when ICMP entries exist). */
  icmpDetails?: boolean;
  /** Throw when the parsed count differs from the count conntrack reports on stderr (default true). */
  checkCount?: boolean;
}

// ---------------------------------------------------------------------------------------------------------
// Running commands

export class OracleCommandError extends Error {
  constructor(
    message: string,
    readonly result: CommandResult,
  ) {
    super(message);
    this.name = 'OracleCommandError';
  }
}

/** Runs a command, capturing stdout/stderr and the exit code; never throws for a non-zero exit. */
export function runCommand(argv: string[], input?: string): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    if (!child.stdout || !child.stderr) throw new Error('spawn gave no stdout/stderr pipes');
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({
        argv,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        exitCode: code ?? (signal ? 128 : -1),
      });
    });
    if (input !== undefined && child.stdin) {
      // A child that exits without reading its input must not crash us with EPIPE.
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
    }
  });
}

/** `ip netns exec NETNS conntrack ARGS...` */
export function runConntrack(netns: string, args: string[]): Promise<CommandResult> {
  if (!/^[A-Za-z0-9_.-]+$/.test(netns)) throw new Error(`not a netns name: ${JSON.stringify(netns)}`);
  return runCommand(['ip', 'netns', 'exec', netns, 'conntrack', ...args]);
}

function describe(result: CommandResult): string {
  return `${result.argv.join(' ')} exited ${result.exitCode}: ${result.stderr.trim()}`;
}

/**
 * The count conntrack prints on stderr: "conntrack v1.4.7 (conntrack-tools): N flow entries have been shown."
 * (verb: shown, deleted, created, updated). Undefined when absent.
 */
export function parseReportedCount(stderr: string, verb = 'shown'): number | undefined {
  const re = new RegExp(`(\\d+) flow entries have been ${verb}\\.`, 'g');
  let last: number | undefined;
  for (const m of stderr.matchAll(re)) last = Number(m[1]);
  return last;
}

// ---------------------------------------------------------------------------------------------------------
// Addresses

/** IPv4 dotted quad without leading zeros. Throws on anything else. */
export function canonicalIPv4(address: string): string {
  const parts = address.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new Error(`bad IPv4 address: ${address}`);
  }
  return parts.map((p) => String(Number(p))).join('.');
}

/** The 8 16-bit groups of an IPv6 address (accepts '::' and a trailing dotted quad). */
export function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase();
  const pct = text.indexOf('%');
  if (pct >= 0) text = text.slice(0, pct);
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.slice(lastColon + 1).includes('.')) {
    // Trailing dotted quad: rewrite it as two hex groups.
    const v4 = canonicalIPv4(text.slice(lastColon + 1)).split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((v4[0] << 8) | v4[1]).toString(16)}:${((v4[2] << 8) | v4[3]).toString(16)}`;
  }
  const bad = (): Error => new Error(`bad IPv6 address: ${address}`);
  const halves = text.split('::');
  if (halves.length > 2) throw bad();
  const parse = (s: string): number[] =>
    s === ''
      ? []
      : s.split(':').map((g) => {
          if (!/^[0-9a-f]{1,4}$/.test(g)) throw bad();
          return parseInt(g, 16);
        });
  const head = parse(halves[0]);
  if (halves.length === 1) {
    if (head.length !== 8) throw bad();
    return head;
  }
  const rest = parse(halves[1]);
  if (head.length + rest.length > 7) throw bad();
  return [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
}

/**
 * RFC 5952 text form: lower case, no leading zeros, the longest run (first on a tie) of two or more zero
 * groups replaced by '::', and mixed notation for IPv4-mapped addresses (::ffff:a.b.c.d) only.
 * (glibc's inet_ntop, hence conntrack, and libuv also use a dotted quad for the deprecated IPv4-compatible
 * ::a.b.c.d; RFC 5952 does not, and neither does this.)
 */
export function canonicalIPv6(address: string): string {
  const g = ipv6Groups(address);
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    return `::ffff:${g[6] >> 8}.${g[6] & 0xff}.${g[7] >> 8}.${g[7] & 0xff}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function canonicalAddress(address: string, family: Family): string {
  return family === 'ipv4' ? canonicalIPv4(address) : canonicalIPv6(address);
}

// ---------------------------------------------------------------------------------------------------------
// XML parsing

type XmlNode = { [key: string]: XmlValue };
type XmlValue = string | XmlNode | XmlValue[];

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (name) => name === 'flow' || name === 'meta' || name === 'label',
});

function asNode(value: XmlValue | undefined): XmlNode | undefined {
  return value !== undefined && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
}

function asNodes(value: XmlValue | undefined): XmlNode[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((v) => (typeof v === 'string' ? {} : (asNode(v) ?? {})));
}

function text(node: XmlNode | undefined, key: string): string | undefined {
  const v = node?.[key];
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  const inner = asNode(v)?.['#text'];
  return typeof inner === 'string' ? inner : '';
}

function uint(node: XmlNode | undefined, key: string, where: string): number | undefined {
  const t = text(node, key);
  if (t === undefined) return undefined;
  if (!/^\d+$/.test(t)) throw new Error(`${where}: <${key}> is not an unsigned integer: ${JSON.stringify(t)}`);
  return Number(t);
}

function big(node: XmlNode | undefined, key: string, where: string): bigint | undefined {
  const t = text(node, key);
  if (t === undefined) return undefined;
  if (!/^\d+$/.test(t)) throw new Error(`${where}: <${key}> is not an unsigned integer: ${JSON.stringify(t)}`);
  return BigInt(t);
}

const KNOWN = {
  direction: new Set(['@_direction', 'layer3', 'layer4', 'zone', 'counters']),
  layer3: new Set(['@_protonum', '@_protoname', 'src', 'dst']),
  layer4: new Set(['@_protonum', '@_protoname', 'sport', 'dport']),
  independent: new Set([
    '@_direction',
    'state',
    'timeout',
    'mark',
    'labels',
    'secmark',
    'secctx',
    'zone',
    'use',
    'id',
    'assured',
    'unreplied',
    'timestamp',
    'deltatime',
  ]),
  flow: new Set(['meta', 'helper', 'when', '@_type']),
};

function unmappedKeys(node: XmlNode, known: Set<string>, prefix: string, out: string[]): void {
  for (const key of Object.keys(node)) if (!known.has(key)) out.push(`${prefix}${key}`);
}

function parseTuple(meta: XmlNode, where: string, unmapped: string[]): { tuple: OracleTuple; family: Family; counters?: Counter } {
  const dir = text(meta, '@_direction') ?? '?';
  unmappedKeys(meta, KNOWN.direction, `${dir}.`, unmapped);
  const l3 = asNode(meta.layer3);
  const l4 = asNode(meta.layer4) ?? (meta.layer4 === '' ? {} : undefined);
  if (!l3 || !l4) throw new Error(`${where}: direction ${dir} lacks layer3/layer4`);
  unmappedKeys(l3, KNOWN.layer3, `${dir}.layer3.`, unmapped);
  unmappedKeys(l4, KNOWN.layer4, `${dir}.layer4.`, unmapped);
  const l3num = uint(l3, '@_protonum', where);
  const family: Family | undefined = l3num === 2 ? 'ipv4' : l3num === 10 ? 'ipv6' : undefined;
  if (!family) throw new Error(`${where}: unknown layer3 protonum ${String(l3num)}`);
  const src = text(l3, 'src');
  const dst = text(l3, 'dst');
  const protocol = uint(l4, '@_protonum', where);
  if (!src || !dst || protocol === undefined) throw new Error(`${where}: incomplete ${dir} tuple`);
  const tuple: OracleTuple = {
    src: canonicalAddress(src, family),
    dst: canonicalAddress(dst, family),
    protocol,
  };
  const sport = uint(l4, 'sport', where);
  const dport = uint(l4, 'dport', where);
  if (sport !== undefined) tuple.sport = sport;
  if (dport !== undefined) tuple.dport = dport;
  const zone = uint(meta, 'zone', where);
  if (zone !== undefined) tuple.zone = zone;
  const c = asNode(meta.counters);
  let counters: Counter | undefined;
  if (c) {
    const packets = big(c, 'packets', where);
    const bytes = big(c, 'bytes', where);
    if (packets === undefined || bytes === undefined) throw new Error(`${where}: incomplete counters`);
    counters = { packets, bytes };
  }
  return { tuple, family, counters };
}

function parseFlow(flow: XmlNode, index: number): OracleEntry {
  const where = `flow #${index}`;
  const unmapped: string[] = [];
  unmappedKeys(flow, KNOWN.flow, '', unmapped);
  const metas = asNodes(flow.meta);
  const byDir = new Map(metas.map((m) => [text(m, '@_direction') ?? '', m]));
  const origMeta = byDir.get('original');
  const replyMeta = byDir.get('reply');
  if (!origMeta || !replyMeta) throw new Error(`${where}: missing original or reply direction`);
  const orig = parseTuple(origMeta, where, unmapped);
  const reply = parseTuple(replyMeta, where, unmapped);
  if (orig.family !== reply.family) throw new Error(`${where}: directions disagree on the family`);
  const ind = byDir.get('independent') ?? {};
  unmappedKeys(ind, KNOWN.independent, 'independent.', unmapped);

  const entry: OracleEntry = {
    family: orig.family,
    original: orig.tuple,
    reply: reply.tuple,
    status: ('assured' in ind ? IPS.ASSURED : 0) | ('unreplied' in ind ? 0 : IPS.SEEN_REPLY),
    zone: uint(ind, 'zone', where) ?? 0,
  };
  const id = uint(ind, 'id', where);
  if (id !== undefined) entry.id = id;
  const state = text(ind, 'state');
  if (state !== undefined) {
    entry.stateText = state;
    if (orig.tuple.protocol === 6) {
      if (!(TCP_STATES as readonly string[]).includes(state)) {
        // libnetfilter_conntrack calls TCP_CONNTRACK_SYN_SENT2 (index 9) "LISTEN".
        if (state !== 'LISTEN') throw new Error(`${where}: unknown TCP state ${state}`);
        entry.tcpState = 'SYN_SENT2';
      } else {
        entry.tcpState = state as TcpState;
      }
    }
  }
  const optional = ['timeout', 'mark', 'secmark', 'use'] as const;
  for (const key of optional) {
    const v = uint(ind, key, where);
    if (v !== undefined) entry[key] = v;
  }
  const secctx = text(ind, 'secctx');
  if (secctx !== undefined) entry.secctx = secctx;
  if (orig.counters || reply.counters) {
    if (!orig.counters || !reply.counters) throw new Error(`${where}: counters in one direction only`);
    entry.counters = { original: orig.counters, reply: reply.counters };
  }
  const ts = asNode(ind.timestamp);
  if (ts) {
    entry.timestamp = {};
    const start = big(ts, 'start', where);
    const stop = big(ts, 'stop', where);
    if (start !== undefined) entry.timestamp.start = start;
    if (stop !== undefined) entry.timestamp.stop = stop;
  }
  const delta = uint(ind, 'deltatime', where);
  if (delta !== undefined) entry.deltatime = delta;
  if (ind.labels !== undefined) {
    const labels = asNode(ind.labels);
    const list = labels?.label === undefined ? [] : Array.isArray(labels.label) ? labels.label : [labels.label];
    entry.labels = list.map((l) => (typeof l === 'string' ? l : (text(asNode(l), '#text') ?? '')));
  }
  const helper = text(flow, 'helper');
  if (helper !== undefined) entry.helper = helper;
  if (unmapped.length) entry.unmapped = unmapped;
  return entry;
}

/** Parses the stdout of `conntrack -L -o xml[,...]`. Empty output (no entries) gives []. */
export function parseConntrackXml(xml: string): OracleEntry[] {
  if (xml.trim() === '') return [];
  const doc = parser.parse(xml) as XmlNode;
  const root = doc.conntrack;
  if (root === undefined) throw new Error('no <conntrack> root element');
  if (root === '') return [];
  const rootNode = asNode(root);
  if (!rootNode) throw new Error('unexpected <conntrack> content');
  return asNodes(rootNode.flow).map(parseFlow);
}

// ---------------------------------------------------------------------------------------------------------
// Plain-text supplement (ICMP details)

export interface TextIcmpDetails {
  id: number;
  original?: IcmpFields;
  reply?: IcmpFields;
}

/**
 * Parses `conntrack -L -o id` text lines for what the XML lacks: ICMP type/code/id per direction, keyed by the
 * entry id (the last `id=` on the line; an ICMP tuple's own `id=` follows its `type=` and `code=`).
 */
export function parseConntrackTextIcmp(output: string): Map<number, TextIcmpDetails> {
  const result = new Map<number, TextIcmpDetails>();
  for (const line of output.split('\n')) {
    const tokens = line.trim().split(/\s+/);
    if (tokens.length < 3) continue;
    const tuples: Partial<IcmpFields>[] = [];
    let current: Partial<IcmpFields> | undefined;
    let ctId: number | undefined;
    for (const token of tokens) {
      const eq = token.indexOf('=');
      if (eq < 0) continue;
      const key = token.slice(0, eq);
      const value = token.slice(eq + 1);
      if (key === 'src') {
        current = {};
        tuples.push(current);
      } else if (key === 'type' && current) current.type = Number(value);
      else if (key === 'code' && current) current.code = Number(value);
      else if (key === 'id') {
        if (current && current.type !== undefined && current.id === undefined) current.id = Number(value);
        else ctId = Number(value);
      }
    }
    if (ctId === undefined) continue;
    const complete = (t: Partial<IcmpFields> | undefined): IcmpFields | undefined =>
      t && t.type !== undefined && t.code !== undefined && t.id !== undefined
        ? { type: t.type, code: t.code, id: t.id }
        : undefined;
    const original = complete(tuples[0]);
    const reply = complete(tuples[1]);
    if (original || reply) result.set(ctId, { id: ctId, original, reply });
  }
  return result;
}

/** Copies ICMP fields from the text listing into the XML entries (by id). Returns how many were filled. */
export function mergeIcmpDetails(entries: OracleEntry[], details: Map<number, TextIcmpDetails>): number {
  let filled = 0;
  for (const e of entries) {
    if (e.id === undefined || (e.original.protocol !== 1 && e.original.protocol !== 58)) continue;
    const d = details.get(e.id);
    if (!d) continue;
    if (d.original) e.original.icmp = d.original;
    if (d.reply) e.reply.icmp = d.reply;
    filled++;
  }
  return filled;
}

// ---------------------------------------------------------------------------------------------------------
// Listing, counting, deleting, inserting

/** Lists with `conntrack -L -o xml,id[,ktimestamp] ARGS` and returns the entries plus the raw outputs. */
export async function listWithConntrackDetailed(options: ListOptions): Promise<OracleListing> {
  const args = options.args ?? [];
  const format = options.ktimestamp === false ? 'xml,id' : 'xml,id,ktimestamp';
  const xml = await runConntrack(options.netns, ['-L', '-o', format, ...args]);
  if (xml.exitCode !== 0) throw new OracleCommandError(describe(xml), xml);
  const entries = parseConntrackXml(xml.stdout);
  const reportedCount = parseReportedCount(xml.stderr);
  if (options.checkCount !== false && reportedCount !== entries.length) {
    throw new OracleCommandError(
      `parsed ${entries.length} entries but conntrack reported ${String(reportedCount)}: ${xml.stderr.trim()}`,
      xml,
    );
  }
  const listing: OracleListing = { entries, reportedCount, xml };
  if (options.icmpDetails !== false && entries.some((e) => e.original.protocol === 1 || e.original.protocol === 58)) {
    const textRun = await runConntrack(options.netns, ['-L', '-o', 'id', ...args]);
    if (textRun.exitCode !== 0) throw new OracleCommandError(describe(textRun), textRun);
    mergeIcmpDetails(entries, parseConntrackTextIcmp(textRun.stdout));
    listing.text = textRun;
  }
  return listing;
}

/**
 * `ip netns exec NETNS conntrack -L -o xml,id,ktimestamp ARGS`, parsed. Throws if conntrack fails or if the
 * parsed count differs from the count it reports on stderr. conntrack 1.4.7 lists BOTH families when no
 * family is given (`-f ipv4` / `-f ipv6` restrict it).
 */
export async function listWithConntrack(options: ListOptions): Promise<OracleEntry[]> {
  return (await listWithConntrackDetailed(options)).entries;
}

/**
 * Everything in the namespace, one family at a time (`-f ipv4`, then `-f ipv6`), so the result does not
 * depend on the conntrack version's default family. `args` must not contain a family or family-specific
 * addresses.
 */
export async function listAll(
  netns: string,
  args: string[] = [],
  options: Omit<ListOptions, 'netns' | 'args'> = {},
): Promise<OracleEntry[]> {
  if (args.includes('-f') || args.includes('--family')) throw new Error('listAll: args must not choose a family');
  const v4 = await listWithConntrack({ ...options, netns, args: ['-f', 'ipv4', ...args] });
  const v6 = await listWithConntrack({ ...options, netns, args: ['-f', 'ipv6', ...args] });
  return [...v4, ...v6];
}

/**
 * Without args: `conntrack -C` (the namespace's nf_conntrack_count: both families; it may include entries
 * not yet confirmed). With args (-C accepts no filters): the count `conntrack -L ARGS` reports on stderr.
 */
export async function countWithConntrack(netns: string, args: string[] = []): Promise<number> {
  if (args.length === 0) {
    const r = await runConntrack(netns, ['-C']);
    if (r.exitCode !== 0 || !/^\d+\s*$/.test(r.stdout)) throw new OracleCommandError(describe(r), r);
    return Number(r.stdout.trim());
  }
  const r = await runConntrack(netns, ['-L', '-o', 'id', ...args]);
  const n = parseReportedCount(r.stderr);
  if (r.exitCode !== 0 || n === undefined) throw new OracleCommandError(describe(r), r);
  return n;
}

export interface DeleteResult extends CommandResult {
  deleted: number;
}

/**
 * `conntrack -D ARGS` (e.g. ['-q', '203.0.113.1'] or a full tuple). Deleting nothing exits 1 ("0 flow entries
 * have been deleted.", or "such conntrack doesn't exist" for a full tuple): that is deleted = 0, not an error.
 * conntrack -D never sends CTA_ID: it deletes whatever entry has the tuple now.
 */
export async function deleteWithConntrack(netns: string, args: string[]): Promise<DeleteResult> {
  const r = await runConntrack(netns, ['-D', ...args]);
  const reported = parseReportedCount(r.stderr, 'deleted');
  if (r.exitCode === 0 && reported !== undefined) return { ...r, deleted: reported };
  if (r.exitCode === 1 && (reported === 0 || /doesn't exist|No such file/.test(r.stderr))) return { ...r, deleted: 0 };
  throw new OracleCommandError(describe(r), r);
}

/** `conntrack -F`. Quirk (1.4.7): `-F -f ipv6` still flushes every family, so no family parameter here. */
export async function flushWithConntrack(netns: string): Promise<void> {
  const r = await runConntrack(netns, ['-F']);
  if (r.exitCode !== 0) throw new OracleCommandError(describe(r), r);
}

export interface InsertSpec {
  /** 'tcp' | 'udp' | 'icmp' | 'icmpv6' | 'sctp' | ... as conntrack -p takes it. */
  protocol: string;
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  icmp?: IcmpFields;
  /** TCP (or SCTP) state name, e.g. 'ESTABLISHED'. */
  state?: string;
  /** Seconds; required by the kernel for a new entry. */
  timeout: number;
  mark?: number;
  /** CTA_ZONE (-w). */
  zone?: number;
  /** CTA_TUPLE_ZONE of the original direction (--orig-zone; --reply-zone is refused by 6.18 with EINVAL). */
  origZone?: number;
  /** conntrack -u names, e.g. ['ASSURED', 'SEEN_REPLY']. */
  status?: string[];
  /** --src-nat ADDR[:PORT] ([v6]:port for IPv6). */
  srcNat?: string;
  /** --dst-nat ADDR[:PORT]. */
  dstNat?: string;
}

/**
 * The argument list of `conntrack -I` for a spec. The family comes from the addresses: `-f` is refused with
 * -I ("Illegal option `--family' with this command").
 */
export function buildInsertArgs(spec: InsertSpec): string[] {
  const a = ['-I', '-p', spec.protocol, '-s', spec.src, '-d', spec.dst];
  if (spec.sport !== undefined) a.push('--sport', String(spec.sport));
  if (spec.dport !== undefined) a.push('--dport', String(spec.dport));
  if (spec.icmp) {
    const p = spec.protocol === 'icmpv6' ? '--icmpv6' : '--icmp';
    a.push(`${p}-type`, String(spec.icmp.type), `${p}-code`, String(spec.icmp.code), `${p}-id`, String(spec.icmp.id));
  }
  if (spec.state !== undefined) a.push('--state', spec.state);
  a.push('-t', String(spec.timeout));
  if (spec.mark !== undefined) a.push('-m', String(spec.mark));
  if (spec.zone !== undefined) a.push('-w', String(spec.zone));
  if (spec.origZone !== undefined) a.push('--orig-zone', String(spec.origZone));
  if (spec.status?.length) a.push('-u', spec.status.join(','));
  if (spec.srcNat !== undefined) a.push('--src-nat', spec.srcNat);
  if (spec.dstNat !== undefined) a.push('--dst-nat', spec.dstNat);
  return a;
}

/** `conntrack -I ...` (spec or raw args starting after -I). Throws unless conntrack reports 1 entry created. */
export async function insertWithConntrack(netns: string, spec: InsertSpec | string[]): Promise<CommandResult> {
  const args = Array.isArray(spec) ? ['-I', ...spec] : buildInsertArgs(spec);
  const r = await runConntrack(netns, args);
  if (r.exitCode !== 0 || parseReportedCount(r.stderr, 'created') !== 1) throw new OracleCommandError(describe(r), r);
  return r;
}

/**
 * Bulk insert through `conntrack -R FILE`: one `-I ...` argument list per entry (spaces inside arguments are
 * not supported by the -R format). Returns the created count conntrack reports.
 */
export async function loadWithConntrack(netns: string, entries: (InsertSpec | string[])[]): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'ctc-oracle-'));
  try {
    const file = join(dir, 'entries.txt');
    const lines = entries.map((e) => (Array.isArray(e) ? ['-I', ...e] : buildInsertArgs(e)).join(' '));
    await writeFile(file, lines.join('\n') + '\n');
    const r = await runConntrack(netns, ['-R', file]);
    const created = parseReportedCount(r.stderr, 'created');
    if (r.exitCode !== 0) throw new OracleCommandError(describe(r), r);
    return created ?? lines.length;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Throw-away namespaces

export interface TestNamespace {
  name: string;
  exec(argv: string[]): Promise<CommandResult>;
  /** Deletes the namespace (idempotent). */
  dispose(): Promise<void>;
}

/**
 * `ip netns add NAME` with accounting and timestamps on (per-namespace sysctls, set before any entry is
 * created: they only apply to entries created afterwards). Always call dispose().
 */
export async function createTestNamespace(
  prefix = 'ctc-oracle',
  sysctls: Record<string, string> = { 'net.netfilter.nf_conntrack_acct': '1', 'net.netfilter.nf_conntrack_timestamp': '1' },
): Promise<TestNamespace> {
  const name = `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const add = await runCommand(['ip', 'netns', 'add', name]);
  if (add.exitCode !== 0) throw new OracleCommandError(describe(add), add);
  let disposed = false;
  const ns: TestNamespace = {
    name,
    exec: (argv) => runCommand(['ip', 'netns', 'exec', name, ...argv]),
    dispose: async () => {
      if (disposed) return;
      disposed = true;
      const del = await runCommand(['ip', 'netns', 'del', name]);
      if (del.exitCode !== 0) throw new OracleCommandError(describe(del), del);
    },
  };
  try {
    const settings = Object.entries(sysctls).map(([k, v]) => `${k}=${v}`);
    if (settings.length) {
      const r = await ns.exec(['sysctl', '-q', '-w', ...settings]);
      if (r.exitCode !== 0) throw new OracleCommandError(describe(r), r);
    }
  } catch (e) {
    await ns.dispose();
    throw e;
  }
  return ns;
}

// ---------------------------------------------------------------------------------------------------------
// Comparing

export interface CompareOptions {
  /** Allowed |timeout difference| in seconds (default 3): the two listings are taken moments apart. */
  timeoutTolerance?: number;
  /**
   * Counters: 'exact' (default), or with live traffic which listing came later: 'ours-later' accepts
   * ours >= oracle, 'oracle-later' accepts oracle >= ours.
   */
  counters?: 'exact' | 'ours-later' | 'oracle-later';
  /** Also match entries without an id by family + original tuple + zone (default true). */
  matchByTupleWithoutId?: boolean;
  /** Label name -> bit, to compare labels (conntrack only shows names, via connlabel.conf). */
  labelBits?: Record<string, number>;
  /** Skip these fields (e.g. ['use', 'timeout']). */
  ignore?: ComparableField[];
}

export type ComparableField =
  | 'family'
  | 'original'
  | 'reply'
  | 'status'
  | 'tcpState'
  | 'timeout'
  | 'mark'
  | 'zone'
  | 'use'
  | 'counters'
  | 'timestamp'
  | 'labels'
  | 'helper'
  | 'secmark'
  | 'secctx';

function tupleText(t: Tuple | OracleTuple): string {
  const l4 =
    t.sport !== undefined || t.dport !== undefined
      ? ` ${String(t.sport)}->${String(t.dport)}`
      : t.icmp
        ? ` icmp ${t.icmp.type}/${t.icmp.code} id ${t.icmp.id}`
        : '';
  return `${t.src}->${t.dst} proto ${t.protocol}${l4}${t.zone !== undefined ? ` zone ${t.zone}` : ''}`;
}

function entryName(c: Connection | OracleEntry): string {
  return `[id ${String(c.id)} ${c.family} ${tupleText(c.original)}]`;
}

function tupleKey(family: Family, t: Tuple | OracleTuple, zone: number): string {
  return `${family}|${tupleText(t)}|${zone}`;
}

function sameAddress(a: string, b: string, family: Family): boolean {
  try {
    return canonicalAddress(a, family) === canonicalAddress(b, family);
  } catch {
    return false;
  }
}

function compareTuple(name: string, dir: 'original' | 'reply', family: Family, ours: Tuple, oracle: OracleTuple, out: string[]): void {
  for (const key of ['src', 'dst'] as const) {
    if (ours[key] !== oracle[key]) {
      const spelling = sameAddress(ours[key], oracle[key], family) ? ' (same address, not canonical in ours)' : '';
      out.push(`${name} ${dir}.${key}: ours ${ours[key]}, conntrack ${oracle[key]}${spelling}`);
    }
  }
  if (ours.protocol !== oracle.protocol) out.push(`${name} ${dir}.protocol: ours ${ours.protocol}, conntrack ${oracle.protocol}`);
  for (const key of ['sport', 'dport'] as const) {
    if (ours[key] !== oracle[key]) out.push(`${name} ${dir}.${key}: ours ${String(ours[key])}, conntrack ${String(oracle[key])}`);
  }
  if (oracle.icmp) {
    const a = ours.icmp;
    const b = oracle.icmp;
    if (!a || a.type !== b.type || a.code !== b.code || a.id !== b.id) {
      out.push(`${name} ${dir}.icmp: ours ${JSON.stringify(a ?? null)}, conntrack ${JSON.stringify(b)}`);
    }
  }
  if (ours.zone !== oracle.zone) out.push(`${name} ${dir}.zone: ours ${String(ours.zone)}, conntrack ${String(oracle.zone)}`);
}

function compareCounter(name: string, what: string, ours: bigint, oracle: bigint, mode: CompareOptions['counters'], out: string[]): void {
  const ok = mode === 'ours-later' ? ours >= oracle : mode === 'oracle-later' ? oracle >= ours : ours === oracle;
  if (!ok) {
    const rule = mode === 'ours-later' ? ' (expected ours >= conntrack)' : mode === 'oracle-later' ? ' (expected ours <= conntrack)' : '';
    out.push(`${name} ${what}: ours ${ours}, conntrack ${oracle}${rule}`);
  }
}

/**
 * Differences between our dump and the oracle's, as readable lines ([] = agree on everything the XML shows).
 * Entries are matched by id (then, for entries without an id, by tuple). Compared: family, both tuples
 * (ICMP fields only when the oracle has them, tuple zones exactly), the status bits in STATUS_BITS_SHOWN,
 * TCP state (tcp only), timeout within `timeoutTolerance` seconds, mark, zone, use, counters (presence and
 * values), timestamp start/stop when the oracle shows them, helper, secmark, secctx, labels (with labelBits).
 * Never compared (the XML cannot show them): other status bits, TCP wscale/flags, SCTP/DCCP protoinfo,
 * seq adjust, master tuple, raw attributes.
 */
export function compareConnections(ours: Connection[], oracle: OracleEntry[], options: CompareOptions = {}): string[] {
  const out: string[] = [];
  const tolerance = options.timeoutTolerance ?? 3;
  const ignore = new Set(options.ignore ?? []);
  const byTuple = options.matchByTupleWithoutId !== false;

  const oracleById = new Map<number, OracleEntry>();
  const oracleByTuple = new Map<string, OracleEntry>();
  for (const e of oracle) {
    if (e.id !== undefined) {
      if (oracleById.has(e.id)) out.push(`conntrack listed id ${e.id} twice`);
      oracleById.set(e.id, e);
    }
    oracleByTuple.set(tupleKey(e.family, e.original, e.zone), e);
  }
  const matched = new Set<OracleEntry>();
  const seenOurIds = new Set<number>();

  for (const c of ours) {
    const name = entryName(c);
    if (c.id !== undefined) {
      if (seenOurIds.has(c.id)) out.push(`ours listed id ${c.id} twice`);
      seenOurIds.add(c.id);
    }
    let o = c.id !== undefined ? oracleById.get(c.id) : undefined;
    if (!o && byTuple && (c.id === undefined || oracleById.size === 0)) o = oracleByTuple.get(tupleKey(c.family, c.original, c.zone));
    if (!o) {
      out.push(`${name} only in ours`);
      continue;
    }
    matched.add(o);
    const has = (f: ComparableField): boolean => !ignore.has(f);

    if (has('family') && c.family !== o.family) out.push(`${name} family: ours ${c.family}, conntrack ${o.family}`);
    if (has('original')) compareTuple(name, 'original', o.family, c.original, o.original, out);
    if (has('reply')) compareTuple(name, 'reply', o.family, c.reply, o.reply, out);
    if (has('status') && (c.status & STATUS_BITS_SHOWN) !== o.status) {
      out.push(
        `${name} status (ASSURED|SEEN_REPLY only): ours 0x${(c.status & STATUS_BITS_SHOWN).toString(16)}, conntrack 0x${o.status.toString(16)}`,
      );
    }
    if (has('tcpState') && o.original.protocol === 6) {
      const s = c.protoinfo?.tcp?.state;
      if (s !== o.tcpState) out.push(`${name} tcp state: ours ${String(s)}, conntrack ${String(o.tcpState)}`);
    }
    if (has('timeout')) {
      if ((c.timeout === undefined) !== (o.timeout === undefined)) {
        out.push(`${name} timeout: ours ${String(c.timeout)}, conntrack ${String(o.timeout)}`);
      } else if (c.timeout !== undefined && o.timeout !== undefined && Math.abs(c.timeout - o.timeout) > tolerance) {
        out.push(`${name} timeout: ours ${c.timeout}, conntrack ${o.timeout} (tolerance ±${tolerance} s)`);
      }
    }
    for (const key of ['mark', 'use', 'secmark', 'secctx'] as const) {
      if (has(key) && c[key] !== o[key] && !(key === 'secmark' && o[key] === undefined)) {
        out.push(`${name} ${key}: ours ${String(c[key])}, conntrack ${String(o[key])}`);
      }
    }
    if (has('zone') && c.zone !== o.zone) out.push(`${name} zone: ours ${c.zone}, conntrack ${o.zone}`);
    if (has('counters')) {
      if (!c.counters !== !o.counters) {
        out.push(`${name} counters: ${c.counters ? 'only ours has them' : 'only conntrack has them'}`);
      } else if (c.counters && o.counters) {
        for (const dir of ['original', 'reply'] as const) {
          compareCounter(name, `${dir}.packets`, c.counters[dir].packets, o.counters[dir].packets, options.counters, out);
          compareCounter(name, `${dir}.bytes`, c.counters[dir].bytes, o.counters[dir].bytes, options.counters, out);
        }
      }
    }
    if (has('timestamp')) {
      // conntrack prints <deltatime> whenever the kernel sent a start time, <timestamp> only with ktimestamp.
      const kernelSent = o.deltatime !== undefined || o.timestamp !== undefined;
      if (!kernelSent && c.timestamp) out.push(`${name} timestamp: only ours has one`);
      if (kernelSent && !c.timestamp) out.push(`${name} timestamp: only conntrack has one`);
      if (o.timestamp && c.timestamp) {
        if (o.timestamp.start !== undefined && c.timestamp.start !== o.timestamp.start) {
          out.push(`${name} timestamp.start: ours ${c.timestamp.start}, conntrack ${o.timestamp.start}`);
        }
        if (c.timestamp.stop !== o.timestamp.stop) {
          out.push(`${name} timestamp.stop: ours ${String(c.timestamp.stop)}, conntrack ${String(o.timestamp.stop)}`);
        }
      }
    }
    if (has('helper') && c.helper !== o.helper) out.push(`${name} helper: ours ${String(c.helper)}, conntrack ${String(o.helper)}`);
    if (has('labels') && options.labelBits && o.labels) {
      const expected = new Set(o.labels.map((l) => options.labelBits?.[l]));
      const actual = new Set<number>();
      c.labels?.forEach((byte, i) => {
        for (let b = 0; b < 8; b++) if (byte & (1 << b)) actual.add(i * 8 + b);
      });
      const a = [...actual].sort((x, y) => x - y).join(',');
      const e = [...expected].map(Number).sort((x, y) => x - y).join(',');
      if (a !== e) out.push(`${name} label bits: ours [${a}], conntrack [${e}]`);
    }
  }
  for (const o of oracle) if (!matched.has(o)) out.push(`${entryName(o)} only in conntrack`);
  return out;
}
