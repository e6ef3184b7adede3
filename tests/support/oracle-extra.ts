// More of the conntrack-tools oracle: the expectation table (`conntrack -L expect`) and labels by name
// (`conntrack -L -o labels`, which needs /etc/xtables/connlabel.conf). Independent of lib/conntrack like oracle.ts.
//
// conntrack 1.4.7 lists one family of expectations per run (IPv4 unless `-f ipv6`), and its XML has no id.
// conntrack reads connlabel.conf only from /etc/xtables; the host has none and a test must not write one, so the
// labels listing runs in a private mount namespace whose /etc is an overlay adding the test's file.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import type { Family } from '../../lib/conntrack/types';
import { canonicalAddress, OracleCommandError, parseConntrackXml, runCommand, runConntrack, type OracleEntry } from './oracle';

export interface OracleExpectationPart {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
}

export interface OracleExpectation {
  family: Family;
  protocol: number;
  tuple: OracleExpectationPart;
  mask: OracleExpectationPart;
  master: OracleExpectationPart;
  helper?: string;
  timeout: number;
  class: number;
}

type XmlNode = Record<string, unknown>;
const asArray = (v: unknown): XmlNode[] => (Array.isArray(v) ? (v as XmlNode[]) : v === undefined || v === '' ? [] : [v as XmlNode]);
const num = (v: unknown): number | undefined => (v === undefined || v === '' ? undefined : Number(v));

function part(l3: XmlNode, l4: XmlNode, name: string, family: Family): OracleExpectationPart {
  const a = (l3[name] ?? {}) as XmlNode;
  const p = (l4[name] ?? {}) as XmlNode;
  const out: OracleExpectationPart = { src: canonicalAddress(String(a.src), family), dst: canonicalAddress(String(a.dst), family) };
  const sport = num(p.sport);
  const dport = num(p.dport);
  if (sport !== undefined) out.sport = sport;
  if (dport !== undefined) out.dport = dport;
  return out;
}

/** Parses `conntrack -L expect -o xml`. */
export function parseExpectXml(xml: string): OracleExpectation[] {
  if (xml.trim() === '') return [];
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false });
  const doc = parser.parse(xml) as { expect?: { flow?: unknown } };
  return asArray(doc.expect?.flow).map((flow) => {
    const l3 = flow.layer3 as XmlNode;
    const l4 = flow.layer4 as XmlNode;
    const meta = (flow.meta ?? {}) as XmlNode;
    const family: Family = l3['@protoname'] === 'ipv6' ? 'ipv6' : 'ipv4';
    const exp: OracleExpectation = {
      family,
      protocol: Number(l4['@protonum']),
      tuple: part(l3, l4, 'expected', family),
      mask: part(l3, l4, 'mask', family),
      master: part(l3, l4, 'master', family),
      timeout: Number(meta.timeout),
      class: Number(meta.class ?? 0),
    };
    if (meta['helper-name'] !== undefined) exp.helper = String(meta['helper-name']);
    return exp;
  });
}

/** Every expectation in the namespace, both families. */
export async function listExpectationsWithConntrack(netns: string): Promise<OracleExpectation[]> {
  const out: OracleExpectation[] = [];
  for (const family of ['ipv4', 'ipv6']) {
    const result = await runConntrack(netns, ['-L', 'expect', '-f', family, '-o', 'xml']);
    if (result.exitCode !== 0) throw new OracleCommandError(`conntrack -L expect -f ${family} exited ${result.exitCode}: ${result.stderr.trim()}`, result);
    out.push(...parseExpectXml(result.stdout));
  }
  return out;
}

/**
 * `conntrack -L -o xml,id,labels ARGS` with `connlabelConf` as /etc/xtables/connlabel.conf (in a private mount
 * namespace: the host's /etc is untouched), parsed: each entry's labels are the names conntrack printed.
 */
export async function listWithLabels(netns: string, connlabelConf: string, args: string[] = []): Promise<OracleEntry[]> {
  if (!/^[A-Za-z0-9_.-]+$/.test(netns)) throw new Error(`not a netns name: ${JSON.stringify(netns)}`);
  const dir = await mkdtemp(join(tmpdir(), 'ctc-connlabel-'));
  try {
    await mkdir(join(dir, 'xtables'));
    await writeFile(join(dir, 'xtables', 'connlabel.conf'), connlabelConf);
    // $1 is the overlay's upper layer; after the shift, "$@" is the namespace and the conntrack command line.
    const script = 'mount -t overlay overlay -o "lowerdir=$1:/etc" /etc && shift && exec ip netns exec "$@"';
    const all: OracleEntry[] = [];
    for (const family of ['ipv4', 'ipv6']) {
      const result = await runCommand(['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', dir, netns, 'conntrack', '-L', '-f', family, '-o', 'xml,id,labels', ...args]);
      if (result.exitCode !== 0) throw new OracleCommandError(`conntrack -L -o labels exited ${result.exitCode}: ${result.stderr.trim()}`, result);
      all.push(...parseConntrackXml(result.stdout));
    }
    return all;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
