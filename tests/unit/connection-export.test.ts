// The connections export written from the snapshot's columns gives the same bytes as the rows' ApiConnection
// objects through CONNECTION_COLUMNS and JSON.stringify (the row-by-row path history exports still take), on a
// table of awkward rows: IPv6, ICMP, GRE and a protocol without ports, NAT both ways, missing optional fields and
// counters, u64 counters past 2^53, the captured kernel entries, names, services, labels and WAN names that need quoting or formula neutralising.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Snapshot, SortKey } from '@/lib/conntrack';
import { SnapshotBuilder } from '@/lib/conntrack/snapshot';
import { CONNECTION_EXPORT_ROWS, connectionExportBody, warmConnectionExport } from '@/lib/console/connection-export';
import { CONNECTION_COLUMNS, rowsBody, type ExportBody, type ExportFormat } from '@/lib/console/export';
import type { ApiExternal } from '@/lib/console/connection';
import { rowWithUplink, type RowUplink } from '@/lib/console/uplink-queries';
import type { UplinkColumns } from '@/lib/console/uplinks';
import { Names } from '@/lib/names';
import { setProcessValue } from '@/lib/process';
import { awkwardSnapshot } from '../support/awkward-snapshot';

const dir = mkdtempSync(join(tmpdir(), 'ctc-export-'));

/** Host names as a lease file could never spell them, for the cells that must quote or neutralise them. */
const AWKWARD_NAMES = new Map([
  ['10.0.0.1', 'plain-host'],
  ['10.0.0.2', '=HYPERLINK("http://evil.example","x")'],
  ['198.51.100.7', '+1+1'],
  ['2001:db8::1', '-2,3'],
  ['2001:db8::2', '@SUM(A1)'],
  ['203.0.113.1', 'say "hi"'],
  ['192.0.2.9', 'two\nlines'],
  ['10.0.0.3', 'naïve-ünïcode'],
]);

let names: Pick<Names, 'nameOf' | 'serviceOf'>;

