// What the conntrack sysctls under /proc/sys/net/netfilter mean: group, unit, kernel default, allowed values and
// when a change takes effect. The running kernel decides which settings exist (sysctl.ts reads the directory);
// this catalog only explains the ones it knows, so a setting a newer kernel adds is still listed, as unknown.
// Defaults and ranges are those of net/netfilter/nf_conntrack_standalone.c and the nf_conntrack_proto_*.c files
// (Linux 6.x); tests/integration/settings.test.ts checks the defaults against a fresh namespace.
import { ValidationError } from './errors';

export type SettingGroup = 'table' | 'features' | 'tcp' | 'timeouts' | 'ipv6-fragments' | 'other';

export const SETTING_GROUPS: readonly { id: SettingGroup; title: string; description: string }[] = [
  { id: 'table', title: 'Table', description: 'How large the table may grow. The limits are global: set in the initial (host) namespace.' },
  { id: 'features', title: 'Features', description: 'What each tracked connection records and reports.' },
  { id: 'tcp', title: 'TCP behaviour', description: 'How strictly TCP packets are checked against the tracked state.' },
  { id: 'timeouts', title: 'Timeouts per protocol', description: 'How long an entry lives without a packet, per protocol and state.' },
  { id: 'ipv6-fragments', title: 'IPv6 fragment reassembly', description: 'Memory and time for reassembling IPv6 fragments before tracking.' },
  { id: 'other', title: 'Other', description: 'Settings under net.netfilter that the console lists but does not change.' },
];

/** When a changed value starts to count. */
export const TAKES_EFFECT = {
  now: 'at once',
  newConnections: 'for connections created afterwards; existing entries keep what they had',
  nextPacket: 'at the next packet of each connection, existing entries included',
  timeout: 'existing entries at their next packet (their remaining time is not shortened before that); new entries at once',
  never: 'never: it is a count the kernel keeps',
} as const;

/** Why the console will not change a setting no matter where it runs. */
export type FixedReason = 'statistic' | 'global' | 'unmanaged';

export interface SettingInfo {
  group: SettingGroup;
  meaning: string;
  unit: string;
  /** The kernel's value in a fresh namespace, or how the kernel derives it (sized from memory at boot). */
  kernelDefault: { value: string } | { derived: string };
  takesEffect: string;
  /** What may be written, checked before the kernel is asked. `choices` name each accepted value. */
  accepts?: { min: number; max: number; choices?: Record<number, string>; bound?: { min?: string; max?: string } };
  /** The kernel shows it read-only outside the initial namespace (mode 0444). */
  initialNamespaceOnly?: boolean;
  /** Never changed from the console, with the reason. */
  fixed?: FixedReason;
}

const ON_OFF = { 0: 'off', 1: 'on' } as const;
const onOff = { min: 0, max: 1, choices: ON_OFF };
const u8 = { min: 0, max: 255 };
// proc_dointvec_jiffies refuses more than INT_MAX / HZ seconds; 2147483 is safe for every HZ up to 1000. 0 would
// expire an entry at once, which nobody means: the console asks for at least 1 second.
const seconds = { min: 1, max: 2_147_483 };
const INT_MAX = 2_147_483_647;

const feature = (meaning: string, value: string, takesEffect: string = TAKES_EFFECT.newConnections): SettingInfo => ({
  group: 'features',
  meaning,
  unit: 'on/off',
  kernelDefault: { value },
  takesEffect,
  accepts: onOff,
});

const timeout = (meaning: string, value: number): SettingInfo => ({
  group: 'timeouts',
  meaning,
  unit: 'seconds',
  kernelDefault: { value: String(value) },
  takesEffect: TAKES_EFFECT.timeout,
  accepts: seconds,
});

const tcpTimeout = (state: string, meaning: string, value: number) => timeout(`TCP ${state}: ${meaning}`, value);
const sctpTimeout = (state: string, value: number) => timeout(`SCTP ${state}: how long an association in this state lives without a packet`, value);

