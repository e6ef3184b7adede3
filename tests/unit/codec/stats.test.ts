import { describe, expect, it } from 'vitest';
import { decodeCpuStats, decodeGlobalStats, encodeCpuStats, encodeGlobalStats } from '@/lib/conntrack/codec/stats';
import { CodecError } from '@/lib/conntrack/errors';
import { AttrWriter } from '@/lib/conntrack/netlink/attributes';
import { attrsOf, ATTRS_START, loadFixtures, nla } from './fixtures';

const all = loadFixtures();
const global = all.filter((f) => f.kind === 'stats');
const perCpu = all.filter((f) => f.kind === 'stats-cpu');

const be32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

describe('CT_GET_STATS', () => {
  it.each(global.map((f) => [f.name, f] as const))('%s decodes to what conntrack -C and the sysctl said, and round-trips', (_n, f) => {
    if (f.kind !== 'stats') throw new Error('fixture kind');
    const stats = decodeGlobalStats(f.message, ATTRS_START, f.end);
    expect(stats.entries).toBe(f.conntrack.entries);
    expect(stats.maxEntries).toBe(f.conntrack.maxEntries);
    const w = new AttrWriter();
    encodeGlobalStats(stats, w);
    expect(Buffer.from(w.finish()).toString('hex')).toBe(attrsOf(f).toString('hex'));
  });

  it('refuses a reply without the maximum', () => {
    const bytes = nla(1, be32(5));
    expect(() => decodeGlobalStats(bytes, 0, bytes.length)).toThrow('missing CTA_STATS_GLOBAL_MAX_ENTRIES');
  });
});

describe('CT_GET_STATS_CPU', () => {
  it('captured one message per CPU', () => {
    expect(perCpu.length).toBeGreaterThan(0);
  });

  it.each(perCpu.map((f) => [f.name, f] as const))('%s decodes to what conntrack -S said, and round-trips', (_n, f) => {
    if (f.kind !== 'stats-cpu') throw new Error('fixture kind');
    const stats = decodeCpuStats(f.message, ATTRS_START, f.end, f.resId);
    const o = f.conntrack;
    expect(stats).toEqual({
      cpu: o.cpu,
      found: o.found,
      invalid: o.invalid,
      insert: o.insert,
      insertFailed: o.insert_failed,
      drop: o.drop,
      earlyDrop: o.early_drop,
      error: o.error,
      searchRestart: o.search_restart,
      clashResolve: o.clash_resolve,
      chainTooLong: o.chaintoolong,
    });
    const w = new AttrWriter();
    encodeCpuStats(stats, w);
    expect(Buffer.from(w.finish()).toString('hex')).toBe(attrsOf(f).toString('hex'));
  });

  it('keeps counters the kernel no longer fills (CTA_STATS_SEARCHED) in place', () => {
    const bytes = Buffer.concat([nla(1, be32(7)), nla(2, be32(3))]);
    const stats = decodeCpuStats(bytes, 0, bytes.length, 1);
    expect(stats.found).toBe(3);
    expect(stats.unknown).toEqual([{ type: 1, nested: false, data: Uint8Array.from(be32(7)), position: 0 }]);
    const w = new AttrWriter();
    encodeCpuStats(stats, w);
    expect(Buffer.from(w.finish()).subarray(0, 16).toString('hex')).toBe(bytes.toString('hex'));
  });

  it('names a counter with a bad length', () => {
    const bytes = nla(8, Buffer.from([0, 1]));
    expect(() => decodeCpuStats(bytes, 0, bytes.length)).toThrow(new CodecError(['CTA_STATS_INSERT'], 'bad length 2, expected 4'));
  });
});
