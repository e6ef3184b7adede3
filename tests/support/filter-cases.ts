// Filters every translation of the one evaluator (lib/conntrack/snapshot/match.ts) is tested on: the kernel plan
// (tests/integration/conntrack-filters.test.ts, against the real kernel) and the history store's SQL WHERE
// (tests/unit/filter-translations.test.ts). The addresses are those of tests/integration/conntrack-setup.ts.
// host= cases resolve through a real Names over CASE_HOSTS (caseFilterOptions), as the console resolves them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FilterInput, ToFilterOptions } from '@/lib/conntrack';
import { Names } from '@/lib/names';

/** External addresses the NAT entries are translated to (the MultiWAN case: reply-direction destination). */
export const WAN_V4 = '203.0.113.2';
export const OTHER_WAN_V4 = '198.51.100.2';
export const WAN_V6 = '2001:db8:2::2';

/** A hosts file naming some addresses of the varied table, in both families and on both sides of the NAT. */
export const CASE_HOSTS = [
  '10.1.0.1 laptop.lan laptop',
  '10.1.0.2 phone.lan',
  'fd00:1::1 laptop6.lan',
  '198.18.0.10 www.example.test',
  '2001:db8:ff::10 www6.example.test',
  `${WAN_V4} wan.example.test`,
  '192.0.2.250 absent.lan',
].join('\n');

let caseNames: Names | undefined;

/** How the cases' host= names resolve: a Names read once from CASE_HOSTS (the file is gone after). */
export function caseFilterOptions(): ToFilterOptions {
  if (!caseNames) {
    const dir = mkdtempSync(join(tmpdir(), 'ctc-case-hosts-'));
    try {
      writeFileSync(join(dir, 'hosts'), CASE_HOSTS);
      caseNames = new Names({ files: [{ format: 'hosts', path: join(dir, 'hosts') }], servicesFile: join(dir, 'services'), checkIntervalMs: Number.POSITIVE_INFINITY });
      caseNames.refresh(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const names = caseNames;
  return { hostAddresses: (pattern) => names.addressesOf(pattern) };
}

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
  { host: 'laptop.lan' },
  { host: 'laptop' },
  { host: 'LAPTOP6.lan' },
  { host: '*.lan' },
  { host: '*.example.test' },
  { host: 'wan.example.test' },
  { host: '*.example.test', protocol: 'tcp', dport: 443 },
  { host: '*.lan', family: 'ipv6' },
  // Named, but in no entry; and named by nothing at all: both select nothing.
  { host: 'absent.lan' },
  { host: 'nobody.lan' },
];
