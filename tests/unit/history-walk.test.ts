// The history store's fast paths (a page merged from runs of a condition's indexes in end order, the capped count)
// give exactly the rows of the plain query: the same WHERE read by a scan of the table and sorted, page by page, in
// both orders, over a table where the broad conditions match more than COUNT_CAP rows and the newest rows match none;
// once in one partition and once in partitions of 3,000 rows (14 of them: a page's runs span several, and the
// oldest are read only when their end times still rank within the page).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFilter } from '@/lib/conntrack';
import { parsePrefix, type Prefix } from '@/lib/netlink/address';
import { COUNT_CAP, historyWhere, HistoryStore, type HistoryQuery, type HistoryRecord } from '@/lib/history';
import { openStore, type Store } from '@/lib/store';

const ROWS = 40_000;
/** The newest rows: other traffic (UDP to 198.18.0.1:53 from 172.16/16, no NAT, flushed), which the broad filters below do not match. */
const CHURN = 3_000;

function row(i: number): HistoryRecord {
  // Ends three at a time, so ties are broken by the row key.
  const endedAt = 1_000_000 + Math.floor(i / 3) * 10;
  const base = { id: i, zone: 0, mark: 0, startedAt: endedAt - (i % 97) * 100, endedAt, counters: { original: { packets: 1, bytes: 100 }, reply: { packets: 1, bytes: 200 } } };
  if (i >= ROWS - CHURN) {
    const src = `172.16.${(i >> 8) & 255}.${i & 255}`;
    return { ...base, family: 'ipv4', status: 0x8, cause: 'flush', original: { src, dst: '198.18.0.1', protocol: 17, sport: 1024 + (i % 200), dport: 53 }, reply: { src: '198.18.0.1', dst: src, protocol: 17, sport: 53, dport: 1024 + (i % 200) } };
  }
  const lan = `10.0.${(i >> 3) % 2}.${i % 256}`;
  const remote = i % 2 === 0 ? '8.8.8.8' : `198.51.${(i * 7) % 256}.${(i * 13) % 256}`;
  // Mostly TCP, some UDP, some ICMP, and GRE whose keys sit in the port columns (a port filter must not match them).
  const protocol = i % 50 === 0 ? 47 : i % 10 < 6 ? 6 : i % 10 < 9 ? 17 : 1;
  const ports = protocol !== 1;
  const dport = ports ? (i % 3 === 0 ? 443 : 1 + (i % 4000)) : undefined;
  const sport = ports ? 1024 + (i % 30_000) : undefined;
  const cause = (['client', 'server', 'reset', 'timeout', 'admin', 'deleted'] as const)[i % 6];
  const icmp = ports ? {} : { icmp: { type: 8, code: 0, id: i & 0xffff } };
  const icmpReply = ports ? {} : { icmp: { type: 0, code: 0, id: i & 0xffff } };
  if (i % 7 === 0) {
    // A port forward: the remote to the first external address's 443, served by 10.0.0.10:8443.
    return { ...base, family: 'ipv4', status: 0x2e, cause, original: { src: remote, dst: '203.0.113.1', protocol: 6, sport: 2000 + i, dport: 443 }, reply: { src: '10.0.0.10', dst: remote, protocol: 6, sport: 8443, dport: 2000 + i } };
  }
  const external = `203.0.113.${1 + (i % 2)}`;
  return {
    ...base,
    family: 'ipv4',
    status: 0x1e,
    cause,
    ...(protocol === 6 ? { state: cause === 'reset' ? 'CLOSE' : 'TIME_WAIT' } : {}),
    original: { src: lan, dst: remote, protocol, ...(ports ? { sport, dport } : icmp) },
    reply: { src: remote, dst: external, protocol, ...(ports ? { sport: dport, dport: 20_000 + (i % 1000) } : icmpReply) },
  };
}

