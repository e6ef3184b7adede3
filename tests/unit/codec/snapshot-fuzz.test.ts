// The snapshot builder is a second decoder of the dump bytes. Held to the codecs: for every capture and every
// mutation of one, it gives the same connection as decodeConnection (on every field a snapshot keeps) or throws
// CodecError - and a throw leaves the rows added before exactly as they were.
import { describe, expect, it } from 'vitest';
import { decodeConnection } from '@/lib/conntrack/codec/connection';
import { CodecError } from '@/lib/conntrack/errors';
import { SnapshotBuilder } from '@/lib/conntrack/snapshot';
import type { Connection, Family, Tuple } from '@/lib/conntrack/types';
import { attrsOf, connectionFixtures } from './fixtures';
import { mutate, prng } from './mutate';

/** What a snapshot keeps of a tuple: addresses, protocol, ports or ICMP fields, the tuple zone (not unknowns). */
function keptTuple(t: Tuple): Tuple {
  const out: Tuple = { src: t.src, dst: t.dst, protocol: t.protocol };
  if (t.zone !== undefined) out.zone = t.zone;
  if (t.sport !== undefined) out.sport = t.sport;
  if (t.dport !== undefined) out.dport = t.dport;
  if (t.icmp) out.icmp = { type: t.icmp.type, code: t.icmp.code, id: t.icmp.id };
  return out;
}

/**
 * decodeConnection's answer reduced to what a snapshot keeps: the TCP state and flags (not window scales), the
 * counters, the start time (not the stop), the helper name, the labels; not the master tuple, secmark, secctx,
 * sequence adjustments, synproxy or unknown attributes.
 */
function kept(c: Connection): Connection {
  const out: Connection = { family: c.family, original: keptTuple(c.original), reply: keptTuple(c.reply), status: c.status, zone: c.zone };
  if (c.id !== undefined) out.id = c.id;
  if (c.timeout !== undefined) out.timeout = c.timeout;
  if (c.mark !== undefined) out.mark = c.mark;
  if (c.use !== undefined) out.use = c.use;
  const tcp = c.protoinfo?.tcp;
  if (tcp) {
    out.protoinfo = { tcp: { state: tcp.state } };
    if (tcp.flagsOriginal) out.protoinfo.tcp!.flagsOriginal = tcp.flagsOriginal;
    if (tcp.flagsReply) out.protoinfo.tcp!.flagsReply = tcp.flagsReply;
  }
  if (c.counters) {
    out.counters = {
      original: { packets: c.counters.original.packets, bytes: c.counters.original.bytes },
      reply: { packets: c.counters.reply.packets, bytes: c.counters.reply.bytes },
    };
  }
  if (c.timestamp) out.timestamp = { start: c.timestamp.start };
  if (c.helper !== undefined) out.helper = c.helper;
  if (c.labels) out.labels = c.labels;
  return out;
}

const familyOf = (af: number): Family => (af === 10 ? 'ipv6' : 'ipv4');

