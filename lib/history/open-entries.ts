// The entries that were already open when the recorder started. With nf_conntrack_events=2 (the kernel default) an
// entry created while nobody listened has no event cache and never reports its end, so the recorder keeps, for each
// of them, what its history row needs (tuples, flags, the last counters seen) until a later dump finds it gone or
// its DESTROY does arrive. Columnar typed arrays, not one object per entry: about 150 bytes an entry, a million
// entries in 150 MB, and nothing else of the table is copied. The ids find their slots through IdSlots (typed
// arrays too): nothing here grows the heap the garbage collector marks with the number of entries.
import { TCP_STATES, type Connection, type EntryFields, type EntryProgress, type Family, type Snapshot, type TcpState, type Tuple } from '@/lib/conntrack';
import { parseAddress } from '@/lib/netlink/address';
import { decodeAddress } from '@/lib/conntrack/codec/address';
import type { Cause } from './causes';
import { IdSlots } from './id-slots';
import type { HistoryRecord } from './store';

const ADDRESS_BYTES = 16;
/** Per slot: sport, dport, reply sport, reply dport, icmp type, icmp code, icmp id (-1: absent). */
const INTS = 7;
/** Per slot: started (ms), packets/bytes original, packets/bytes reply (NaN: absent), last seen (ms). */
const FLOATS = 6;
const U32S = 4; // id, status, mark, zone

/** How an open entry ended, as the recorder found out. */
export interface OpenEntryEnd {
  cause: Cause;
  /** The end lies after this (ms) ... */
  endedAfter: number;
  /** ... and before this; the row's ended_at. */
  endedBefore: number;
  /** Exact end, when known (a delete by this console). */
  endedAt?: number;
  deletedBy?: string;
}

export class OpenEntries {
  private readonly slotOf = new IdSlots();
  /** Slots given back, a stack: free[0 ... freeCount - 1]. */
  private free = new Int32Array(0);
  private freeCount = 0;
  private capacity = 0;
  private used = 0;
  private meta = new Uint8Array(0); // family (4/6; 0: a free slot), protocol, TCP state index + 1, closer (0, 1, 2)
  private addresses = new Uint8Array(0);
  private ints = new Int32Array(0);
  private floats = new Float64Array(0);
  private u32 = new Uint32Array(0);
  /** The dump generation that last saw each slot. */
  private seen = new Uint32Array(0);

  get size(): number {
    return this.slotOf.size;
  }

  has(id: number): boolean {
    return this.slotOf.has(id);
  }

  /** The ids noted here, in slot order (ids noted meanwhile may be visited, ids forgotten meanwhile are not). */
  *ids(): Generator<number, void, void> {
    for (let slot = 0; slot < this.used; slot++) if (this.meta[slot * 4] !== 0) yield this.u32[slot * U32S];
  }

  /**
   * Room for `count` entries in all, made at once: the start-up dump of a million entries otherwise grows the
   * columns and the id table by doubling, and the last doublings (copying ~75 MB, rehashing half a million ids)
   * each held one step of the walk for tens of milliseconds.
   */
  reserve(count: number): void {
    this.slotOf.reserve(count);
    if (count > this.capacity) this.grow(count);
  }

  private grow(least = 0): void {
    const capacity = Math.max(1024, this.capacity * 2, least);
    const grown = <T extends Uint8Array | Int32Array | Float64Array | Uint32Array>(old: T, per: number, make: (n: number) => T): T => {
      const next = make(capacity * per);
      next.set(old);
      return next;
    };
    this.meta = grown(this.meta, 4, (n) => new Uint8Array(n));
    this.addresses = grown(this.addresses, 4 * ADDRESS_BYTES, (n) => new Uint8Array(n));
    this.ints = grown(this.ints, INTS, (n) => new Int32Array(n));
    this.floats = grown(this.floats, FLOATS, (n) => new Float64Array(n));
    this.u32 = grown(this.u32, U32S, (n) => new Uint32Array(n));
    this.seen = grown(this.seen, 1, (n) => new Uint32Array(n));
    this.free = grown(this.free, 1, (n) => new Int32Array(n));
    this.capacity = capacity;
  }

