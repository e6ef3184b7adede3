// A connection's external address (shared by the console's WAN column, cleanup by uplink and the history): the
// reply-direction destination of a source-NATed entry (SNAT or masquerade: the address the router rewrote the
// source to), or the original destination of a destination-NATed (port-forward) entry; routed entries have none.
// SNAT wins when an entry has both (a hairpin NAT), since that is the address the uplink must still hold.
import { IPS } from './constants';
import type { Connection } from './types';

export type ExternalKind = 'snat' | 'dnat';

export interface ExternalAddress {
  address: string;
  kind: ExternalKind;
}

/**
 * Which of the four tuple addresses (0 orig src, 1 orig dst, 2 reply src, 3 reply dst) is the external address,
 * from the status bits alone; -1 for a routed entry. For columnar tables that keep the addresses in slots.
 */
export function externalSlot(status: number): 3 | 1 | -1 {
  if (status & IPS.SRC_NAT) return 3;
  if (status & IPS.DST_NAT) return 1;
  return -1;
}

export function externalKind(status: number): ExternalKind | undefined {
  const slot = externalSlot(status);
  return slot === 3 ? 'snat' : slot === 1 ? 'dnat' : undefined;
}

export function externalAddress(c: { status: number; original: { dst: string }; reply: { dst: string } }): ExternalAddress | undefined {
  const slot = externalSlot(c.status);
  if (slot === 3) return { address: c.reply.dst, kind: 'snat' };
  if (slot === 1) return { address: c.original.dst, kind: 'dnat' };
  return undefined;
}

/** The external address with its port (the external side's port: reply destination port after SNAT, original
 * destination port after DNAT), as a remote host saw it: what the NAT lookup and the history's external column use. */
export function externalEndpoint(c: Pick<Connection, 'status' | 'original' | 'reply'>): { address: string; port?: number } | undefined {
  const slot = externalSlot(c.status);
  if (slot === -1) return undefined;
  const [address, port] = slot === 3 ? [c.reply.dst, c.reply.dport] : [c.original.dst, c.original.dport];
  return port === undefined ? { address } : { address, port };
}