const KNOWN: Record<string, SettingInfo> = {
  nf_conntrack_max: {
    group: 'table',
    meaning: 'Most entries the table may hold; beyond it new connections are dropped ("table full").',
    unit: 'entries',
    kernelDefault: { derived: 'nf_conntrack_buckets at boot (sized from memory: 262144 with 4 GiB or more)' },
    takesEffect: TAKES_EFFECT.now,
    accepts: { min: 0, max: INT_MAX },
    initialNamespaceOnly: true,
  },
  nf_conntrack_buckets: {
    group: 'table',
    meaning: 'Size of the hash table that holds the entries; more buckets mean shorter lookups at the cost of memory.',
    unit: 'buckets',
    kernelDefault: { derived: 'sized from memory at boot (262144 with 4 GiB or more)' },
    takesEffect: 'at once: the kernel resizes the hash table',
    accepts: { min: 1, max: INT_MAX },
    initialNamespaceOnly: true,
  },
  nf_conntrack_expect_max: {
    group: 'table',
    meaning: 'Most expectations (related connections announced by helpers such as FTP) the table may hold.',
    unit: 'expectations',
    kernelDefault: { derived: 'nf_conntrack_buckets / 64 at boot' },
    takesEffect: TAKES_EFFECT.now,
    accepts: { min: 1, max: INT_MAX },
    initialNamespaceOnly: true,
  },
  nf_conntrack_count: {
    group: 'table',
    meaning: 'Entries in the table now (of this namespace).',
    unit: 'entries',
    kernelDefault: { derived: 'not a setting' },
    takesEffect: TAKES_EFFECT.never,
    fixed: 'statistic',
  },
  nf_conntrack_acct: feature('Count bytes and packets per connection and direction.', '0'),
  nf_conntrack_timestamp: feature('Record when each connection started (and, at its end, stopped).', '0'),
  nf_conntrack_events: {
    group: 'features',
    meaning: 'Report connection events to listeners (the console\'s history needs 1: in auto mode, connections created while nobody listened never report their end).',
    unit: 'mode',
    kernelDefault: { value: '2' },
    takesEffect: TAKES_EFFECT.newConnections,
    accepts: { min: 0, max: 2, choices: { 0: 'off', 1: 'on', 2: 'auto (only while someone listens)' } },
  },
  nf_conntrack_checksum: feature('Verify checksums of incoming packets; packets with a bad checksum are not tracked (marked invalid).', '1', TAKES_EFFECT.nextPacket),
  nf_conntrack_log_invalid: {
    group: 'features',
    meaning: 'Log packets conntrack considers invalid, for this IP protocol number (0 none, 6 TCP, 17 UDP, 255 every protocol).',
    unit: 'protocol number',
    kernelDefault: { value: '0' },
    takesEffect: TAKES_EFFECT.now,
    accepts: u8,
  },
  nf_conntrack_tcp_loose: {
    group: 'tcp',
    meaning: 'Pick up connections already in progress (mid-stream, e.g. after a reboot or a flush) instead of treating their packets as invalid.',
    unit: 'on/off',
    kernelDefault: { value: '1' },
    takesEffect: TAKES_EFFECT.nextPacket,
    accepts: onOff,
  },
  nf_conntrack_tcp_be_liberal: {
    group: 'tcp',
    meaning: 'Accept TCP packets outside the tracked window (only RSTs are still checked); helps with broken middleboxes, weakens the check.',
    unit: 'on/off',
    kernelDefault: { value: '0' },
    takesEffect: TAKES_EFFECT.nextPacket,
    accepts: onOff,
  },
  nf_conntrack_tcp_ignore_invalid_rst: {
    group: 'tcp',
    meaning: 'Ignore RSTs outside the window instead of marking them invalid (protects entries from forged resets).',
    unit: 'on/off',
    kernelDefault: { value: '0' },
    takesEffect: TAKES_EFFECT.nextPacket,
    accepts: onOff,
  },
  nf_conntrack_tcp_max_retrans: {
    group: 'tcp',
    meaning: 'Retransmissions without an ACK from the other side after which the entry gets the max_retrans timeout.',
    unit: 'retransmissions',
    kernelDefault: { value: '3' },
    takesEffect: TAKES_EFFECT.nextPacket,
    accepts: u8,
  },
  nf_conntrack_tcp_timeout_syn_sent: tcpTimeout('SYN_SENT', 'the client sent SYN and no answer came yet', 120),
  nf_conntrack_tcp_timeout_syn_recv: tcpTimeout('SYN_RECV', 'the server answered SYN/ACK, the final ACK is missing', 60),
  nf_conntrack_tcp_timeout_established: tcpTimeout('ESTABLISHED', 'an open connection without traffic (5 days by default)', 432_000),
  nf_conntrack_tcp_timeout_fin_wait: tcpTimeout('FIN_WAIT', 'one side sent FIN', 120),
  nf_conntrack_tcp_timeout_close_wait: tcpTimeout('CLOSE_WAIT', 'the other side acknowledged the FIN', 60),
  nf_conntrack_tcp_timeout_last_ack: tcpTimeout('LAST_ACK', 'both sides sent FIN, the last ACK is missing', 30),
  nf_conntrack_tcp_timeout_time_wait: tcpTimeout('TIME_WAIT', 'closed, waiting for late packets', 120),
  nf_conntrack_tcp_timeout_close: tcpTimeout('CLOSE', 'after a RST', 10),
  nf_conntrack_tcp_timeout_max_retrans: tcpTimeout('retransmitting', 'after tcp_max_retrans retransmissions without an ACK', 300),
  nf_conntrack_tcp_timeout_unacknowledged: tcpTimeout('unacknowledged', 'data was sent and is not acknowledged', 300),
  nf_conntrack_udp_timeout: timeout('UDP: a flow that has seen packets in one direction only (or one reply)', 30),
  nf_conntrack_udp_timeout_stream: timeout('UDP stream: a flow with traffic in both directions (e.g. VPN, VoIP)', 120),
  nf_conntrack_icmp_timeout: timeout('ICMP: an echo request/reply exchange', 30),
  nf_conntrack_icmpv6_timeout: timeout('ICMPv6: an echo request/reply exchange', 30),
  nf_conntrack_generic_timeout: timeout('Any other protocol conntrack has no tracker for', 600),
  nf_conntrack_gre_timeout: timeout('GRE (PPTP): a flow seen in one direction', 30),
  nf_conntrack_gre_timeout_stream: timeout('GRE (PPTP): a flow with traffic in both directions', 180),
  nf_conntrack_sctp_timeout_closed: sctpTimeout('CLOSED', 10),
  nf_conntrack_sctp_timeout_cookie_wait: sctpTimeout('COOKIE_WAIT', 3),
  nf_conntrack_sctp_timeout_cookie_echoed: sctpTimeout('COOKIE_ECHOED', 3),
  nf_conntrack_sctp_timeout_established: sctpTimeout('ESTABLISHED', 210),
  nf_conntrack_sctp_timeout_shutdown_sent: sctpTimeout('SHUTDOWN_SENT', 3),
  nf_conntrack_sctp_timeout_shutdown_recd: sctpTimeout('SHUTDOWN_RECD', 3),
  nf_conntrack_sctp_timeout_shutdown_ack_sent: sctpTimeout('SHUTDOWN_ACK_SENT', 3),
  nf_conntrack_sctp_timeout_heartbeat_sent: sctpTimeout('HEARTBEAT_SENT', 30),
  nf_conntrack_frag6_timeout: {
    group: 'ipv6-fragments',
    meaning: 'How long the fragments of one IPv6 packet are kept while waiting for the rest.',
    unit: 'seconds',
    kernelDefault: { value: '60' },
    takesEffect: TAKES_EFFECT.now,
    accepts: seconds,
  },
  nf_conntrack_frag6_high_thresh: {
    group: 'ipv6-fragments',
    meaning: 'Memory for IPv6 fragments awaiting reassembly; above it new fragments are dropped.',
    unit: 'bytes',
    kernelDefault: { value: '4194304' },
    takesEffect: TAKES_EFFECT.now,
    accepts: { min: 0, max: Number.MAX_SAFE_INTEGER, bound: { min: 'nf_conntrack_frag6_low_thresh' } },
  },
  nf_conntrack_frag6_low_thresh: {
    group: 'ipv6-fragments',
    meaning: 'The memory use that fragment eviction brings the reassembly queue back down to.',
    unit: 'bytes',
    kernelDefault: { value: '3145728' },
    takesEffect: TAKES_EFFECT.now,
    accepts: { min: 0, max: Number.MAX_SAFE_INTEGER, bound: { max: 'nf_conntrack_frag6_high_thresh' } },
  },
  nf_hooks_lwtunnel: {
    group: 'other',
    meaning: 'Run netfilter hooks for lightweight-tunnel (seg6, ...) traffic. Global, and once on it cannot be switched off.',
    unit: 'on/off',
    kernelDefault: { value: '0' },
    takesEffect: TAKES_EFFECT.now,
    fixed: 'unmanaged',
  },
};