  /** Notes an open entry (or refreshes one already noted) as seen at `at` (ms) by dump generation `generation`. */
  note(connection: Connection, at: number, generation: number, closer: 0 | 1 | 2 = 0): void {
    const id = connection.id;
    if (id === undefined) return;
    let slot = this.slotOf.get(id);
    if (slot < 0) {
      slot = this.claim(id);
      this.write(slot, connection);
      this.meta[slot * 4 + 3] = closer;
    } else if (!this.sameEntry(slot, connection)) {
      // The kernel reused the id for another connection: the one noted ended unseen; the caller records it first.
      return;
    } else {
      this.refresh(slot, connection);
      if (closer && !this.meta[slot * 4 + 3]) this.meta[slot * 4 + 3] = closer;
    }
    this.floats[slot * FLOATS + 5] = at;
    this.seen[slot] = generation;
  }

  /**
   * note() of a snapshot row, read from its columns (`fields`: the row's fieldsAt()), with no Connection and no
   * address text: the first dump of a million entries decoded a million objects and parsed four million addresses.
   */
  noteRow(snapshot: Snapshot, row: number, fields: EntryFields, at: number, generation: number, closer: 0 | 1 | 2 = 0): void {
    let slot = this.slotOf.get(fields.id);
    if (slot < 0) {
      slot = this.claim(fields.id);
      this.writeFields(slot, snapshot, row, fields);
      this.meta[slot * 4 + 3] = closer;
      this.floats[slot * FLOATS + 5] = at;
      this.seen[slot] = generation;
    } else if (this.refreshSlot(slot, fields, at, generation) && closer && !this.meta[slot * 4 + 3]) {
      this.meta[slot * 4 + 3] = closer;
    }
  }

  /** A slot for a new id: a freed one, else the next (growing the columns). */
  private claim(id: number): number {
    let slot: number;
    if (this.freeCount) slot = this.free[--this.freeCount];
    else {
      if (this.used === this.capacity) this.grow();
      slot = this.used++;
    }
    this.slotOf.set(id, slot);
    return slot;
  }

  /** The slot of the entry noted under this id (-1: none), for refreshSlot(): one lookup per snapshot row. */
  slotFor(id: number): number {
    return this.slotOf.get(id);
  }

  /**
   * Refreshes the entry in `slot` (from slotFor(), with nothing noted or forgotten since) from a snapshot row
   * (EntryProgress: no Connection built) as seen at `at` by dump `generation`. An id the kernel reused for another
   * connection is left unseen (false): the noted one ended.
   */
  refreshSlot(slot: number, p: EntryProgress, at: number, generation: number): boolean {
    const i = slot * INTS;
    if (this.meta[slot * 4 + 1] !== p.protocol || this.ints[i] !== p.sport || this.ints[i + 1] !== p.dport) return false;
    this.progress(slot, p);
    this.floats[slot * FLOATS + 5] = at;
    this.seen[slot] = generation;
    return true;
  }

  private progress(slot: number, p: Omit<EntryProgress, 'protocol' | 'sport' | 'dport'>): void {
    this.meta[slot * 4 + 2] = p.state + 1;
    const u = slot * U32S;
    this.u32[u + 1] = p.status;
    this.u32[u + 2] = p.mark;
    const f = slot * FLOATS;
    this.floats[f + 1] = p.packetsOriginal;
    this.floats[f + 2] = p.bytesOriginal;
    this.floats[f + 3] = p.packetsReply;
    this.floats[f + 4] = p.bytesReply;
  }

  /** Whether the entry with this id noted here is this connection (same protocol and original ports), not a reuse. */
  matches(connection: Connection): boolean {
    const slot = connection.id === undefined ? -1 : this.slotOf.get(connection.id);
    return slot >= 0 && this.sameEntry(slot, connection);
  }

  private sameEntry(slot: number, c: Connection): boolean {
    const i = slot * INTS;
    return this.meta[slot * 4 + 1] === c.original.protocol && this.ints[i] === (c.original.sport ?? -1) && this.ints[i + 1] === (c.original.dport ?? -1);
  }

