// Free text without the rows' text: the automaton over the columns (TextSearch) finds exactly the rows whose
// written text (rowText, what the console shows) contains the needle, on generated rows of every shape the text
// spells differently and needles cut from those rows (across fields, with spaces, in capitals) or made up.
import { describe, expect, it } from 'vitest';
import { SnapshotBuilder } from '@/lib/conntrack/snapshot';
import { rowText, TextSearch, TEXT_STEP_ROWS } from '@/lib/conntrack/snapshot/text';
import { stepLimit } from '@/lib/conntrack/snapshot/order';
import { IPS, TCP_STATES } from '@/lib/conntrack/constants';
import type { Connection, Tuple } from '@/lib/conntrack/types';

/** A small seeded generator (the rows and needles are the same on every run). */
function random(seed: number): (n: number) => number {
  let x = seed >>> 0;
  return (n) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % n;
  };
}

const pick = <T,>(r: (n: number) => number, values: readonly T[]): T => values[r(values.length)];

const V4 = ['10.0.0.1', '192.0.2.1', '203.0.113.44', '0.0.0.0', '255.255.255.255', '1.10.100.3', '198.51.100.7', '4.43.44.3'];
const V6 = ['::', '::1', '2001:db8::1', 'fe80::1:0:0:2', '::ffff:192.0.2.1', '2001:db8:0:1::', '2001:db8:a:b:c:d:e:f', '1:0:0:1::', 'abcd:ef01:2345:6789:abcd:ef01:2345:6789', '443::443'];
const PORTS = [0, 1, 22, 53, 80, 443, 999, 1000, 1001, 4430, 8443, 44300, 65535];
const IDS = [0, 1, 443, 999, 1000, 1001, 999_999, 1_000_000, 1_000_001, 2_147_483_648, 4_294_967_295, 123_456_789, 1_000_000_000];
const MARKS = [0, 0, 0, 1, 443, 1000, 4_294_967_295, 65_536];
const ZONES = [0, 0, 0, 1, 3, 443, 65_535];
const HELPERS = [undefined, undefined, undefined, undefined, 'ftp', 'FTP-Data', 'sip', 'Ünïcode', 'tcp 1'];
/** TCP, UDP, ICMP, ICMPv6, SCTP, GRE (no ports), DCCP, UDP-Lite, and one with no name. */
const PROTOCOLS = [6, 6, 17, 17, 1, 58, 132, 47, 33, 136, 99];
const STATUS = [IPS.ASSURED, IPS.SEEN_REPLY, IPS.SRC_NAT, IPS.DST_NAT, IPS.OFFLOAD, IPS.CONFIRMED];

function connection(r: (n: number) => number): Connection {
  const v6 = r(3) === 0;
  const protocol = pick(r, PROTOCOLS);
  const address = () => (v6 ? pick(r, V6) : pick(r, V4));
  const tuple = (src: string, dst: string): Tuple => {
    if (protocol === 1 || protocol === 58) return { src, dst, protocol, icmp: { type: r(256), code: r(4), id: pick(r, PORTS) } };
    if (protocol === 47 || protocol === 99) return { src, dst, protocol };
    return { src, dst, protocol, sport: pick(r, PORTS), dport: pick(r, PORTS) };
  };
  const [a, b, c] = [address(), address(), address()];
  let status = 0;
  for (const bit of STATUS) if (r(2)) status |= bit;
  const out: Connection = { family: v6 ? 'ipv6' : 'ipv4', original: tuple(a, b), reply: tuple(b, c), status, zone: pick(r, ZONES), id: pick(r, IDS) };
  if (r(4) === 0) out.id = r(0x7fffffff) * 2 + r(2);
  const mark = pick(r, MARKS);
  if (mark) out.mark = mark;
  if (protocol === 6) out.protoinfo = { tcp: { state: pick(r, TCP_STATES) } };
  const helper = pick(r, HELPERS);
  if (helper !== undefined) out.helper = helper;
  return out;
}

