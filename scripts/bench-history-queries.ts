// The history store at scale, for bench:history: seeds a history of `rows` ended connections that looks like a NAT
// router's week (LAN hosts masqueraded to two external addresses, a port forward, some IPv6, causes as they come)
// and times a page of 100 newest-first plus its count for each kind of query, with values drawn from the seeded rows.
import { parseFilter, type TcpState } from '../lib/conntrack';
import { parsePrefix, type Prefix } from '../lib/netlink/address';
import { HistoryStore, type Cause, type HistoryQuery, type HistoryRecord } from '../lib/history';
// The seeder's mulberry32, so two runs seed the same history.
import { prng } from '../lib/lab/seeder';

const DAY_MS = 86_400_000;
export const EXTERNALS = ['203.0.113.1', '203.0.113.2'];
const LAN_HOSTS = 1000;


const lanHost = (n: number): string => `10.0.${n >> 8}.${n & 255}`;

function remote(random: () => number): string {
  // A fifth of all traffic goes to a few popular servers; the rest is spread over many.
  if (random() < 0.2) return ['1.1.1.1', '8.8.8.8', '142.250.74.46', '151.101.1.69', '104.16.132.229'][Math.floor(random() * 5)];
  return `${1 + Math.floor(random() * 222)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${1 + Math.floor(random() * 254)}`;
}

/** Row i of the seeded history: ended at `end`, one week of rows ending now. */
function record(random: () => number, i: number, end: number): HistoryRecord {
  const kind = random();
  const host = Math.floor(random() * LAN_HOSTS);
  const ipv6 = kind > 0.9;
  const proto = random();
  const protocol = proto < 0.7 ? 6 : proto < 0.95 ? 17 : ipv6 ? 58 : 1;
  const duration = Math.floor(-Math.log(1 - random()) * 60_000);
  const sport = 1024 + Math.floor(random() * 64_000);
  const dport = protocol === 6 ? (random() < 0.7 ? 443 : random() < 0.5 ? 80 : 1 + Math.floor(random() * 65_535)) : random() < 0.6 ? 53 : 443;
  const ports = protocol === 6 || protocol === 17;
  const icmp = ports ? undefined : { type: 8, code: 0, id: i & 0xffff };
  const icmpReply = ports ? undefined : { type: 0, code: 0, id: i & 0xffff };
  const base = { id: (i * 2654435761) >>> 0, zone: 0, mark: 0, endedAt: end, startedAt: end - duration };
  const counters = { original: { packets: 1 + Math.floor(random() * 50), bytes: 60 + Math.floor(random() * 50_000) }, reply: { packets: 1 + Math.floor(random() * 80), bytes: 60 + Math.floor(random() * 500_000) } };
  const tcpCause = (): Cause => (['client', 'client', 'server', 'server', 'reset', 'timeout', 'admin', 'deleted', 'flush', 'unobserved'] as const)[Math.floor(random() * 10)];
  const cause: Cause = protocol === 6 ? tcpCause() : random() < 0.97 ? 'timeout' : 'admin';
  const state: TcpState | undefined = protocol === 6 ? (cause === 'reset' ? 'CLOSE' : 'TIME_WAIT') : undefined;
  const common = { ...base, counters, cause, ...(state ? { state } : {}) } as const;
  if (ipv6) {
    const src = `fd00::${(host + 1).toString(16)}`;
    const dst = `2001:db8:${Math.floor(random() * 65_536).toString(16)}::${(1 + Math.floor(random() * 65_000)).toString(16)}`;
    return {
      ...common,
      family: 'ipv6',
      status: 0x0e,
      original: { src, dst, protocol, ...(ports ? { sport, dport } : { icmp }) },
      reply: { src: dst, dst: src, protocol, ...(ports ? { sport: dport, dport: sport } : { icmp: icmpReply }) },
    };
  }
  const src = lanHost(host);
  if (kind > 0.85) {
    // The port forward: a remote host to the first external address's 443, served by 10.0.0.10:8443.
    const client = remote(random);
    return {
      ...common,
      family: 'ipv4',
      status: 0x2e,
      original: { src: client, dst: EXTERNALS[0], protocol: 6, sport, dport: 443 },
      reply: { src: '10.0.0.10', dst: client, protocol: 6, sport: 8443, dport: sport },
    };
  }
  const dst = remote(random);
  const external = EXTERNALS[kind < 0.45 ? 0 : 1];
  const natPort = ports ? 1024 + Math.floor(random() * 64_000) : undefined;
  return {
    ...common,
    family: 'ipv4',
    status: 0x1e,
    original: { src, dst, protocol, ...(ports ? { sport, dport } : { icmp }) },
    reply: { src: dst, dst: external, protocol, ...(ports ? { sport: dport, dport: natPort } : { icmp: icmpReply }) },
  };
}