const UNKNOWN: Omit<SettingInfo, 'meaning'> = { group: 'other', unit: '', kernelDefault: { derived: 'unknown' }, takesEffect: 'unknown', fixed: 'unmanaged' };

/** What the console knows about a setting (its name relative to net.netfilter, "nf_log.2" for nf_log/2). */
export function settingInfo(name: string): SettingInfo & { known: boolean } {
  const known = KNOWN[name];
  if (known) return { ...known, known: true };
  const logger = /^nf_log\.(\d+)$/.exec(name);
  if (logger) {
    return { ...UNKNOWN, meaning: `The packet logger used for address family ${logger[1]} (NONE, or a loaded nf_log module).`, unit: 'logger name', takesEffect: TAKES_EFFECT.now, known: true };
  }
  return { ...UNKNOWN, meaning: 'Not known to this console version: listed as the kernel shows it.', known: false };
}

/** The reason the console gives for a setting it never changes. */
export function fixedReasonText(reason: FixedReason, name: string): string {
  switch (reason) {
    case 'statistic':
      return `${name} is a count the kernel keeps, not a setting`;
    case 'global':
      return `${name} is global: outside the initial namespace the kernel shows it read-only; change it on the host (sysctl -w net.netfilter.${name}=VALUE, kept in /etc/sysctl.d/)`;
    case 'unmanaged':
      return `the console does not change ${name} (not a conntrack setting it knows the allowed values of); use sysctl`;
  }
}