describe('free text over the columns', () => {
  // More rows than one search step, so helpers and rows on both sides of a step's edge are covered.
  const ROWS = TEXT_STEP_ROWS + 700;
  const r = random(13);
  const build = () => {
    const builder = new SnapshotBuilder(ROWS);
    const g = random(7);
    for (let i = 0; i < ROWS; i++) builder.addConnection(connection(g));
    return builder.finish({ takenAt: new Date(), tookMs: 0 });
  };
  const snapshot = build();
  const texts = Array.from({ length: ROWS }, (_, row) => rowText(snapshot.columns, row));

  const cut = (): string => {
    const text = pick(r, texts);
    const from = r(text.length);
    return text.slice(from, from + 1 + r(24));
  };
  const madeUp = (): string => Array.from({ length: 1 + r(6) }, () => pick(r, [...'0123456789.:[]abcdefx =', 'mark=', 'zone=', 'tcp', 'ipv6', 'ipv4 ', ' 443'])).join('');
  const needles = [
    ...Array.from({ length: 200 }, cut),
    ...Array.from({ length: 40 }, () => cut().toUpperCase()),
    ...Array.from({ length: 100 }, madeUp),
    ...['1]:4', '0 0', ':443 ', '::', '.0.', 'zone=', 'mark=4294967295', 'ipv6 udp', 'udp [', 'unreplied snat', 'ftp-data', 'ünï', 'ÜNÏCODE', 'tcp 1', '99 ', ' 0', '4294967295 ipv4', '443::443', 'established', '  '],
  ];

  /** The first row the search and the reference (the row's text contains the trimmed, lower-case needle) disagree on, or undefined. */
  const disagreement = (needle: string, rows: readonly number[]): string | undefined => {
    const lower = needle.trim().toLowerCase();
    const got = new Uint8Array(ROWS);
    for (const row of rows) got[row] = 1;
    for (let row = 0; row < ROWS; row++) {
      if (texts[row].includes(lower) !== (got[row] === 1)) return `row ${row} ${JSON.stringify(texts[row])}: ${got[row] ? 'found' : 'missed'}`;
    }
    return undefined;
  };

  it('finds exactly the rows whose text contains the needle', () => {
    let matchedSome = 0;
    for (const needle of needles) {
      const page = snapshot.query({ text: needle, limit: ROWS });
      expect(disagreement(needle, page.rows), JSON.stringify(needle)).toBeUndefined();
      expect(page.matched, JSON.stringify(needle)).toBe(page.rows.length);
      if (page.matched) matchedSome++;
    }
    // The needles are not all trivial: most were cut from rows, some made up match nothing.
    expect(matchedSome).toBeGreaterThan(needles.length / 2);
    expect(matchedSome).toBeLessThan(needles.length);
  }, 120_000);

  it('builds a needle\'s tables in steps: the port and IPv6 group tables are not one turn', () => {
    const ms = stepLimit.ms;
    // With no time at all, every block of a table is a step of its own.
    stepLimit.ms = 0;
    try {
      for (const needle of ['443', '2001:db8', 'tcp 1']) {
        const steps = TextSearch.steps(snapshot.columns, Buffer.from(needle));
        let yields = 0;
        let step = steps.next();
        for (; !step.done; step = steps.next()) yields++;
        // A state of the automaton a step (the needle's length + 1), and for "443" the two 65,536-entry tables in blocks.
        expect(yields, needle).toBeGreaterThan(needle === '443' ? 32 : needle.length);
        const found = new Uint8Array(ROWS);
        step.value.rows(0, ROWS, found);
        expect(disagreement(needle, [...found.keys()].filter((row) => found[row])), needle).toBeUndefined();
      }
    } finally {
      stepLimit.ms = ms;
    }
  });

  it('gives the same rows when prepare() searched in turns first', async () => {
    const prepared = build();
    for (const needle of needles.slice(0, 40)) {
      await prepared.prepare({ text: needle });
      expect(disagreement(needle, prepared.query({ text: needle, limit: ROWS }).rows), JSON.stringify(needle)).toBeUndefined();
    }
  }, 120_000);
});
