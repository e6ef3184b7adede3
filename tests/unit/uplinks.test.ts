// The WAN and stale columns of a snapshot are decided once per distinct external address and per distinct routed
// key (destination, the source when a rule reads it, the mark bits rules test), not per row: on a generated table
// (IPv4 and IPv6, source NAT, port forwards, routed entries with marks and sources that rules select on) every
// row must equal connectionUplink(), the per-Connection computation without any memo, and a change of the router
// must be followed. A page's rows decided alone (no columns yet) must be what the columns say of them.
import { describe, expect, it } from 'vitest';
import type { Connection } from '@/lib/conntrack';
import { SnapshotBuilder } from '@/lib/conntrack/snapshot';
import { stepLimit } from '@/lib/conntrack/snapshot/order';
import { connectionUplink, uplinkColumns, uplinkColumnsInTurns, uplinkOfRows, wanName, type UplinkLookups } from '@/lib/console/uplinks';
import { parseAddress } from '@/lib/netlink/address';
import { bytesKey, type FlowKey, type RouteDecision } from '@/lib/router';
import type { AddressOwner, WanState } from '@/lib/router';
import { turnsDuring } from '../support/turns';

const ROWS = 100_000;
const SRC_NAT = 0x10;
const DST_NAT = 0x20;
/** Held by wan1 (index 2), wan2 (3), formerly wan2's (held by none now), never anyone's. */
const EXTERNALS = ['203.0.113.1', '198.51.100.7', '192.0.2.99', '192.0.2.200', '2001:db8:e::1', '2001:db8:e::2'];
const WAN1 = 2;
const WAN2 = 3;

function connection(i: number): Connection {
  const v6 = i % 6 === 0;
  const client = v6 ? `2001:db8:100::${((i % 700) + 1).toString(16)}` : `10.0.${(i % 3000) >> 8}.${i % 251}`;
  const server = v6 ? `2001:db8:f000::${((i % 300) + 1).toString(16)}` : i % 17 === 0 ? `172.16.0.${i % 7}` : `93.184.${(i % 900) >> 8}.${i % 253}`;
  const nat = i % 5 === 0 ? SRC_NAT : i % 11 === 0 ? DST_NAT : 0;
  const external = v6 ? EXTERNALS[4 + (i % 2)] : EXTERNALS[i % 4];
  return {
    family: v6 ? 'ipv6' : 'ipv4',
    original: { src: client, dst: nat === DST_NAT ? external : server, protocol: 6, sport: 1024 + (i % 60_000), dport: 443 },
    reply: { src: nat === DST_NAT ? (v6 ? '2001:db8:100::99' : '10.99.0.10') : server, dst: nat === SRC_NAT ? external : client, protocol: 6, sport: 443, dport: 1024 + (i % 60_000) },
    status: 0x8 | nat,
    zone: 0,
    // mwan3-style marks in bits 0x3f00, with other bits set as well (no rule reads those).
    mark: [0, 0x100, 0x200, 0x100 | 0x1, 0x4000, 0x4100][i % 6],
    id: i + 1,
  };
}

const connections = Array.from({ length: ROWS }, (_, i) => connection(i));
function build() {
  const builder = new SnapshotBuilder(ROWS);
  for (const c of connections) builder.addConnection(c);
  return builder.finish({ takenAt: new Date(), tookMs: 0 });
}

const keyOf = (address: string) => bytesKey(parseAddress(address)!.bytes);
const toInterface = (index: number): RouteDecision => ({ kind: 'interface', index, table: 254, route: {} as Extract<RouteDecision, { kind: 'interface' }>['route'] });
const unknownRule = { kind: 'unknown', rule: {} } as RouteDecision;

