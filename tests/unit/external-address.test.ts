// The shared definition of a connection's external address (console WAN column, cleanup by uplink, history).
import { describe, expect, it } from 'vitest';
import { IPS, externalAddress, externalSlot } from '@/lib/conntrack';

const tuple = (src: string, dst: string) => ({ src, dst, protocol: 6, sport: 1000, dport: 80 });

describe('externalAddress', () => {
  const cases = [
    { name: 'SNAT: the reply destination', status: IPS.SRC_NAT, expected: { address: '198.51.100.2', kind: 'snat' }, slot: 3 },
    { name: 'DNAT: the original destination', status: IPS.DST_NAT, expected: { address: '198.51.100.9', kind: 'dnat' }, slot: 1 },
    { name: 'both (hairpin): the SNAT address', status: IPS.SRC_NAT | IPS.DST_NAT, expected: { address: '198.51.100.2', kind: 'snat' }, slot: 3 },
    { name: 'routed: none', status: IPS.CONFIRMED, expected: undefined, slot: -1 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      // original 192.168.50.10 -> 198.51.100.9; reply 192.0.2.10 -> 198.51.100.2 (distinct so the slot is visible)
      const connection = { status: c.status, original: tuple('192.168.50.10', '198.51.100.9'), reply: tuple('192.0.2.10', '198.51.100.2') };
      expect(externalAddress(connection)).toEqual(c.expected);
      expect(externalSlot(c.status)).toBe(c.slot);
    });
  }
});
