// The console's snapshot registry hands a retired snapshot's column buffer to the next refresh, but never while a
// reader holds that snapshot: a request's snapshots are leased until its answer is complete.
import { describe, expect, it } from 'vitest';
import { SnapshotBuilder, type ColumnBuffers, type Snapshot } from '@/lib/conntrack/snapshot';
import { stepLimit } from '@/lib/conntrack/snapshot/order';
import { readingSnapshots, SnapshotReads, SnapshotRegistry } from '@/lib/console/snapshots';

const ROWS = 3000;

/**
 * A table that differs with every take (addresses, ports, counters), so a row written over shows; every other
 * row IPv6 (more slots than a builder starts with, so they grow and are trimmed).
 */
function table(generation: number, buffers: ColumnBuffers, rows = ROWS): Snapshot {
  const builder = new SnapshotBuilder(rows, buffers);
  for (let i = 0; i < rows; i++) {
    const v6 = i % 2 === 1;
    const host = v6 ? `2001:db8:${generation.toString(16)}::${i.toString(16)}` : `10.${generation & 255}.${(i >> 8) & 255}.${i & 255}`;
    const server = v6 ? '2001:db8:ffff::7' : '198.51.100.7';
    const sport = 1024 + ((i * 7 + generation * 131) % 60000);
    builder.addConnection({
      family: v6 ? 'ipv6' : 'ipv4',
      original: { src: host, dst: server, protocol: 6, sport, dport: 443 },
      reply: { src: server, dst: host, protocol: 6, sport: 443, dport: sport },
      status: 8,
      zone: 0,
      id: generation * 100_000 + i + 1,
      // Every other row with counters, every third with a start time: the slots a row may leave unset.
      ...(i % 2 ? { counters: { original: { packets: BigInt(i), bytes: BigInt(i * generation) }, reply: { packets: 1n, bytes: 2n } } } : {}),
      ...(i % 3 ? {} : { timestamp: { start: BigInt(generation) * 1_000_000n + BigInt(i) } }),
    });
  }
  return builder.finish({ takenAt: new Date(), tookMs: 0 });
}

/** A registry over tables of `rows()` rows, each take a new generation. */
function registry(rows: () => number = () => ROWS) {
  let generation = 0;
  return new SnapshotRegistry(async (buffers) => table(++generation, buffers, rows()));
}

/** The buffer under a snapshot's columns (the read-only column type hides it). */
const bufferOf = (s: Snapshot): ArrayBufferLike => (s.columns.id as unknown as Uint32Array).buffer;
const v6BufferOf = (s: Snapshot): ArrayBufferLike => (s.columns.v6 as unknown as Uint8Array).buffer;
const rowsOf = (s: Snapshot) => Array.from({ length: s.size }, (_, row) => s.connection(row));
/** The rows of a query sorted by bytes, as a page or an export walks them. */
const sortedRows = (s: Snapshot) => s.query({ sort: 'bytes', order: 'desc', limit: s.size }).rows.map((row) => s.connection(row));