/** A router whose rules read the mark (0x100/0x3f00 to wan2) and the source (10.0.7.x: a rule on iif), then route on the destination. */
function markAndSourceRoutes(flow: FlowKey): RouteDecision {
  if ((flow.mark & 0x3f00) === 0x100) return toInterface(WAN2);
  if (flow.family === 'ipv4') {
    if (flow.src[0] === 10 && flow.src[2] === 7) return unknownRule;
    if (flow.dst[0] === 93) return toInterface(flow.dst[2] === 3 ? WAN2 : WAN1);
    if (flow.dst[0] === 172) return { kind: 'local', table: 255 };
    return { kind: 'none', reason: 'no route' };
  }
  return flow.dst[15] % 2 ? toInterface(WAN1) : { kind: 'none', reason: 'no route' };
}

/** A router whose routes depend on the destination alone. */
function destinationRoutes(flow: FlowKey): RouteDecision {
  if (flow.family === 'ipv4') return flow.dst[0] === 93 ? toInterface(flow.dst[3] % 3 ? WAN1 : WAN2) : { kind: 'none', reason: 'no route' };
  return flow.dst[15] % 3 ? toInterface(WAN2) : toInterface(WAN1);
}

/** Each router of a test is another router: its own versions (far apart: a test bumps one), as the columns are cached per snapshot and version. */
let versions = 0;

function lookups(routes: (flow: FlowKey) => RouteDecision, selectors: { source: boolean; markMask: number }) {
  const held = new Map<number | string, number>([
    [keyOf('203.0.113.1'), WAN1],
    [keyOf('198.51.100.7'), WAN2],
    [keyOf('2001:db8:e::1'), WAN1],
  ]);
  const owners = new Map<number | string, AddressOwner>([[keyOf('192.0.2.99'), { wan: 'wan2', current: false, until: new Date() }]]);
  const service = {
    router: { version: (versions += 1000), flowSelectors: selectors, routeFor: routes, holderOfKey: (key: number | string) => held.get(key) },
    wans: {
      version: 1,
      wans: () => [{ name: 'wan1' }, { name: 'wan2' }] as WanState[],
      ownerOfKey: (key: number | string) => owners.get(key),
      wanOfInterface: (index: number) => (index === WAN1 ? 'wan1' : index === WAN2 ? 'wan2' : undefined),
    },
  } satisfies UplinkLookups;
  return { service, held };
}

/** Every row's WAN and staleness against connectionUplink() of its Connection; the stale counts with them. */
function expectRowsEqualPerConnection(snapshot: ReturnType<typeof build>, service: UplinkLookups) {
  const columns = uplinkColumns(snapshot, service);
  const wrong: string[] = [];
  let stale = 0;
  const staleByWan = [0, 0];
  for (let row = 0; row < snapshot.size; row++) {
    const expected = connectionUplink(snapshot.connection(row), service);
    const got = { wan: wanName(columns, row), stale: columns.stale[row] === 1 };
    if (got.wan !== expected.wan || got.stale !== expected.stale) wrong.push(`row ${row}: ${JSON.stringify(got)} != ${JSON.stringify(expected)}`);
    if (expected.stale) {
      stale++;
      if (expected.wan === 'wan1') staleByWan[0]++;
      if (expected.wan === 'wan2') staleByWan[1]++;
    }
  }
  expect(wrong.slice(0, 5)).toEqual([]);
  expect(columns.staleCount).toBe(stale);
  expect(columns.staleByWan).toEqual(staleByWan);
  return columns;
}