/** A store of the ROWS rows in partitions of `partitionRows` (a cap of 16 partitions). */
function filled(partitionRows: number): { dir: string; db: Store; store: HistoryStore } {
  const dir = mkdtempSync(join(tmpdir(), 'ctc-history-walk-'));
  const db = openStore(dir);
  const store = new HistoryStore(db, { maxRows: partitionRows * 16 });
  for (let i = 0; i < ROWS; i += 5000) store.insert(Array.from({ length: Math.min(5000, ROWS - i) }, (_v, j) => row(i + j)));
  return { dir, db, store };
}

const LAYOUTS = [
  ['one partition', 1_000_000],
  ['partitions of 3,000 rows', 3_000],
] as const;
const stores = new Map<string, ReturnType<typeof filled>>();

beforeAll(() => {
  for (const [name, rows] of LAYOUTS) stores.set(name, filled(rows));
}, 240_000);

afterAll(() => {
  for (const { db, dir } of stores.values()) {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

type Query = Omit<HistoryQuery, 'limit' | 'offset' | 'order' | 'sort'>;

/** Every row of every partition, as one table (a UNION ALL of the partitions' tables, read by name from the schema). */
function everyRow(db: Store): string {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND (name = 'history' OR name GLOB 'history_[0-9]*')").all() as { name: string }[];
  return `(${tables.map((t) => `SELECT * FROM ${t.name} NOT INDEXED`).join(' UNION ALL ')})`;
}

/** The plain query: the same WHERE over every row, no index, the whole match sorted by `orderBy` then row key. */
function plain(db: Store, query: Query, order: 'asc' | 'desc', orderBy = ['ended_at']): number[] {
  const where = historyWhere(query);
  const direction = order.toUpperCase();
  const sql = `SELECT key FROM ${everyRow(db)} ${where.sql} ORDER BY ${[...orderBy, 'key'].map((e) => `${e} ${direction}`).join(', ')}`;
  return (db.prepare(sql).all(...where.params) as { key: number }[]).map((r) => r.key);
}

const prefix = (text: string) => parsePrefix(text) as Prefix;

const QUERIES: [string, Query][] = [
  ['host on any side (a popular remote)', { filter: parseFilter({ ip: '8.8.8.8' }) }],
  ['host on any side (the external address)', { filter: parseFilter({ ip: '203.0.113.2' }) }],
  ['a /24 on any side (the LAN)', { filter: parseFilter({ ip: '10.0.1.0/24' }) }],
  ['a /16 source', { filter: parseFilter({ src: '10.0.0.0/16' }) }],
  ['protocol', { filter: parseFilter({ protocol: 'tcp' }) }],
  ['destination port (GRE keys excluded)', { filter: parseFilter({ dport: '443' }) }],
  ['port on any side', { filter: parseFilter({ port: '443' }) }],
  ['a wide port range (too many values to merge)', { filter: parseFilter({ dport: '1000-65535' }) }],
  ['a port range of a few values', { filter: parseFilter({ dport: '440-445' }) }],
  ['one cause', { filter: {}, causes: ['client'] }],
  ['two causes', { filter: {}, causes: ['admin', 'reset'] }],
  ['time range', { filter: {}, from: 1_000_000 + 1000 * 10, to: 1_000_000 + 6000 * 10 }],
  ['external address', { filter: {}, external: prefix('203.0.113.1') }],
  ['external prefix', { filter: {}, external: prefix('203.0.113.0/24') }],
  ['external address + port', { filter: {}, external: prefix('203.0.113.2'), externalPort: { min: 20_011, max: 20_011 } }],
  ['external address + port range', { filter: {}, external: prefix('203.0.113.2'), externalPort: { min: 20_000, max: 20_400 } }],
  ['external address + port + instant', { filter: {}, external: prefix('203.0.113.2'), externalPort: { min: 20_011, max: 20_011 }, activeFrom: 1_050_000, activeTo: 1_060_000 }],
  ['a /24 and a protocol', { filter: parseFilter({ ip: '10.0.1.0/24', protocol: 'udp' }) }],
  ['a /16 source and a cause', { filter: parseFilter({ src: '10.0.0.0/16' }), causes: ['timeout'] }],
  ['an id (narrow, no runs) and a protocol (broad)', { filter: parseFilter({ id: 1234, protocol: 'tcp' }) }],
  ['protocol and a state', { filter: parseFilter({ protocol: 'tcp', state: 'CLOSE' }) }],
];

describe.each(LAYOUTS)('HistoryStore pages against the plain query (%s)', (layout) => {
  const the = () => stores.get(layout) as ReturnType<typeof filled>;

  it('has the partitions it says', () => {
    const { store, db } = the();
    const catalog = store.catalog();
    expect(catalog.reduce((n, p) => n + p.rows, 0)).toBe(ROWS);
    expect(catalog).toHaveLength(layout === 'one partition' ? 1 : Math.ceil(ROWS / 3000));
    // Keys run on across partitions: the newest partition's first key follows every key of the older ones.
    const keys = plain(db, { filter: {} }, 'asc', ['key']);
    expect(new Set(keys).size).toBe(ROWS);
    for (const p of catalog.slice(1)) expect(catalog.find((q) => q.n === p.n + 1)?.first_key).toBe(p.first_key + p.rows);
  });

  for (const [what, query] of QUERIES) {
    it(what, () => {
      const { store, db } = the();
      for (const order of ['desc', 'asc'] as const) {
        const all = plain(db, query, order);
        // Page boundaries at the start, inside, deeper than a merge goes (read with OFFSET), and past the end of the match.
        for (const [limit, offset] of [[100, 0], [100, 100], [37, 1234], [100, Math.max(0, all.length - 50)], [50, 20_000], [10, all.length + 5]]) {
          const page = store.query({ ...query, sort: 'ended', order, limit, offset });
          expect(page.rows.map((r) => r.key), `${order} ${limit}@${offset}`).toEqual(all.slice(offset, offset + limit));
          if (page.exact) expect(page.matched).toBe(all.length);
          else expect(all.length).toBeGreaterThan(COUNT_CAP);
        }
      }
    });
  }

  it('other sort keys, both orders, narrow and broad, across partitions', () => {
    const { store, db } = the();
    const sorts = [
      ['id', ['id']],
      ['bytes', ['(COALESCE(bytes_orig, 0) + COALESCE(bytes_reply, 0))']],
      ['duration', ['(ended_at - started_at)']],
      ['src', ['family', 'src_b']],
      ['started', ['started_at']],
    ] as const;
    const queries: Query[] = [{ filter: {} }, { filter: parseFilter({ ip: '10.0.1.7' }) }, { filter: parseFilter({ protocol: 'udp' }) }];
    for (const [sort, orderBy] of sorts) {
      for (const query of queries) {
        for (const order of ['desc', 'asc'] as const) {
          const all = plain(db, query, order, [...orderBy]);
          for (const [limit, offset] of [[100, 0], [50, 333]]) {
            const page = store.query({ ...query, sort, order, limit, offset });
            expect(page.rows.map((r) => r.key), `${sort} ${order} ${JSON.stringify(query)} ${limit}@${offset}`).toEqual(all.slice(offset, offset + limit));
          }
        }
      }
    }
  });

  it('the broad filters are broad, and the newest rows match none of them (so the walk newest first meets no match for a while)', () => {
    const { db } = the();
    const newest = new Set(plain(db, { filter: {} }, 'desc').slice(0, CHURN));
    const broad: string[] = [];
    for (const [what, query] of QUERIES) {
      const all = plain(db, query, 'desc');
      if (all.length > COUNT_CAP) broad.push(what);
      expect(all.some((key) => newest.has(key)), JSON.stringify(query)).toBe(false);
    }
    expect(broad.length, broad.join(', ')).toBeGreaterThanOrEqual(10);
  });
});
