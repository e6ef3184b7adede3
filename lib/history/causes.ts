// Why a connection ended, decided when its DESTROY event arrives. DESTROY carries the final TCP state but no TCP
// flags, so who sent the first FIN is remembered from the NEW / UPDATE events before (ClosersMap); whether the entry
// expired or was removed early comes from CTA_TIMEOUT, which the kernel puts in a DESTROY only when time was left.
import { IPPROTO, type Connection } from '@/lib/conntrack';
import { IP_CT_TCP_FLAG } from '@/lib/conntrack/constants';
import type { Cause } from './cause-names';

export { CAUSES, CAUSE_LABELS, type Cause } from './cause-names';

/** Who sent the first FIN: 1 the original direction (client), 2 the reply direction (server). */
export type Closer = 1 | 2;

/** The closer an event shows, from CLOSE_INIT in the TCP flags (the original direction wins when both are set). */
export function closerOf(connection: Connection): Closer | undefined {
  const tcp = connection.protoinfo?.tcp;
  if (!tcp) return undefined;
  if ((tcp.flagsOriginal?.flags ?? 0) & IP_CT_TCP_FLAG.CLOSE_INIT) return 1;
  if ((tcp.flagsReply?.flags ?? 0) & IP_CT_TCP_FLAG.CLOSE_INIT) return 2;
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
 * entries the oldest are forgotten (their cause then falls back to the final state).
 */
export class ClosersMap {
  private readonly map = new Map<number, Closer>();
  constructor(private readonly max: number) {}

  /** Records the first closer seen for an id (later events do not change it). */
  note(id: number, closer: Closer): void {
    if (this.map.has(id)) return;
    if (this.map.size >= this.max) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
    this.map.set(id, closer);
  }

  /** The closer of an id, forgetting it (the connection has ended). */
  take(id: number): Closer | undefined {
    const closer = this.map.get(id);
    if (closer !== undefined) this.map.delete(id);
    return closer;
  }

  /** Forgets every id not in `live` (their DESTROY was lost). */
  retain(live: ReadonlySet<number>): number {
    let dropped = 0;
    for (const id of this.map.keys()) {
      if (!live.has(id)) {
        this.map.delete(id);
        dropped++;
      }
    }
    return dropped;
  }

  get size(): number {
    return this.map.size;
  }
}
