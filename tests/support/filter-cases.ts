// Filters every translation of the one evaluator (lib/conntrack/snapshot/match.ts) is tested on: the kernel plan
// (tests/integration/conntrack-filters.test.ts, against the real kernel) and the history store's SQL WHERE
// (tests/unit/filter-translations.test.ts). The addresses are those of tests/integration/conntrack-setup.ts.
import type { FilterInput } from '@/lib/conntrack';

/** External addresses the NAT entries are translated to (the MultiWAN case: reply-direction destination). */
export const WAN_V4 = '203.0.113.2';
export const OTHER_WAN_V4 = '198.51.100.2';
export const WAN_V6 = '2001:db8:2::2';

export const FILTER_CASES: FilterInput[] = [
  { family: 'ipv4' },
  { family: 'ipv6' },
  { protocol: 'tcp' },
  { protocol: 'udp' },
  { protocol: 'icmp' },
  { protocol: 'icmpv6' },
  { protocol: 'sctp' },
  { protocol: 'gre' },
  { protocol: 'tcp', sport: '40001' },
  { protocol: 'tcp', dport: '443' },
  { protocol: 'udp', dport: 53 },
  { protocol: 'udp', sport: 5353, dport: 53 },
  { family: 'ipv6', protocol: 'tcp', dport: '443' },
  { state: 'ESTABLISHED' },
  { state: 'SYN_SENT,TIME_WAIT' },
  { protocol: 'tcp', dport: 443, state: 'ESTABLISHED' },
  { src: '10.1.0.1' },
  { src: '10.1.0.0/30' },
  { src: 'fd00:1::1' },
  { src: 'fd00:1::/126' },
  { dst: '198.18.0.10' },
  { dst: '2001:db8:ff::/64' },
  { replySrc: '10.1.0.20' },
  { replyDst: WAN_V4 },
  { replyDst: OTHER_WAN_V4 },
  { replyDst: WAN_V6 },
  { replyDst: '203.0.113.0/24' },
  { protocol: 'tcp', replyDst: WAN_V4 },
  { protocol: 'udp', dport: 53, replyDst: WAN_V6 },
  { protocol: 'tcp', dport: 443, src: '10.1.0.0/24' },
  { ip: '198.18.0.10' },
  { ip: WAN_V4 },
  { ip: 'fd00:1::/64' },
  { port: 53 },
  { port: '8000-8100' },
  { sport: '40000-40004' },
  { dport: '400-500' },
  { sport: 40001 },
  { family: 'ipv6', port: 443 },
  // GRE keys travel in the port attributes, but a GRE entry has no ports to filter on.
  { port: '1-2' },
  { protocol: 'gre', sport: 1 },
  { mark: '1' },
  { mark: '0x10' },
  { mark: '0x100/0xff00' },
  { mark: '0/0xffffffff' },
  { status: 'ASSURED' },
  { status: 'SEEN_REPLY' },
  { status: 'UNREPLIED' },
  { status: 'SRC_NAT,SEEN_REPLY' },
  { zone: 7 },
  { zone: '0' },
  { family: 'ipv4', src: 'fd00:1::1' },
];