  private write(slot: number, c: Connection): void {
    const m = slot * 4;
    this.meta[m] = c.family === 'ipv4' ? 4 : 6;
    this.meta[m + 1] = c.original.protocol;
    const base = slot * 4 * ADDRESS_BYTES;
    [c.original.src, c.original.dst, c.reply.src, c.reply.dst].forEach((text, k) => {
      const parsed = parseAddress(text);
      if (parsed) this.addresses.set(parsed.bytes, base + k * ADDRESS_BYTES);
    });
    const i = slot * INTS;
    const o = c.original;
    const r = c.reply;
    const values = [o.sport, o.dport, r.sport, r.dport, o.icmp?.type, o.icmp?.code, o.icmp?.id];
    for (let k = 0; k < INTS; k++) this.ints[i + k] = values[k] ?? -1;
    const u = slot * U32S;
    this.u32[u] = c.id ?? 0;
    this.u32[u + 3] = c.zone;
    this.floats[slot * FLOATS] = c.timestamp?.start ? Number(c.timestamp.start / 1_000_000n) : Number.NaN;
    this.refresh(slot, c);
  }

  /** write() from a snapshot row. */
  private writeFields(slot: number, snapshot: Snapshot, row: number, f: EntryFields): void {
    const m = slot * 4;
    this.meta[m] = f.family === 'ipv4' ? 4 : 6;
    this.meta[m + 1] = f.protocol;
    const base = slot * 4 * ADDRESS_BYTES;
    for (let k = 0; k < 4; k++) snapshot.addressBytesAt(row, k, this.addresses, base + k * ADDRESS_BYTES);
    const i = slot * INTS;
    this.ints[i] = f.sport;
    this.ints[i + 1] = f.dport;
    this.ints[i + 2] = f.replySport;
    this.ints[i + 3] = f.replyDport;
    this.ints[i + 4] = f.icmpType;
    this.ints[i + 5] = f.icmpCode;
    this.ints[i + 6] = f.icmpId;
    const u = slot * U32S;
    this.u32[u] = f.id;
    this.u32[u + 3] = f.zone;
    this.floats[slot * FLOATS] = f.startedMs;
    this.progress(slot, f);
  }

  /** What changes while an entry lives: state, flags, mark, counters. */
  private refresh(slot: number, c: Connection): void {
    const state = c.protoinfo?.tcp?.state;
    const counters = c.counters;
    this.progress(slot, {
      state: state ? TCP_STATES.indexOf(state) : -1,
      status: c.status,
      mark: c.mark ?? 0,
      packetsOriginal: counters ? Number(counters.original.packets) : Number.NaN,
      bytesOriginal: counters ? Number(counters.original.bytes) : Number.NaN,
      packetsReply: counters ? Number(counters.reply.packets) : Number.NaN,
      bytesReply: counters ? Number(counters.reply.bytes) : Number.NaN,
    });
  }

  /** The connection noted under this id, as last seen (for matching a filter against it). */
  connection(id: number): Connection | undefined {
    const slot = this.slotOf.get(id);
    return slot < 0 ? undefined : this.connectionAt(slot);
  }

  private connectionAt(slot: number): Connection {
    const m = slot * 4;
    const family: Family = this.meta[m] === 4 ? 'ipv4' : 'ipv6';
    const protocol = this.meta[m + 1];
    const base = slot * 4 * ADDRESS_BYTES;
    const address = (k: number) => decodeAddress(this.addresses, base + k * ADDRESS_BYTES, family);
    const i = slot * INTS;
    const int = (k: number): number | undefined => (this.ints[i + k] < 0 ? undefined : this.ints[i + k]);
    const tuple = (src: string, dst: string, sport: number | undefined, dport: number | undefined, withIcmp: boolean): Tuple => {
      const t: Tuple = { src, dst, protocol };
      if (sport !== undefined) t.sport = sport;
      if (dport !== undefined) t.dport = dport;
      const type = int(4);
      if (withIcmp && type !== undefined) t.icmp = { type, code: int(5) ?? 0, id: int(6) ?? 0 };
      return t;
    };
    const u = slot * U32S;
    const f = slot * FLOATS;
    const connection: Connection = {
      family,
      original: tuple(address(0), address(1), int(0), int(1), true),
      reply: tuple(address(2), address(3), int(2), int(3), false),
      id: this.u32[u],
      status: this.u32[u + 1],
      mark: this.u32[u + 2],
      zone: this.u32[u + 3],
    };
    const state = this.meta[m + 2];
    if (state) connection.protoinfo = { tcp: { state: TCP_STATES[state - 1] as TcpState } };
    if (!Number.isNaN(this.floats[f + 1])) {
      connection.counters = {
        original: { packets: BigInt(this.floats[f + 1]), bytes: BigInt(this.floats[f + 2]) },
        reply: { packets: BigInt(this.floats[f + 3]), bytes: BigInt(this.floats[f + 4]) },
      };
    }
    if (!Number.isNaN(this.floats[f])) connection.timestamp = { start: BigInt(this.floats[f]) * 1_000_000n };
    return connection;
  }