/** Inserts `rows` rows ending over the week before `now`, oldest first, in transactions of `batch`, into the store's partitions. */
export function seedHistory(store: HistoryStore, rows: number, now = Date.now(), batch = 20_000): { seconds: number } {
  const random = prng(7);
  const started = performance.now();
  // A partition's indexes are built once its rows are in (a sorted build), not row by row: same result, much sooner.
  const stripped = new Map<string, string[]>();
  const strip = (table: string) => {
    if (stripped.has(table)) return;
    const indexes = store.db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL").all(table) as { name: string; sql: string }[];
    for (const index of indexes) store.db.exec(`DROP INDEX ${index.name}`);
    stripped.set(table, indexes.map((index) => index.sql));
  };
  const step = (7 * DAY_MS) / rows;
  const first = now - 7 * DAY_MS;
  const size = store.partitioning.rows;
  for (let done = 0; done < rows; ) {
    const [newest] = store.catalog();
    // A full partition: the insert begins the next (its first batch with the indexes, the rest without).
    const room = newest.rows >= size ? batch : size - newest.rows;
    if (newest.rows < size) strip(newest.table);
    const n = Math.min(batch, rows - done, room);
    const records: HistoryRecord[] = [];
    for (let i = 0; i < n; i++) records.push(record(random, done + i, Math.floor(first + (done + i) * step)));
    store.insert(records);
    done += n;
    if (process.stdout.isTTY) process.stdout.write(`\rseeded ${done.toLocaleString('en-US')} rows`);
  }
  if (process.stdout.isTTY) process.stdout.write('\n');
  for (const sqls of stripped.values()) for (const sql of sqls) store.db.exec(sql);
  store.db.exec('ANALYZE');
  return { seconds: (performance.now() - started) / 1000 };
}

const prefix = (text: string): Prefix => parsePrefix(text) as Prefix;

/** Each kind of query, made concrete by a random seeded row (so values are ones that occur). */
const KINDS: Record<string, (row: HistoryRecord, now: number, random: () => number) => Omit<HistoryQuery, 'limit' | 'offset'>> = {
  'newest page': () => ({ filter: {} }),
  'source host': (r) => ({ filter: parseFilter({ src: r.original.src }) }),
  'host, any side': (r) => ({ filter: parseFilter({ ip: r.original.dst }) }),
  '/24, any side (LAN)': () => ({ filter: parseFilter({ ip: '10.0.1.0/24' }) }),
  '/24, any side (remote)': (r) => ({ filter: parseFilter({ ip: `${r.original.dst.split('.').slice(0, 3).join('.')}.0/24` }) }),
  'destination /16': (r) => ({ filter: parseFilter({ dst: `${r.original.dst.split('.').slice(0, 2).join('.')}.0.0/16` }) }),
  port: (r) => ({ filter: parseFilter({ port: String(r.original.sport ?? 53) }) }),
  'destination port 443': () => ({ filter: parseFilter({ dport: '443' }) }),
  'external address': () => ({ filter: {}, external: prefix(EXTERNALS[1]) }),
  protocol: (_r, _n, random) => ({ filter: parseFilter({ protocol: random() < 0.5 ? 'udp' : 'icmp' }) }),
  cause: (_r, _n, random) => ({ filter: {}, causes: [random() < 0.5 ? 'admin' : 'reset'] }),
  'time range (1 h)': (r) => ({ filter: {}, from: r.endedAt - 3_600_000, to: r.endedAt }),
  // Other orders and sort keys (no target; the page must stay usable).
  'protocol, oldest first': () => ({ filter: parseFilter({ protocol: 'udp' }), order: 'asc' }),
  'source host by bytes': (r) => ({ filter: parseFilter({ src: r.original.src }), sort: 'bytes' }),
  'cause by duration': () => ({ filter: {}, causes: ['reset'], sort: 'duration' }),
  'external address + port + instant': (r) => ({
    filter: {},
    external: prefix(r.reply.dst),
    externalPort: { min: r.reply.dport ?? 0, max: r.reply.dport ?? 0 },
    activeFrom: r.endedAt - 300_000,
    activeTo: r.endedAt + 300_000,
  }),
};