beforeAll(() => {
  const hosts = join(dir, 'hosts');
  writeFileSync(hosts, '10.0.0.4 from-the-hosts-file\n');
  const services = join(dir, 'services');
  writeFileSync(services, 'https 443/tcp\n=cmd 53/udp\n"quoted",x 8080/tcp\n@at 47/gre\n-dash 1194/udp\n');
  const labels = join(dir, 'connlabel.conf');
  writeFileSync(labels, '0 eth0-in\n1 =evil,"label"\n5 five\n');
  process.env.CONNTRACK_CONNLABEL_FILE = labels;
  const files = new Names({ files: [{ format: 'hosts', path: hosts }], servicesFile: services });
  names = {
    nameOf: (address) => (AWKWARD_NAMES.has(address) ? { name: AWKWARD_NAMES.get(address)!, source: 'hosts' } : files.nameOf(address)),
    serviceOf: (protocol, port) => files.serviceOf(protocol, port),
  };
  // The row-by-row CSV columns ask the process's Names.
  setProcessValue('names', names);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** WAN and stale columns, and who holds each external address, as the router would say (names needing quotes included). */
function awkwardUplink(snapshot: Snapshot): RowUplink {
  const size = snapshot.size;
  const wan = new Int16Array(size);
  const stale = new Uint8Array(size);
  for (let row = 0; row < size; row++) {
    wan[row] = (row % 5) - 2;
    stale[row] = row % 3 === 0 ? 1 : 0;
  }
  const columns: UplinkColumns = { names: ['wan1', '=wan,"two"', 'wän3'], wan, stale, staleCount: 0, staleByWan: [0, 0, 0], version: 'test' };
  const external = (address: string, kind: ApiExternal['kind']): ApiExternal => {
    const held = address.length % 2 === 0;
    return { address, kind, wan: address.includes(':') ? null : 'wan1', held, ...(held ? {} : { until: '2026-01-02T03:04:05.678Z' }) };
  };
  return { columns, external };
}

function drain(body: ExportBody): Buffer {
  const pieces: Uint8Array[] = [];
  // A piece is good until the next call (the body writes its next rows over it): each is copied.
  for (let piece = body(); piece; piece = body()) pieces.push(Buffer.from(piece));
  return Buffer.concat(pieces);
}

/** The row-by-row path: each row an ApiConnection (as the list API builds it), then the export columns or JSON.stringify. */
function rowByRow(snapshot: Snapshot, rows: readonly number[], format: ExportFormat, uplink: RowUplink | undefined): Buffer {
  const row = rowWithUplink(snapshot, uplink);
  let next = 0;
  return drain(rowsBody(format, CONNECTION_COLUMNS, () => rows.slice(next, (next += 500)).map(row)));
}

const snapshot = awkwardSnapshot(CONNECTION_EXPORT_ROWS * 2 + 123);

describe('the connections export from the columns', () => {
  it.each<[ExportFormat, boolean]>([
    ['csv', true],
    ['csv', false],
    ['json', true],
    ['json', false],
  ])('%s (router view %s): the same bytes as row by row, over several pieces', (format, withRouter) => {
    const uplink = withRouter ? awkwardUplink(snapshot) : undefined;
    const expected = rowByRow(snapshot, snapshot.query({ limit: Number.POSITIVE_INFINITY }).rows, format, uplink);
    const actual = drain(connectionExportBody({ snapshot, rows: snapshot.cursor(), format, uplink, names }));
    expect(actual.length).toBe(expected.length);
    // Compared as text first: a mismatch shows the differing row, not a byte offset.
    expect(actual.toString('utf8').split('\n')).toEqual(expected.toString('utf8').split('\n'));
    expect(actual.equals(expected)).toBe(true);
  });

  it('the table really holds the awkward values the comparison is about', () => {
    const csv = drain(connectionExportBody({ snapshot, rows: snapshot.cursor(), format: 'csv', uplink: awkwardUplink(snapshot), names })).toString('utf8');
    for (const cell of [`"'=HYPERLINK(""http://evil.example"",""x"")"`, "'+1+1", `"'-2,3"`, "'@SUM(A1)", '"say ""hi"""', '"two\nlines"', 'naïve-ünïcode', 'from-the-hosts-file']) expect(csv, cell).toContain(cell);
    for (const cell of ['https', "'=cmd", `"""quoted"",x"`, "'@at", "'-dash", '"he""l,per"', `"eth0-in =evil,""label""`, `"'=evil,""label""`, `"'=wan,""two"""`, 'wän3', '18446744073709552000']) expect(csv, cell).toContain(cell);
    for (const cell of ['1970-01-01T00:00:0', '2024-03-01T00:00:0', '2000-03-01T00:00:0', 'UNREPLIED', '0x80000000', 'client', 'server', '2001:db8::1', '::ffff:192.0.2.1']) expect(csv, cell).toContain(cell);
    const rows = JSON.parse(drain(connectionExportBody({ snapshot, rows: snapshot.cursor(), format: 'json', uplink: awkwardUplink(snapshot), names })).toString('utf8')) as { icmp?: unknown; original: { icmp?: unknown; sport?: number }; external?: { until?: string }; counters?: unknown; labels?: string[] }[];
    expect(rows).toHaveLength(snapshot.size);
    expect(rows.some((r) => r.original.icmp !== undefined)).toBe(true);
    expect(rows.some((r) => r.original.icmp === undefined && r.original.sport === undefined)).toBe(true);
    expect(rows.some((r) => r.external?.until !== undefined)).toBe(true);
    expect(rows.some((r) => r.counters === undefined)).toBe(true);
    expect(rows.some((r) => r.labels?.includes('=evil,"label"'))).toBe(true);
  });

  it.each<[SortKey, 'asc' | 'desc']>([
    ['bytesReply', 'desc'],
    ['src', 'asc'],
  ])('a filtered export sorted by %s %s: the rows and order of the same query', (sort, order) => {
    const filter = { protocol: 6 };
    const expected = rowByRow(snapshot, snapshot.query({ filter, sort, order, limit: Number.POSITIVE_INFINITY }).rows, 'csv', undefined);
    const rows = snapshot.cursor({ filter, sort, order });
    expect(rows.matched).toBe(snapshot.count(filter));
    expect(drain(connectionExportBody({ snapshot, rows, format: 'csv', names })).equals(expected)).toBe(true);
  });

  it('an export matching no row is the header alone (CSV) or an empty array (JSON)', () => {
    const filter = { id: 1, protocol: 99 };
    for (const format of ['csv', 'json'] as const) {
      const expected = rowByRow(snapshot, [], format, undefined);
      expect(drain(connectionExportBody({ snapshot, rows: snapshot.cursor({ filter }), format, names })).equals(expected)).toBe(true);
    }
    expect(JSON.parse(rowByRow(snapshot, [], 'json', undefined).toString())).toEqual([]);
  });
});

describe('names of many distinct addresses', () => {
  it('a CSV export with more distinct addresses than its lookup tables hold: the same bytes as row by row', () => {
    // 6,000 rows of four addresses each, drawn from 40,000 IPv6 and 262,144 IPv4 ones: slots are taken over again and again.
    let seed = 3;
    const next = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 4) % n;
    };
    const v6 = () => {
      const i = next(40_000);
      return [`2001:db8::${i.toString(16)}`, `2001:db8:${(i & 7).toString(16)}::${(i >> 3).toString(16)}`, `fe80::${i.toString(16)}:0`, i === 7 ? '::' : `ffff::${i.toString(16)}`][i & 3];
    };
    const builder = new SnapshotBuilder(6_000);
    for (let i = 0; i < 6_000; i++) {
      const ipv6 = next(10) < 6;
      const address = ipv6 ? v6 : () => `10.${next(4)}.${next(256)}.${next(256)}`;
      const [a, b, x, y] = [address(), address(), address(), address()];
      builder.addConnection({ family: ipv6 ? 'ipv6' : 'ipv4', original: { src: a, dst: b, protocol: 17, sport: 1, dport: 53 }, reply: { src: next(2) ? b : x, dst: next(2) ? a : y, protocol: 17, sport: 53, dport: 1 }, status: 0, zone: 0 });
    }
    const table = builder.finish({ takenAt: new Date(), tookMs: 0 });
    // A name for about a third of the addresses, spelled from the address text (what the export must look up by).
    const byText: Pick<Names, 'nameOf' | 'serviceOf'> = {
      nameOf: (address) => (address.length % 3 === 0 ? { name: `host-${address}`, source: 'hosts' } : undefined),
      serviceOf: () => undefined,
    };
    setProcessValue('names', byText);
    try {
      const expected = rowByRow(table, table.query({ limit: Number.POSITIVE_INFINITY }).rows, 'csv', undefined);
      const actual = drain(connectionExportBody({ snapshot: table, rows: table.cursor(), format: 'csv', names: byText }));
      expect(actual.toString('utf8').split('\n')).toEqual(expected.toString('utf8').split('\n'));
      expect(expected.toString('utf8')).toContain('host-2001:db8:');
      expect(expected.toString('utf8')).toMatch(/host-10\.\d+\.\d+\.\d+/);
    } finally {
      setProcessValue('names', names);
    }
  });
});