describe('WAN and stale columns, decided per distinct key', () => {
  const snapshot = build();

  it('rules on the mark and the source: every row equals the per-connection computation', () => {
    const { service } = lookups(markAndSourceRoutes, { source: true, markMask: 0x3f00 });
    const columns = expectRowsEqualPerConnection(snapshot, service);
    // The table has every kind of value: both WANs, none (routed nowhere, local), unknown, stale rows.
    expect(new Set(Array.from({ length: snapshot.size }, (_, row) => wanName(columns, row)))).toEqual(new Set(['wan1', 'wan2', 'none', 'unknown']));
    expect(columns.staleCount).toBeGreaterThan(0);
  }, 60_000);

  it('routes on the destination alone: every row equals the per-connection computation', () => {
    const { service } = lookups(destinationRoutes, { source: false, markMask: 0 });
    expectRowsEqualPerConnection(snapshot, service);
  }, 60_000);

  it('follows the router: an address gone from its interface makes its rows stale on the next computation', () => {
    const { service, held } = lookups(markAndSourceRoutes, { source: true, markMask: 0x3f00 });
    const before = uplinkColumns(snapshot, service);
    expect(uplinkColumns(snapshot, service)).toBe(before);
    held.delete(keyOf('203.0.113.1'));
    service.router.version++;
    const after = expectRowsEqualPerConnection(snapshot, service);
    expect(after.staleCount).toBeGreaterThan(before.staleCount);
  }, 60_000);

  it('the stepped computation gives the same columns and lets the event loop run meanwhile', async () => {
    const whole = uplinkColumns(snapshot, lookups(markAndSourceRoutes, { source: true, markMask: 0x3f00 }).service);
    let stepped: Awaited<ReturnType<typeof uplinkColumnsInTurns>> | undefined;
    const { service } = lookups(markAndSourceRoutes, { source: true, markMask: 0x3f00 });
    // Steps end by time: with no time at all, every block of rows is a step. Blocks of under 1,024 rows: the
    // first ones, in code not yet optimised and meeting every distinct key (a router lookup each), stay short.
    const ms = stepLimit.ms;
    stepLimit.ms = 0;
    try {
      expect(await turnsDuring(async () => (stepped = await uplinkColumnsInTurns(snapshot, service)))).toBeGreaterThanOrEqual(ROWS / 1024);
    } finally {
      stepLimit.ms = ms;
    }
    const bytes = (a: Int16Array | Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    expect(bytes(stepped!.wan).equals(bytes(whole.wan))).toBe(true);
    expect(bytes(stepped!.stale).equals(bytes(whole.stale))).toBe(true);
    expect(stepped!.staleCount).toBe(whole.staleCount);
  }, 60_000);

  /** Rows of a page: unsorted, with repeats, from every part of the table (the first and last rows too). */
  const pageRows = [ROWS - 1, 0, ...Array.from({ length: 300 }, (_, i) => (i * 7919 + 13) % ROWS), 5, 5, 10, 11, 55, 66];

  for (const [name, routes, selectors] of [
    ['rules on the mark and the source', markAndSourceRoutes, { source: true, markMask: 0x3f00 }],
    ['routes on the destination alone', destinationRoutes, { source: false, markMask: 0 }],
  ] as const) {
    it(`${name}: a page's rows decided alone are what the columns say of them, before and after the columns exist`, () => {
      const { service } = lookups(routes, selectors);
      const alone = uplinkOfRows(snapshot, service, pageRows);
      // A second page on the same decisions (its memos now hold the first page's keys).
      const again = uplinkOfRows(snapshot, service, pageRows.slice().reverse());
      const columns = expectRowsEqualPerConnection(snapshot, service);
      const ofColumns = pageRows.map((row) => ({ wan: wanName(columns, row), stale: columns.stale[row] === 1 }));
      expect(alone).toEqual(ofColumns);
      expect(again).toEqual(ofColumns.slice().reverse());
      expect(uplinkOfRows(snapshot, service, pageRows)).toEqual(ofColumns);
      expect(new Set(alone.map((v) => v.wan)).size).toBeGreaterThan(1);
      expect(alone.some((v) => v.stale)).toBe(true);
    }, 60_000);
  }

  it("a page's rows follow the router: decided again once its version changed", () => {
    const { service, held } = lookups(markAndSourceRoutes, { source: true, markMask: 0x3f00 });
    const before = uplinkOfRows(snapshot, service, pageRows);
    held.delete(keyOf('203.0.113.1'));
    service.router.version++;
    const after = uplinkOfRows(snapshot, service, pageRows);
    expect(after).toEqual(pageRows.map((row) => connectionUplink(snapshot.connection(row), service)));
    expect(after.filter((v) => v.stale).length).toBeGreaterThan(before.filter((v) => v.stale).length);
  }, 60_000);
});