/**
 * Adds `rows` rows newer than the seed that look like bench:history's churn (UDP from 10.x to 198.18.0.1:53, no NAT,
 * flushed by the console, 10,000 a second), times the queries again, and deletes them: the after-churn figures, where
 * the newest rows match none of the broad filters, so a walk newest first by end time meets no match for a while.
 */
export function timeQueriesAfterChurn(store: HistoryStore, rows: number, samples: number, seededAt: number, churnRows: number): QueryTiming[] {
  const before = store.catalog()[0].first_key + store.catalog()[0].rows - 1;
  const started = performance.now();
  for (let done = 0; done < churnRows; ) {
    const records: HistoryRecord[] = [];
    for (let i = done; i < Math.min(churnRows, done + 20_000); i++) {
      const tick = Math.floor(i / 500);
      const src = `10.${(tick >> 8) & 255}.${tick & 255}.${1 + ((i % 500) >> 8)}`;
      const sport = 1024 + (i & 255);
      const endedAt = seededAt + 1 + Math.floor(i / 10);
      records.push({
        id: 0x7000_0000 + i,
        family: 'ipv4',
        original: { src, dst: '198.18.0.1', protocol: 17, sport, dport: 53 },
        reply: { src: '198.18.0.1', dst: src, protocol: 17, sport: 53, dport: sport },
        status: 0x8,
        zone: 0,
        mark: tick + 1,
        startedAt: endedAt - 1000,
        endedAt,
        counters: { original: { packets: 1, bytes: 60 }, reply: { packets: 0, bytes: 0 } },
        cause: 'flush',
      });
    }
    store.insert(records);
    done += records.length;
  }
  const perRowUs = ((performance.now() - started) * 1000) / churnRows;
  console.log(`added ${churnRows.toLocaleString('en-US')} churn rows (${perRowUs.toFixed(1)} µs a row with every index)`);
  try {
    return timeQueries(store, rows, samples, seededAt);
  } finally {
    store.deleteKeys(Array.from({ length: churnRows }, (_v, i) => before + 1 + i));
  }
}

export interface QueryTiming {
  kind: string;
  samples: number;
  p50Ms: number;
  p95Ms: number;
  /** The same, in CPU time of this process (what the query costs on a machine busy with other work). */
  cpuP50Ms: number;
  cpuP95Ms: number;
  /** Share of samples whose count read "more than 10,000". */
  inexactCounts: number;
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

/** Times `samples` queries of each kind (page + count), values from random NATed IPv4 rows of the same seed. */
export function timeQueries(store: HistoryStore, rows: number, samples: number, now: number): QueryTiming[] {
  const random = prng(11);
  const pick = prng(7);
  // Rows of the seed, regenerated (same PRNG) so the values exist in the table.
  const step = (7 * DAY_MS) / rows;
  const sampleRows: HistoryRecord[] = [];
  const every = Math.max(1, Math.floor(rows / (samples * 20)));
  for (let i = 0; i < rows && sampleRows.length < samples * 20; i++) {
    const r = record(pick, i, Math.floor(now - 7 * DAY_MS + i * step));
    if (i % every === 0 && r.family === 'ipv4' && r.status === 0x1e && r.reply.dport !== undefined) sampleRows.push(r);
  }
  const out: QueryTiming[] = [];
  for (const [kind, make] of Object.entries(KINDS)) {
    const times: number[] = [];
    const cpu: number[] = [];
    let inexact = 0;
    for (let s = 0; s < samples; s++) {
      const row = sampleRows[Math.floor(random() * sampleRows.length)];
      const query = make(row, now, random);
      const started = performance.now();
      const cpuStarted = process.cpuUsage();
      const page = store.query({ ...query, limit: 100, offset: 0 });
      const used = process.cpuUsage(cpuStarted);
      times.push(performance.now() - started);
      cpu.push((used.user + used.system) / 1000);
      if (!page.exact) inexact++;
    }
    times.sort((a, b) => a - b);
    cpu.sort((a, b) => a - b);
    const ms = (sorted: number[], p: number) => Math.round(percentile(sorted, p) * 10) / 10;
    out.push({ kind, samples, p50Ms: ms(times, 50), p95Ms: ms(times, 95), cpuP50Ms: ms(cpu, 50), cpuP95Ms: ms(cpu, 95), inexactCounts: inexact / samples });
  }
  return out;
}
