import { describe, expect, it } from 'vitest';
import { ClosersMap, OpenEntries } from '@/lib/history';
import { IdSlots } from '@/lib/history/id-slots';
import type { Connection } from '@/lib/conntrack';
import { prng as random } from '@/lib/lab/seeder';

/** Checks every id of the reference (and some absent ones) against the map. */
function expectSame(slots: IdSlots, reference: Map<number, number>, absent: readonly number[]): void {
  expect(slots.size).toBe(reference.size);
  const wrong: string[] = [];
  for (const [id, slot] of reference) if (slots.get(id) !== slot) wrong.push(`${id}: ${slots.get(id)}, not ${slot}`);
  for (const id of absent) if (!reference.has(id) && slots.has(id)) wrong.push(`${id}: present`);
  expect(wrong.slice(0, 10)).toEqual([]);
}

describe('IdSlots', () => {
  it('answers as a Map over random inserts, replacements and deletes, through growth', () => {
    for (const [seed, range] of [
      [1, 64], // few ids: long probe runs, deletes shifting entries back across the table's end
      [2, 5_000],
      [3, 2 ** 32], // ids anywhere in the unsigned 32-bit range, 2^31 and above included
    ] as const) {
      const next = random(seed);
      const id = () => Math.floor(next() * range);
      const slots = new IdSlots();
      const reference = new Map<number, number>();
      const probes: number[] = [];
      for (let step = 0; step < 20_000; step++) {
        const key = id();
        probes.push(key);
        const roll = next();
        if (roll < 0.55) {
          const slot = Math.floor(next() * 2 ** 31);
          slots.set(key, slot);
          reference.set(key, slot);
        } else if (roll < 0.85) {
          // Deleting an id that was set (when it still is: most often) as often as any id.
          const victim = next() < 0.5 ? probes[Math.floor(next() * probes.length)] : key;
          expect(slots.delete(victim)).toBe(reference.delete(victim));
        } else {
          expect(slots.get(key)).toBe(reference.get(key) ?? -1);
        }
        if (step % 2_000 === 0) expectSame(slots, reference, probes.slice(-200));
        // Room made for more ids now and then (as the start-up dump does): a rehash of what is there.
        if (step % 5_000 === 2_500) slots.reserve(reference.size * (1 + (step % 3)) + 100);
      }
      expectSame(slots, reference, probes);
    }
  });

  it('keeps id 0 and the largest ids apart from empty places, and grows past a million ids', () => {
    const slots = new IdSlots();
    slots.set(0, 0);
    slots.set(2 ** 32 - 1, 1);
    slots.set(2 ** 31, 2);
    expect([slots.get(0), slots.get(2 ** 32 - 1), slots.get(2 ** 31), slots.get(1)]).toEqual([0, 1, 2, -1]);
    const reference = new Map<number, number>([
      [0, 0],
      [2 ** 32 - 1, 1],
      [2 ** 31, 2],
    ]);
    // Consecutive ids, as the kernel hands them out, from just below 2^31 upwards.
    for (let k = 0; k < 1_100_000; k++) {
      slots.set(2 ** 31 - 500_000 + k, k + 3);
      reference.set(2 ** 31 - 500_000 + k, k + 3);
    }
    for (let k = 0; k < 1_100_000; k += 3) {
      slots.delete(2 ** 31 - 500_000 + k);
      reference.delete(2 ** 31 - 500_000 + k);
    }
    expectSame(slots, reference, [1, 2 ** 31 - 500_001, 2 ** 31 + 600_000]);
    expect(slots.delete(0)).toBe(true);
    expect(slots.has(0)).toBe(false);
    slots.clear();
    expect([slots.size, slots.get(2 ** 32 - 1)]).toEqual([0, -1]);
  });
});

