// The connections export written from the snapshot's columns gives the same bytes as the rows' ApiConnection
// objects through CONNECTION_COLUMNS and JSON.stringify (the row-by-row path history exports still take), on a
// table of awkward rows: IPv6, ICMP, GRE and a protocol without ports, NAT both ways, missing optional fields and
// counters, u64 counters past 2^53, the captured kernel entries, names, services, labels and WAN names that need quoting or formula neutralising.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IPS, type Connection, type Snapshot, type SortKey } from '@/lib/conntrack';
import { SnapshotBuilder } from '@/lib/conntrack/snapshot';
import { CONNECTION_EXPORT_ROWS, connectionExportBody } from '@/lib/console/connection-export';
import { CONNECTION_COLUMNS, rowsBody, type ExportBody, type ExportFormat } from '@/lib/console/export';
import type { ApiExternal } from '@/lib/console/connection';
import { rowWithUplink, type RowUplink } from '@/lib/console/uplink-queries';
import type { UplinkColumns } from '@/lib/console/uplinks';
import { Names } from '@/lib/names';
import { setProcessValue } from '@/lib/process';
import { connectionFixtures } from './codec/fixtures';

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

const V4 = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '198.51.100.7', '203.0.113.1', '192.0.2.9', '0.0.0.0', '255.255.255.255'];
const V6 = ['2001:db8::1', '2001:db8::2', '::1', '::ffff:192.0.2.1', 'fe80::1:2:3:4', '2001:db8:0:1:1:1:1:1', '::'];
const STATES = ['ESTABLISHED', 'SYN_SENT', 'TIME_WAIT', 'CLOSE', 'FIN_WAIT'] as const;
const U64_MAX = (1n << 64n) - 1n;
const COUNTS = [0n, 1n, 4294967295n, 4294967296n, 2n ** 53n - 1n, 2n ** 53n + 1n, U64_MAX];
const STARTS = [0n, 1_700_000_000_123_456_789n, 1_709_251_199_999_999_999n /* 2024-02-29T23:59:59.999 */, 951_868_800_000_000_000n /* 2000-03-01 */, 4_102_444_800_000_000_001n];

/** A deterministic table of every kind of row the snapshot can hold. */
function awkwardSnapshot(rows: number): Snapshot {
  const builder = new SnapshotBuilder(rows);
  // The captured kernel entries first (TCP flags, helpers, real NAT), read as a dump reads them.
  for (const fixture of connectionFixtures()) builder.addMessage(fixture.message, 0, fixture.end);
  // mulberry32: a fixed sequence, so the table is the same on every run.
  let seed = 7;
  const next = (n: number) => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
  for (let i = 0; i < rows; i++) {
    const v6 = next(3) === 0;
    const pool = v6 ? V6 : V4;
    const [a, b, x] = [pool[next(pool.length)], pool[next(pool.length)], pool[next(pool.length)]];
    const kind = next(6);
    const protocol = kind === 0 ? (v6 ? 58 : 1) : kind === 1 ? 47 : kind === 2 ? 200 : kind === 3 ? 17 : 6;
    const status = [0, IPS.SEEN_REPLY | IPS.ASSURED, IPS.SRC_NAT | IPS.SEEN_REPLY, IPS.DST_NAT, IPS.SRC_NAT | IPS.DST_NAT | IPS.CONFIRMED, 0x8000_0000 | IPS.SEEN_REPLY][next(6)] >>> 0;
    const sport = [0, 1, 443, 53, 65535, 8080, 1194][next(7)];
    const dport = [0, 443, 53, 8080, 47, 1194, 65535][next(7)];
    const ported = protocol !== 1 && protocol !== 58 && protocol !== 200;
    const tuple = (src: string, dst: string, s: number, d: number): Connection['original'] => {
      if (protocol === 1 || protocol === 58) return { src, dst, protocol, icmp: { type: next(256), code: next(256), id: next(65536) } };
      return ported ? { src, dst, protocol, sport: s, dport: d } : { src, dst, protocol };
    };
    const connection: Connection = { family: v6 ? 'ipv6' : 'ipv4', original: tuple(a, b, sport, dport), reply: tuple(b, x, dport, next(65536)), status, zone: next(4) === 0 ? next(65536) : 0 };
    if (next(8)) connection.id = next(4) === 0 ? 4294967295 - next(10) : i + 1;
    if (next(4)) connection.mark = next(3) === 0 ? 4294967295 : next(3);
    if (next(4)) connection.use = next(3);
    if (next(4)) connection.timeout = next(432000);
    if (protocol === 6 && next(5)) {
      const flag = () => ({ flags: next(256), mask: next(256) });
      connection.protoinfo = { tcp: { state: STATES[next(STATES.length)], ...(next(2) ? { flagsOriginal: flag() } : {}), ...(next(2) ? { flagsReply: flag() } : {}) } };
    }
    if (next(3)) {
      const count = () => COUNTS[next(COUNTS.length)] + BigInt(next(1000)) * (next(2) ? 1n : 0n);
      const capped = () => {
        const value = count();
        return value > U64_MAX ? U64_MAX : value;
      };
      connection.counters = { original: { packets: capped(), bytes: capped() }, reply: { packets: capped(), bytes: capped() } };
    }
    if (next(3)) connection.timestamp = { start: STARTS[next(STARTS.length)] + BigInt(next(1_000_000_000)) };
    if (next(6) === 0) connection.helper = ['ftp', 'sip', 'he"l,per'][next(3)];
    if (next(5) === 0) {
      const bitmap = new Uint8Array(16);
      bitmap[0] = next(256);
      if (next(2)) bitmap[15] = 0x80;
      connection.labels = bitmap;
    }
    builder.addConnection(connection);
  }
  return builder.finish({ takenAt: new Date(), tookMs: 0 });
}

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
