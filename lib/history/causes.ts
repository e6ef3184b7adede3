// Why a connection ended, decided when its DESTROY event arrives. DESTROY carries the final TCP state but no TCP
// flags, so who sent the first FIN is remembered from the NEW / UPDATE events before (ClosersMap); whether the entry
// expired or was removed early comes from CTA_TIMEOUT, which the kernel puts in a DESTROY only when time was left.
import { IPPROTO, type Connection } from '@/lib/conntrack';
import { IP_CT_TCP_FLAG } from '@/lib/conntrack/constants';
import type { Cause } from './cause-names';
import { IdSlots } from './id-slots';

export { CAUSES, CAUSE_LABELS, type Cause } from './cause-names';

/** Who sent the first FIN: 1 the original direction (client), 2 the reply direction (server). */
export type Closer = 1 | 2;

/** The closer an event shows, from CLOSE_INIT in the TCP flags (the original direction wins when both are set). */
export function closerOf(connection: Connection): Closer | undefined {
  const tcp = connection.protoinfo?.tcp;
  return tcp ? closerOfFlags(tcp.flagsOriginal?.flags ?? 0, tcp.flagsReply?.flags ?? 0) : undefined;
}

/** closerOf() from the TCP flags bytes each way (a snapshot row's EntryFields). */
export function closerOfFlags(original: number, reply: number): Closer | undefined {
  if (original & IP_CT_TCP_FLAG.CLOSE_INIT) return 1;
  if (reply & IP_CT_TCP_FLAG.CLOSE_INIT) return 2;
  return undefined;
}

/**
 * The cause of an ended connection. A deletion this console asked for wins (the administrator's act is what ended
 * the entry); then a TCP close (FIN first, then reset); then whether time was left on the entry.
 */
export function causeOf(destroy: Connection, closer: Closer | undefined, requested: 'admin' | 'flush' | undefined): Cause {
  if (requested) return requested;
  if (closer === 1) return 'client';
  if (closer === 2) return 'server';
  if (destroy.original.protocol === IPPROTO.TCP && destroy.protoinfo?.tcp?.state === 'CLOSE') return 'reset';
  if (destroy.timeout !== undefined && destroy.timeout > 0) return 'deleted';
  return 'timeout';
}

/**
 * Remembers, for live TCP connections, which side sent the first FIN, until the DESTROY. Bounded: beyond `max`
 * entries the oldest are forgotten (their cause then falls back to the final state). Typed arrays, not a Map: up to
 * CONNTRACK_HISTORY_TRACKED_MAX (500,000) ids, which as Map entries (half of them heap numbers) every major GC
 * would mark. The entries lie in insertion order in ids/closers[head, tail); a forgotten one leaves a hole
 * (closer 0), squeezed out when the arrays are full and at least half holes.
 */
export class ClosersMap {
  private readonly positions = new IdSlots();
  private ids = new Uint32Array(0);
  private closers = new Uint8Array(0);
  private head = 0;
  private tail = 0;
  constructor(private readonly max: number) {}

  /** Records the first closer seen for an id (later events do not change it). */
  note(id: number, closer: Closer): void {
    if (this.positions.has(id)) return;
    if (this.positions.size >= this.max) this.forgetAt(this.head);
    if (this.tail === this.ids.length) this.makeRoom();
    this.ids[this.tail] = id;
    this.closers[this.tail] = closer;
    this.positions.set(id, this.tail++);
  }

  has(id: number): boolean {
    return this.positions.has(id);
  }

  /** The closer of an id, forgetting it (the connection has ended). */
  take(id: number): Closer | undefined {
    const at = this.positions.get(id);
    if (at < 0) return undefined;
    const closer = this.closers[at] as Closer;
    this.forgetAt(at);
    return closer;
  }

  /** Forgets every id not in `live` (their DESTROY was lost). */
  retain(live: ReadonlySet<number>): number {
    let dropped = 0;
    for (let at = this.head; at < this.tail; at++) {
      if (this.closers[at] && !live.has(this.ids[at])) {
        this.forgetAt(at);
        dropped++;
      }
    }
    return dropped;
  }

  get size(): number {
    return this.positions.size;
  }

  /** Forgets the entry at `at` (the oldest live one is always at head). */
  private forgetAt(at: number): void {
    this.positions.delete(this.ids[at]);
    this.closers[at] = 0;
    while (this.head < this.tail && !this.closers[this.head]) this.head++;
    if (this.head === this.tail) this.head = this.tail = 0;
  }

  /** Squeezes the holes out when at least half the arrays are holes, or doubles them. */
  private makeRoom(): void {
    const live = this.positions.size;
    if (this.ids.length && live * 2 <= this.ids.length) {
      let to = 0;
      for (let at = this.head; at < this.tail; at++) {
        if (!this.closers[at]) continue;
        this.ids[to] = this.ids[at];
        this.closers[to] = this.closers[at];
        this.positions.set(this.ids[to], to);
        to++;
      }
      this.head = 0;
      this.tail = to;
      return;
    }
    const capacity = Math.max(1024, this.ids.length * 2);
    const ids = new Uint32Array(capacity);
    const closers = new Uint8Array(capacity);
    ids.set(this.ids);
    closers.set(this.closers);
    this.ids = ids;
    this.closers = closers;
  }
}