describe('the snapshot builder against decodeConnection', () => {
  const fixtures = connectionFixtures();

  it('gives the same connection for every capture', () => {
    const builder = new SnapshotBuilder();
    for (const f of fixtures) {
      const bytes = attrsOf(f);
      builder.add(bytes, 0, bytes.length, f.family);
    }
    const snapshot = builder.finish({ takenAt: new Date(), tookMs: 0 });
    expect(snapshot.size).toBe(fixtures.length);
    fixtures.forEach((f, row) => {
      const bytes = attrsOf(f);
      expect(snapshot.connection(row), f.name).toEqual(kept(decodeConnection(bytes, 0, bytes.length, familyOf(f.family))));
    });
  });

  it('on mutated captures: the same connection or CodecError, and a throw leaves the table as it was', () => {
    const random = prng(0xb11d);
    // A row already in the table before every mutated one: a failed add must not disturb it.
    const anchor = fixtures.find((f) => f.family === 10) ?? fixtures[0];
    const anchorBytes = attrsOf(anchor);
    const anchorConnection = kept(decodeConnection(anchorBytes, 0, anchorBytes.length, familyOf(anchor.family)));
    let same = 0;
    let bothRejected = 0;
    let stricter = 0;
    for (let i = 0; i < 20000; i++) {
      const f = fixtures[Math.floor(random() * fixtures.length)];
      const bytes = mutate(attrsOf(f), random);
      // Now and then an unknown address family, which decodeConnection cannot be given at all.
      const family = random() < 0.02 ? Math.floor(random() * 256) : f.family;
      let expected: Connection | CodecError;
      try {
        if (family !== 2 && family !== 10) throw new CodecError(['nfgenmsg'], `unsupported address family ${family}`);
        expected = kept(decodeConnection(bytes, 0, bytes.length, familyOf(family)));
      } catch (error) {
        if (!(error instanceof CodecError)) throw error;
        expected = error;
      }
      const builder = new SnapshotBuilder(16);
      builder.add(anchorBytes, 0, anchorBytes.length, anchor.family);
      let row: Connection | CodecError;
      try {
        builder.add(bytes, 0, bytes.length, family);
        row = builder.finish({ takenAt: new Date(), tookMs: 0 }).connection(1);
      } catch (error) {
        if (!(error instanceof CodecError)) throw new Error(`iteration ${i} (${f.name}, ${bytes.toString('hex')}): ${String(error)}`);
        row = error;
      }
      const context = `iteration ${i} (${f.name}, family ${family}, ${bytes.toString('hex')})`;
      if (expected instanceof CodecError) {
        expect(row, `${context}: decodeConnection throws "${expected.message}"`).toBeInstanceOf(CodecError);
        bothRejected++;
      } else if (row instanceof CodecError) {
        // Stricter than the codec is allowed where one column serves what the codec keeps apart.
        expect(row.message, context).toMatch(/differs from the original direction|both ports and ICMP fields/);
        stricter++;
      } else {
        expect(row, context).toEqual(expected);
        same++;
      }
      if (row instanceof CodecError) {
        expect(builder.size, context).toBe(1);
        expect(builder.finish({ takenAt: new Date(), tookMs: 0 }).connection(0), context).toEqual(anchorConnection);
      }
    }
    // Both outcomes must be exercised, or the test proves nothing.
    expect(same).toBeGreaterThan(1000);
    expect(bothRejected).toBeGreaterThan(1000);
    expect(stricter).toBeLessThan(same / 10);
  }, 120_000);
});