  /** When the entry was last seen open (ms). */
  lastSeen(id: number): number | undefined {
    const slot = this.slotOf.get(id);
    return slot < 0 ? undefined : this.floats[slot * FLOATS + 5];
  }

  /** The ids noted here that dump `generation` did not see (unseenIn() of every slot). */
  unseenBy(generation: number): number[] {
    const out: number[] = [];
    this.unseenIn(generation, 0, this.used, out);
    return out;
  }

  /** Slots in use or freed: unseenIn() ranges run from 0 to this (it shrinks to 0 once nothing is noted). */
  get slotCount(): number {
    return this.used;
  }

  /**
   * The ids in slots [from, to) that dump `generation` did not see, pushed onto `out`: a block of slots at a time,
   * so a walk over a million entries of which few ended can let the event loop run between blocks.
   */
  unseenIn(generation: number, from: number, to: number, out: number[]): void {
    const end = Math.min(to, this.used);
    for (let slot = from; slot < end; slot++) if (this.meta[slot * 4] !== 0 && this.seen[slot] !== generation) out.push(this.u32[slot * U32S]);
  }

  /** The ids in slots [from, to) whose entry, as last seen, passes `test` (a block at a time, like unseenIn()). */
  matchingIn(from: number, to: number, test: (connection: Connection) => boolean, out: number[]): void {
    const end = Math.min(to, this.used);
    for (let slot = from; slot < end; slot++) if (this.meta[slot * 4] !== 0 && test(this.connectionAt(slot))) out.push(this.u32[slot * U32S]);
  }

  /** The history row of an entry that ended, forgetting it. */
  take(id: number, end: OpenEntryEnd): HistoryRecord | undefined {
    const slot = this.slotOf.get(id);
    if (slot < 0) return undefined;
    const c = this.connectionAt(slot);
    const closer = this.meta[slot * 4 + 3];
    this.forget(id);
    const record: HistoryRecord = {
      id,
      family: c.family,
      original: c.original,
      reply: c.reply,
      status: c.status,
      zone: c.zone,
      mark: c.mark ?? 0,
      endedAt: end.endedAt ?? end.endedBefore,
      cause: end.cause,
    };
    if (end.endedAt === undefined) {
      record.endedAfter = end.endedAfter;
      record.endedBefore = end.endedBefore;
    }
    const state = c.protoinfo?.tcp?.state;
    if (state) record.state = state;
    if (c.timestamp) record.startedAt = Number(c.timestamp.start / 1_000_000n);
    if (c.counters) {
      record.counters = {
        original: { packets: Number(c.counters.original.packets), bytes: Number(c.counters.original.bytes) },
        reply: { packets: Number(c.counters.reply.packets), bytes: Number(c.counters.reply.bytes) },
      };
    }
    if (closer) record.closedBy = closer === 1 ? 'client' : 'server';
    if (end.deletedBy) record.deletedBy = end.deletedBy;
    return record;
  }

  /** Forgets an entry (its DESTROY arrived and was recorded from the event). */
  forget(id: number): boolean {
    const slot = this.slotOf.get(id);
    if (slot < 0) return false;
    this.slotOf.delete(id);
    this.meta[slot * 4] = 0;
    this.free[this.freeCount++] = slot;
    if (!this.slotOf.size) this.clear();
    return true;
  }

  /** Frees the columns once nothing is noted any more. */
  private clear(): void {
    this.slotOf.clear();
    this.free = new Int32Array(0);
    this.freeCount = 0;
    this.used = 0;
    this.capacity = 0;
    this.meta = new Uint8Array(0);
    this.addresses = new Uint8Array(0);
    this.ints = new Int32Array(0);
    this.floats = new Float64Array(0);
    this.u32 = new Uint32Array(0);
    this.seen = new Uint32Array(0);
  }
}
