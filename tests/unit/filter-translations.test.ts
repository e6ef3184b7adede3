// The history store's SQL WHERE is a translation of the one filter evaluator: on the same cases
// (tests/support/filter-cases.ts) and the same connections, HistoryStore.query selects exactly the rows the
// evaluator selects. (The kernel plan is held to the evaluator against the real kernel, in
// tests/integration/conntrack-filters.test.ts.)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IPS, IPPROTO, parseFilter, PROTOCOL_NAMES, type Connection, type TcpState } from '@/lib/conntrack';
import { decodeConnection } from '@/lib/conntrack/codec/connection';
import { SnapshotBuilder } from '@/lib/conntrack/snapshot';
import { HistoryStore, type HistoryRecord } from '@/lib/history';
import { openStore } from '@/lib/store';
import { caseFilterOptions, FILTER_CASES } from '../support/filter-cases';
import type { InsertSpec } from '../support/oracle';
import { VARIED_ENTRIES } from '../integration/conntrack-setup';
import { ATTRS_START, connectionFixtures } from './codec/fixtures';

const NUMBERS: Record<string, number> = Object.fromEntries(Object.entries(PROTOCOL_NAMES).map(([n, name]) => [name, Number(n)]));

/** The entry conntrack -I would create for a spec: the reply tuple mirrored, NAT applied to it. */
function connectionOfSpec(spec: InsertSpec): Connection {
  const family = spec.src.includes(':') ? 'ipv6' : 'ipv4';
  const protocol = NUMBERS[spec.protocol];
  const split = (nat: string): [string, number | undefined] => {
    const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(nat)!;
    return family === 'ipv4' && nat.includes(':') ? [nat.split(':')[0], Number(nat.split(':')[1])] : [m[1], m[2] ? Number(m[2]) : undefined];
  };
  const [dnatAddress, dnatPort] = spec.dstNat ? split(spec.dstNat) : [spec.dst, spec.dport];
  const replyDst = spec.srcNat ? split(spec.srcNat)[0] : spec.src;
  const ported = spec.sport !== undefined;
  let status = 0;
  for (const name of spec.status ?? []) status |= IPS[name as keyof typeof IPS];
  if (spec.srcNat) status |= IPS.SRC_NAT;
  if (spec.dstNat) status |= IPS.DST_NAT;
  const connection: Connection = {
    family,
    original: { src: spec.src, dst: spec.dst, protocol, ...(ported ? { sport: spec.sport, dport: spec.dport } : {}), ...(spec.icmp ? { icmp: spec.icmp } : {}) },
    reply: { src: dnatAddress, dst: replyDst, protocol, ...(ported ? { sport: dnatPort, dport: spec.sport } : {}), ...(spec.icmp ? { icmp: { ...spec.icmp, type: 0 } } : {}) },
    status,
    zone: spec.zone ?? 0,
    mark: spec.mark ?? 0,
  };
  if (spec.state && protocol === IPPROTO.TCP) connection.protoinfo = { tcp: { state: spec.state as TcpState } };
  return connection;
}

// The varied table of the integration tests, plus every captured entry (GRE with keys in its ports, SCTP, zones,
// IPv4-mapped IPv6 addresses, real NAT).
const corpus: Connection[] = [
  ...VARIED_ENTRIES.filter((e): e is InsertSpec => !Array.isArray(e)).map(connectionOfSpec),
  ...connectionFixtures().map((f) => decodeConnection(f.message, ATTRS_START, f.end, f.family === 10 ? 'ipv6' : 'ipv4')),
].map((c, i) => ({ ...c, id: i + 1 }));

const recordOf = (c: Connection): HistoryRecord => ({
  id: c.id!,
  family: c.family,
  original: c.original,
  reply: c.reply,
  status: c.status,
  zone: c.zone,
  mark: c.mark ?? 0,
  state: c.protoinfo?.tcp?.state,
  endedAt: 1_000_000,
  cause: 'timeout',
});

let dir: string | undefined;
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the history SQL WHERE against the evaluator', () => {
  dir = mkdtempSync(join(tmpdir(), 'ctc-filter-sql-'));
  const store = new HistoryStore(openStore(dir));
  store.insert(corpus.map(recordOf));
  const table = new SnapshotBuilder(corpus.length);
  for (const c of corpus) table.addConnection(c);
  const snapshot = table.finish({ takenAt: new Date(), tookMs: 0 });

  for (const input of FILTER_CASES) {
    it(JSON.stringify(input), () => {
      const filter = parseFilter(input, caseFilterOptions());
      const evaluator = [...snapshot.select(filter)].map((row) => snapshot.connection(row).id).sort((a, b) => a! - b!);
      const sql = store
        .query({ filter, limit: 10_000, offset: 0 })
        .rows.map((r) => r.id)
        .sort((a, b) => a - b);
      expect(sql).toEqual(evaluator);
    });
  }

  it('the cases tell entries apart: most select some but not all of the corpus', () => {
    const sizes = FILTER_CASES.map((input) => snapshot.count(parseFilter(input, caseFilterOptions())));
    expect(sizes.filter((n) => n > 0 && n < corpus.length).length).toBeGreaterThan(FILTER_CASES.length * 0.8);
  });
});