describe('an export on a busy machine', () => {
  it('writes every row even when each piece finds its time already up (the process was descheduled)', () => {
    const expected = rowByRow(snapshot, snapshot.query({ limit: Number.POSITIVE_INFINITY }).rows, 'csv', undefined);
    // Every reading of the clock 5 ms after the last: more than a piece's time between any two.
    let now = performance.now();
    const clock = vi.spyOn(performance, 'now').mockImplementation(() => (now += 5));
    try {
      expect(drain(connectionExportBody({ snapshot, rows: snapshot.cursor(), format: 'csv', names })).equals(expected)).toBe(true);
    } finally {
      clock.mockRestore();
    }
  });
});

describe("the export's warm-up", () => {
  it('writes in the background once per process, only for a big snapshot, under a lease it gives back', async () => {
    const small = awkwardSnapshot(1000);
    const noRouter = async () => undefined;
    const skipped = warmConnectionExport(small, noRouter);
    expect(small.readers).toBe(0);
    await skipped;
    // The first big snapshot of a process warms its sorts under a lease of its own: that one is left to it.
    awkwardSnapshot(100_000);
    const big = awkwardSnapshot(100_000);
    expect(big.readers).toBe(0);
    let turns = 0;
    // A router that answers "no route" to everything, counting its lookups: the WAN decisions are warmed too.
    let lookups = 0;
    const router = async () => ({
      router: { version: 1, flowSelectors: { source: false, markMask: 0 }, routeFor: () => (lookups++, { kind: 'none' as const, reason: 'no route' }), holderOfKey: () => undefined },
      wans: { version: 1, wans: () => [], ownerOfKey: () => undefined, wanOfInterface: () => undefined },
    });
    const warming = warmConnectionExport(big, router);
    // It holds the snapshot (its buffer must not go to a newer one meanwhile) and writes a piece per turn.
    expect(big.readers).toBe(1);
    const ticking = setInterval(() => turns++, 0);
    try {
      await warming;
    } finally {
      clearInterval(ticking);
    }
    expect(turns).toBeGreaterThan(0);
    expect(lookups).toBeGreaterThan(0);
    expect(big.readers).toBe(0);
    // Once is enough: another big snapshot is not written again.
    const other = awkwardSnapshot(100_000);
    const again = warmConnectionExport(other, noRouter);
    expect(other.readers).toBe(0);
    await again;
  }, 60_000);
});
