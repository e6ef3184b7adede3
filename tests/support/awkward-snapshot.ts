// A deterministic table of every kind of row a snapshot can hold: the captured kernel entries (TCP flags, helpers,
// real NAT), then generated rows with IPv4 and IPv6, every protocol shape, edge counters, ids, marks, zones, start
// times, helpers and labels. For tests comparing a columnar path with the Connection the codecs decode.
import { IPS, type Connection, type Snapshot } from '@/lib/conntrack';
import { SnapshotBuilder } from '@/lib/conntrack/snapshot';
import { connectionFixtures } from '../unit/codec/fixtures';

const V4 = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '198.51.100.7', '203.0.113.1', '192.0.2.9', '0.0.0.0', '255.255.255.255'];
const V6 = ['2001:db8::1', '2001:db8::2', '::1', '::ffff:192.0.2.1', 'fe80::1:2:3:4', '2001:db8:0:1:1:1:1:1', '::'];
const STATES = ['ESTABLISHED', 'SYN_SENT', 'TIME_WAIT', 'CLOSE', 'FIN_WAIT'] as const;
const U64_MAX = (1n << 64n) - 1n;
const COUNTS = [0n, 1n, 4294967295n, 4294967296n, 2n ** 53n - 1n, 2n ** 53n + 1n, U64_MAX];
const STARTS = [0n, 1_700_000_000_123_456_789n, 1_709_251_199_999_999_999n /* 2024-02-29T23:59:59.999 */, 951_868_800_000_000_000n /* 2000-03-01 */, 4_102_444_800_000_000_001n];

/** A deterministic table of every kind of row the snapshot can hold. */
export function awkwardSnapshot(rows: number): Snapshot {
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