describe('the snapshot builder in a reused buffer', () => {
  const COLUMNS = ['id', 'family', 'protocol', 'state', 'tcpFlags', 'shape', 'status', 'addr', 'ports', 'timeout', 'mark', 'zone', 'use', 'counters', 'started'] as const;
  const PER_ROW: Record<(typeof COLUMNS)[number], number> = { id: 1, family: 1, protocol: 1, state: 1, tcpFlags: 1, shape: 1, status: 1, addr: 4, ports: 4, timeout: 1, mark: 1, zone: 1, use: 1, counters: 8, started: 2 };

  it("writes every slot of every row it adds: an older table's bytes in the buffers change nothing", () => {
    const fixtures = connectionFixtures();
    const random = prng(0x5eed);
    // The captures, then mutated ones the builder accepts (entries without counters, timestamps, ports, ...).
    const entries = fixtures.map((f) => ({ bytes: attrsOf(f), family: f.family }));
    for (let i = 0; i < 4000; i++) {
      const f = fixtures[Math.floor(random() * fixtures.length)];
      entries.push({ bytes: mutate(attrsOf(f), random), family: f.family });
    }
    const fill = (builder: SnapshotBuilder) => {
      for (const e of entries) {
        try {
          builder.add(e.bytes, 0, e.bytes.length, e.family);
        } catch (error) {
          if (!(error instanceof CodecError)) throw error;
        }
      }
      return builder;
    };
    const garbage = (bytes: number) => {
      const buffer = new ArrayBuffer(bytes);
      new Uint8Array(buffer).fill(0xa5);
      return buffer;
    };
    const fresh = fill(new SnapshotBuilder(entries.length));
    const a = fresh.finish({ takenAt: new Date(), tookMs: 0 });
    const v6Used = fresh.v6Size * 16;
    // More IPv6 slots than the smallest start, so a retired snapshot's that small has to grow (from garbage).
    expect(v6Used).toBeGreaterThan(4096);
    // A column buffer of the right size and IPv6 slots with room to spare, or too few, all holding garbage, as a
    // retired snapshot's would.
    for (const v6Bytes of [v6Used + 4096, 1024]) {
      const given = { columns: garbage(0), v6: garbage(v6Bytes) };
      const reused = fill(
        new SnapshotBuilder(entries.length, {
          take: (min) => {
            given.columns = garbage(min);
            return given;
          },
        }),
      );
      expect(reused.reused).toBe(true);
      expect(reused.id.buffer).toBe(given.columns);
      // The IPv6 slots are written into the given buffer whenever they fit in it.
      expect(reused.v6.buffer === given.v6, `${v6Bytes} bytes of IPv6 slots`).toBe(v6Bytes >= v6Used);
      expect(reused.size).toBe(fresh.size);
      expect(fresh.size).toBeGreaterThan(fixtures.length);
      for (const name of COLUMNS) {
        const n = fresh.size * PER_ROW[name];
        expect(Array.from(reused[name].subarray(0, n)), name).toEqual(Array.from(fresh[name].subarray(0, n)));
      }
      expect(reused.v6Size).toBe(fresh.v6Size);
      expect(Buffer.from(reused.v6.subarray(0, v6Used)).equals(Buffer.from(fresh.v6.subarray(0, v6Used)))).toBe(true);
      const b = reused.finish({ takenAt: new Date(), tookMs: 0 });
      for (let row = 0; row < a.size; row++) expect(b.connection(row)).toEqual(a.connection(row));
    }
  });

  it('rows added where keep() took rows back are the rows a builder that never held those gets', () => {
    const fixtures = connectionFixtures();
    const random = prng(0x7a11);
    const entries = fixtures.map((f) => ({ bytes: attrsOf(f), family: f.family }));
    for (let i = 0; i < 3000; i++) {
      const f = fixtures[Math.floor(random() * fixtures.length)];
      entries.push({ bytes: mutate(attrsOf(f), random), family: f.family });
    }
    const accepted = entries.filter((e) => {
      try {
        new SnapshotBuilder(1).add(e.bytes, 0, e.bytes.length, e.family);
        return true;
      } catch (error) {
        if (!(error instanceof CodecError)) throw error;
        return false;
      }
    });
    // Two in three taken back after a first pass, then the rest added over their bytes, in a new buffer.
    const half = accepted.length >> 1;
    const builder = new SnapshotBuilder(accepted.length);
    const mark = builder.checkpoint();
    for (const e of accepted.slice(0, half)) builder.add(e.bytes, 0, e.bytes.length, e.family);
    const keep = Uint8Array.from({ length: half }, (_, i) => (i % 3 === 0 ? 1 : 0));
    builder.keep(mark, keep);
    for (const e of accepted.slice(half)) builder.add(e.bytes, 0, e.bytes.length, e.family);
    const direct = new SnapshotBuilder(accepted.length);
    for (const e of [...accepted.slice(0, half).filter((_, i) => keep[i]), ...accepted.slice(half)]) direct.add(e.bytes, 0, e.bytes.length, e.family);
    expect(builder.size).toBe(direct.size);
    const a = builder.finish({ takenAt: new Date(), tookMs: 0 });
    const b = direct.finish({ takenAt: new Date(), tookMs: 0 });
    for (const name of COLUMNS) {
      const n = a.size * PER_ROW[name];
      expect(Array.from(a.columns[name].slice(0, n)), name).toEqual(Array.from(b.columns[name].slice(0, n)));
    }
  });
});

describe('the snapshot builder growing', () => {
  it('doubles its columns up to the table size, then grows by half, and every row survives each growth', () => {
    const fixtures = connectionFixtures();
    const grown = new SnapshotBuilder(16, undefined, 100);
    const presized = new SnapshotBuilder(200);
    const capacities: number[] = [];
    for (let i = 0; i < 120; i++) {
      const f = fixtures[i % fixtures.length];
      const bytes = attrsOf(f);
      grown.add(bytes, 0, bytes.length, f.family);
      presized.add(bytes, 0, bytes.length, f.family);
      if (capacities.at(-1) !== grown.id.length) capacities.push(grown.id.length);
    }
    expect(capacities).toEqual([16, 32, 64, 100, 150]);
    const a = grown.finish({ takenAt: new Date(), tookMs: 0 });
    const b = presized.finish({ takenAt: new Date(), tookMs: 0 });
    for (let row = 0; row < 120; row++) expect(a.connection(row)).toEqual(b.connection(row));
  });
});