describe('OpenEntries with ids of the whole unsigned range', () => {
  const entry = (id: number, sport: number): Connection => ({
    family: 'ipv4',
    original: { src: '10.0.0.5', dst: '198.51.100.3', protocol: 6, sport, dport: 443 },
    reply: { src: '198.51.100.3', dst: '203.0.113.1', protocol: 6, sport: 443, dport: sport },
    status: 0x0e,
    zone: 0,
    id,
  });

  it('notes, forgets and reuses slots, and lists what a dump did not see', () => {
    const open = new OpenEntries();
    const ids = [0, 7, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 3_000_000_000];
    ids.forEach((id, k) => open.note(entry(id, 1000 + k), 100, 1));
    expect(open.size).toBe(ids.length);
    expect(ids.every((id) => open.has(id))).toBe(true);
    expect(open.forget(2 ** 31)).toBe(true);
    expect(open.forget(2 ** 31)).toBe(false);
    // The freed slot goes to a new id; the others keep theirs.
    open.note(entry(4_000_000_000, 2000), 100, 1);
    expect(open.connection(4_000_000_000)?.original.sport).toBe(2000);
    expect(open.connection(2 ** 32 - 1)?.original.sport).toBe(1004);
    for (const id of [0, 2 ** 32 - 1, 4_000_000_000]) open.note(entry(id, open.connection(id)?.original.sport ?? 0), 200, 2);
    expect(open.unseenBy(2).sort((a, b) => a - b)).toEqual([7, 2 ** 31 - 1, 3_000_000_000]);
    expect([...open.ids()].sort((a, b) => a - b)).toEqual([0, 7, 2 ** 31 - 1, 3_000_000_000, 4_000_000_000, 2 ** 32 - 1]);
    // The same unseen ids block by block (blocks of 2 slots here), and refreshSlot() of slotFor().
    const blocks: number[] = [];
    for (let from = 0; from < open.slotCount; from += 2) open.unseenIn(2, from, from + 2, blocks);
    expect(blocks.sort((a, b) => a - b)).toEqual([7, 2 ** 31 - 1, 3_000_000_000]);
    expect(open.slotFor(5)).toBe(-1);
    open.refreshSlot(open.slotFor(7), { protocol: 6, sport: 1001, dport: 443, state: 3, status: 0x0e, mark: 9, packetsOriginal: 1, bytesOriginal: 2, packetsReply: 3, bytesReply: 4 }, 250, 2);
    expect(open.unseenBy(2).sort((a, b) => a - b)).toEqual([2 ** 31 - 1, 3_000_000_000]);
    expect([open.lastSeen(7), open.connection(7)?.mark]).toEqual([250, 9]);
    // Room made for many more (the start-up dump's reserve()): every entry noted stays as it was.
    open.reserve(50_000);
    expect([open.lastSeen(7), open.connection(7)?.mark, open.connection(4_000_000_000)?.original.sport, open.size]).toEqual([250, 9, 2000, 6]);
    expect(open.unseenBy(2).sort((a, b) => a - b)).toEqual([2 ** 31 - 1, 3_000_000_000]);
    // Taking every entry while walking the unseen ones: each is visited once, and the columns are freed at the end.
    for (const id of open.unseenBy(3)) expect(open.take(id, { cause: 'unobserved', endedAfter: 200, endedBefore: 300 })?.id).toBe(id);
    expect(open.size).toBe(0);
    expect([...open.ids()]).toEqual([]);
  });
});

describe('ClosersMap in typed arrays', () => {
  /** The Map it replaced: insertion order, the oldest forgotten beyond the bound. */
  class Reference {
    readonly map = new Map<number, 1 | 2>();
    constructor(private readonly max: number) {}
    note(id: number, closer: 1 | 2): void {
      if (this.map.has(id)) return;
      if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value as number);
      this.map.set(id, closer);
    }
    take(id: number): 1 | 2 | undefined {
      const closer = this.map.get(id);
      this.map.delete(id);
      return closer;
    }
  }

  it('answers as the Map it replaced over random notes, takes and retains, through growth and squeezing', () => {
    for (const [seed, max, range] of [
      [4, 50, 200],
      [5, 3_000, 2 ** 32],
      [6, 100_000, 150_000],
    ] as const) {
      const next = random(seed);
      const closers = new ClosersMap(max);
      const reference = new Reference(max);
      const wrong: string[] = [];
      for (let step = 0; step < 60_000; step++) {
        const id = Math.floor(next() * range);
        const roll = next();
        if (roll < 0.6) {
          const closer = next() < 0.5 ? 1 : 2;
          closers.note(id, closer);
          reference.note(id, closer);
        } else if (roll < 0.9995) {
          const [a, b] = [closers.take(id), reference.take(id)];
          if (a !== b) wrong.push(`step ${step}: take(${id}) ${a}, not ${b}`);
        } else {
          const live = new Set([...reference.map.keys()].filter(() => next() < 0.7));
          const dropped = reference.map.size - live.size;
          for (const key of [...reference.map.keys()]) if (!live.has(key)) reference.map.delete(key);
          if (closers.retain(live) !== dropped) wrong.push(`step ${step}: retain`);
        }
        if (closers.size !== reference.map.size) wrong.push(`step ${step}: size ${closers.size}, not ${reference.map.size}`);
        if (wrong.length) break;
      }
      // What is left, and in which order it would be forgotten: note max new ids and every old one is gone.
      for (const [id, closer] of [...reference.map]) {
        const got = closers.take(id);
        if (got !== closer) wrong.push(`left ${id}: ${got}, not ${closer}`);
      }
      expect(wrong.slice(0, 5)).toEqual([]);
      expect(closers.size).toBe(0);
    }
  });

  it('forgets the oldest first', () => {
    const closers = new ClosersMap(3);
    for (const id of [10, 2 ** 32 - 1, 0]) closers.note(id, 1);
    expect(closers.take(2 ** 32 - 1)).toBe(1);
    closers.note(7, 2);
    closers.note(8, 2);
    expect([closers.take(10), closers.take(0), closers.take(7), closers.take(8)]).toEqual([undefined, 1, 2, 2]);
  });
});