/** The allowed range as a sentence fragment: "a whole number of seconds from 1 to 2147483". */
export function rangeText(info: SettingInfo, bounds: { min: number; max: number }): string {
  const choices = info.accepts?.choices;
  if (choices) return `one of ${Object.entries(choices).map(([value, label]) => `${value} (${label})`).join(', ')}`;
  const unit = info.unit === 'seconds' || info.unit === 'bytes' ? ` of ${info.unit}` : '';
  return `a whole number${unit} from ${bounds.min} to ${bounds.max}`;
}

/**
 * Checks a requested value against the setting's range; `current` gives the values of the settings a range depends
 * on (the fragment thresholds bound each other). Returns the text to write; throws ValidationError naming the
 * setting and the allowed range.
 */
export function validateSettingValue(name: string, value: number | string, current: (name: string) => string | undefined): string {
  const info = settingInfo(name);
  const range = settingRange(name, current);
  if (!range) throw new ValidationError('name', fixedReasonText(info.fixed ?? 'unmanaged', name));
  const text = typeof value === 'number' ? String(value) : value.trim();
  const number = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
  const inRange = Number.isSafeInteger(number) && number >= range.min && number <= range.max && (!range.choices || number in range.choices);
  if (!inRange) throw new ValidationError('value', `net.netfilter.${name} must be ${rangeText(info, range)} (got ${JSON.stringify(value)})`);
  return String(number);
}

/** The range a setting accepts now ("from 1 to 2147483"); undefined for the settings the console never changes. */
export function settingRange(name: string, current: (name: string) => string | undefined): { min: number; max: number; choices?: Record<number, string> } | undefined {
  const accepts = settingInfo(name).accepts;
  if (!accepts) return undefined;
  const bound = (setting: string | undefined, fallback: number) => {
    const value = setting === undefined ? undefined : Number(current(setting));
    return value === undefined || !Number.isSafeInteger(value) ? fallback : value;
  };
  const min = Math.max(accepts.min, bound(accepts.bound?.min, accepts.min));
  const max = Math.min(accepts.max, bound(accepts.bound?.max, accepts.max));
  return { min, max, ...(accepts.choices ? { choices: accepts.choices } : {}) };
}