describe('column buffers of retired snapshots', () => {
  it('a snapshot held by a request across refreshes keeps its rows: its buffer is not reused while held', async () => {
    const snapshots = registry();
    const reads = new SnapshotReads();
    const a = await readingSnapshots(reads, () => snapshots.refresh());
    const before = { rows: rowsOf(a), sorted: sortedRows(a) };
    // b, c (a is retired: neither latest nor previous), d: the first take that could have reused a's buffer.
    const [b, c, d] = [await snapshots.refresh(), await snapshots.refresh(), await snapshots.refresh()];
    expect(rowsOf(a)).toEqual(before.rows);
    expect(sortedRows(a)).toEqual(before.sorted);
    expect([b, c, d].map((s) => s.reusedBuffer)).toEqual([false, false, false]);
    expect(snapshots.leases()).toBe(1);

    reads.release();
    expect(snapshots.leases()).toBe(0);
    const e = await snapshots.refresh();
    expect(e.reusedBuffer).toBe(true);
    expect(bufferOf(e)).toBe(bufferOf(a));
    // a's columns are e's rows now: a can no longer be leased (it was retired; nothing may read it).
    expect(() => a.lease()).toThrow(/handed on/);
    expect(e.connection(0).original.src).not.toBe(before.rows[0].original.src);
  });

  it('a snapshot read in the background (its own sort in turns) is held until that work ends', async () => {
    // A step per block of rows: the sort below takes several turns whatever the machine's speed.
    const limit = stepLimit.ms;
    stepLimit.ms = 0;
    try {
      const snapshots = registry();
      const a = await snapshots.refresh();
      // A page sorted by a key not built yet: the page, then the whole order in the background.
      const page = a.page({ sort: 'bytesReply', order: 'desc', limit: 10 });
      expect(a.readers).toBeGreaterThan(0);
      await snapshots.refresh();
      await snapshots.refresh();
      const whileSorting = await snapshots.refresh();
      await page;
      // The whole order, which the page left building in the background: once it is done, nothing holds a.
      await a.prepare({ sort: 'bytesReply' });
      expect(a.readers).toBe(0);
      expect(whileSorting.reusedBuffer).toBe(false);
      const next = await snapshots.refresh();
      expect(next.reusedBuffer).toBe(true);
    } finally {
      stepLimit.ms = limit;
    }
  });

  it('refreshes reuse the retired buffers in turn once nobody reads them', async () => {
    const snapshots = registry();
    const taken: Snapshot[] = [];
    for (let i = 0; i < 6; i++) taken.push(await snapshots.refresh());
    // The first three are new (latest, previous and the one being taken); from then on the retired one's buffer.
    expect(taken.map((s) => s.reusedBuffer)).toEqual([false, false, false, true, true, true]);
    expect(bufferOf(taken[3])).toBe(bufferOf(taken[0]));
    expect(snapshots.leases()).toBe(0);
  });

  it("the IPv6 slots go with the column buffer, and fit a table a little larger than the retired one", async () => {
    let rows = ROWS;
    const snapshots = registry(() => rows);
    const taken: Snapshot[] = [];
    for (let i = 0; i < 3; i++) taken.push(await snapshots.refresh());
    // 1 % more rows (and IPv6 slots) than the retired snapshot had: within the headroom its slots were kept with.
    rows = ROWS + ROWS / 100;
    const next = await snapshots.refresh();
    expect(next.reusedBuffer).toBe(true);
    expect(v6BufferOf(next)).toBe(v6BufferOf(taken[0]));
    // Its rows are those of the same table built in new buffers (the fourth take: generation 4).
    expect(rowsOf(next)).toEqual(rowsOf(table(4, { take: () => undefined }, rows)));
  });

  it('a transient snapshot (the /metrics count) takes a retired buffer and leaves its own to the next refresh', async () => {
    const snapshots = registry();
    let generation = 1000;
    const count = (buffers: ColumnBuffers) => Promise.resolve(table(++generation, buffers));
    const a = await snapshots.refresh();
    const aRows = rowsOf(a);
    // The first count: nothing retired yet, so a new buffer, kept by the registry once counted.
    const first = await snapshots.transient(count, async (s) => ({ reused: s.reusedBuffer, buffer: bufferOf(s), tcp: (await s.tallies()).protocols[6] }));
    expect(first).toMatchObject({ reused: false, tcp: ROWS });
    // The server's second snapshot (bench:api's measured refresh) is written into the count's buffer.
    const b = await snapshots.refresh();
    expect(b.reusedBuffer).toBe(true);
    expect(bufferOf(b)).toBe(first.buffer);
    expect(rowsOf(a)).toEqual(aRows);
    // The third retires a; the next count takes a's buffer, and neither snapshot kept loses its rows.
    const c = await snapshots.refresh();
    const kept = { b: rowsOf(b), c: rowsOf(c) };
    const aBuffer = bufferOf(a);
    expect(await snapshots.transient(count, (s) => Promise.resolve(bufferOf(s)))).toBe(aBuffer);
    expect({ b: rowsOf(b), c: rowsOf(c) }).toEqual(kept);
    expect(snapshots.leases()).toBe(0);
  });

  it('a retired buffer much larger or smaller than the table needs is not reused', async () => {
    let rows = ROWS;
    const snapshots = registry(() => rows);
    for (let i = 0; i < 3; i++) await snapshots.refresh();
    rows = ROWS / 2;
    expect((await snapshots.refresh()).reusedBuffer).toBe(false);
    rows = ROWS * 2;
    expect((await snapshots.refresh()).reusedBuffer).toBe(false);
  });

  it('a request scope released takes no more leases (work it left running cannot leak one)', async () => {
    const snapshots = registry();
    await snapshots.refresh();
    const reads = new SnapshotReads();
    await readingSnapshots(reads, async () => {
      snapshots.peek();
      reads.release();
      snapshots.peek();
      await snapshots.get();
    });
    expect(snapshots.leases()).toBe(0);
  });

  it("a refresh while the history's whole-table dump is taken joins it: one dump, kept, its buffer not handed on", async () => {
    let takes = 0;
    let joinedIds: string[] = [];
    const snapshots = new SnapshotRegistry(async (buffers) => table(++takes, buffers), { joined: async (snapshot) => void joinedIds.push(snapshot.info.id) });
    let finishDump: () => void = () => {};
    let dumped = 0;
    const dump = (buffers: ColumnBuffers) =>
      new Promise<Snapshot>((resolve) => {
        dumped++;
        finishDump = () => resolve(table(500, buffers));
      });
    let readDone: () => void = () => {};
    let seen: Snapshot | undefined;
    const history = snapshots.transient(dump, (s) => ((seen = s), new Promise<void>((resolve) => (readDone = resolve))), { joinable: true });
    const refreshed = snapshots.refresh();
    finishDump();
    const joined = await refreshed;
    expect(takes).toBe(0);
    expect(dumped).toBe(1);
    expect(joined).toBe(seen);
    expect(joinedIds).toEqual([joined.info.id]);
    // Two more refreshes retire it while the history still reads it: its rows stay (leased), and once read it is
    // the console's, not handed on as a transient's.
    const rows = rowsOf(joined);
    await snapshots.refresh();
    await snapshots.refresh();
    const fourth = await snapshots.refresh();
    expect(fourth.reusedBuffer).toBe(false);
    expect(rowsOf(joined)).toEqual(rows);
    readDone();
    await history;
    expect(snapshots.leases()).toBe(0);
    // Once the dump is done, a refresh dumps on its own again; a transient that is not joinable is never joined.
    joinedIds = [];
    const alone = snapshots.transient(dump, () => Promise.resolve());
    const own = snapshots.refresh();
    finishDump();
    await alone;
    expect((await own).info.id).not.toBe(seen!.info.id);
    expect(takes).toBe(4);
    expect(joinedIds).toEqual([]);
  });

  it("a refresh after the console wrote to the table never gets a dump begun before: not the history's, not a refresh's", async () => {
    let writes = 0;
    const finishes: (() => void)[] = [];
    let takes = 0;
    const snapshots = new SnapshotRegistry(
      (buffers) =>
        new Promise<Snapshot>((resolve) => {
          const generation = ++takes;
          finishes.push(() => resolve(table(generation, buffers)));
        }),
      { writes: () => writes },
    );
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    const finishNext = async () => {
      await turn();
      const finish = finishes.shift();
      if (!finish) throw new Error('no dump in flight');
      finish();
    };
    // The history's dump is being taken, a delete begins and ends, then a refresh: it dumps on its own.
    const history = snapshots.transient((buffers) => new Promise<Snapshot>((resolve) => finishes.push(() => resolve(table(900, buffers)))), async (s) => s.info.id, { joinable: true });
    writes += 2;
    const afterDelete = snapshots.refresh();
    await finishNext();
    const historyId = await history;
    await finishNext();
    expect(takes).toBe(1);
    expect((await afterDelete).info.id).not.toBe(historyId);

    // A refresh is being taken when a delete begins and ends: a refresh then waits for it and takes its own, and a
    // refresh meanwhile (no write since) joins that one. The earlier refresh still gets its own dump's snapshot.
    const early = snapshots.refresh();
    await turn();
    writes += 2;
    const late = snapshots.refresh();
    const joiner = snapshots.refresh();
    await turn();
    expect(takes).toBe(2);
    await finishNext();
    const earlySnapshot = await early;
    await finishNext();
    const lateSnapshot = await late;
    expect(takes).toBe(3);
    expect(await joiner).toBe(lateSnapshot);
    expect(lateSnapshot.info.id).not.toBe(earlySnapshot.info.id);
    // The late one is the latest, the early one the one before it.
    expect((await snapshots.current()).info.id).toBe(lateSnapshot.info.id);
    expect((await snapshots.get(earlySnapshot.info.id)).info.id).toBe(earlySnapshot.info.id);
    // With no write since, a refresh during a refresh joins it, as before.
    const first = snapshots.refresh();
    const second = snapshots.refresh();
    await finishNext();
    expect(await second).toBe(await first);
    expect(takes).toBe(4);
  });
});
