// The settings catalog and the persistence line: what a value may be, how a refusal names the setting and its
// range, which setting is never changed, and which line keeps a change across a reboot in each kind of namespace.
import { describe, expect, it } from 'vitest';
import { settingInfo, settingRange, sysctlPath, validateSettingValue, ValidationError } from '@/lib/conntrack';
import { persistenceFor } from '@/lib/console/settings';

const none = () => undefined;

function refusal(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('validateSettingValue', () => {
  it.each([
    ['nf_conntrack_udp_timeout', 45, '45'],
    ['nf_conntrack_udp_timeout', ' 60 ', '60'],
    ['nf_conntrack_tcp_timeout_established', '2147483', '2147483'],
    ['nf_conntrack_acct', 1, '1'],
    ['nf_conntrack_events', '2', '2'],
    ['nf_conntrack_log_invalid', 255, '255'],
  ])('%s = %j is written as %s', (name, value, written) => {
    expect(validateSettingValue(name, value, none)).toBe(written);
  });

  it.each([
    ['nf_conntrack_udp_timeout', 0, 'net.netfilter.nf_conntrack_udp_timeout must be a whole number of seconds from 1 to 2147483 (got 0)'],
    ['nf_conntrack_udp_timeout', 2147484, 'from 1 to 2147483'],
    ['nf_conntrack_udp_timeout', '1e3', 'from 1 to 2147483 (got "1e3")'],
    ['nf_conntrack_udp_timeout', 1.5, 'from 1 to 2147483'],
    ['nf_conntrack_udp_timeout', '-5', 'from 1 to 2147483'],
    ['nf_conntrack_acct', 2, 'net.netfilter.nf_conntrack_acct must be one of 0 (off), 1 (on) (got 2)'],
    ['nf_conntrack_events', 3, 'one of 0 (off), 1 (on), 2 (auto'],
    ['nf_conntrack_tcp_max_retrans', 256, 'a whole number from 0 to 255'],
  ])('%s = %j is refused, naming the setting and the range', (name, value, message) => {
    const error = refusal(() => validateSettingValue(name, value, none));
    expect(error.field).toBe('value');
    expect(error.message).toContain(message);
  });

  it('the IPv6 fragment thresholds bound each other by their current values', () => {
    const current = (name: string) => ({ nf_conntrack_frag6_low_thresh: '3145728', nf_conntrack_frag6_high_thresh: '4194304' })[name];
    expect(settingRange('nf_conntrack_frag6_high_thresh', current)).toEqual({ min: 3145728, max: Number.MAX_SAFE_INTEGER });
    expect(settingRange('nf_conntrack_frag6_low_thresh', current)).toEqual({ min: 0, max: 4194304 });
    expect(refusal(() => validateSettingValue('nf_conntrack_frag6_high_thresh', 1000, current)).message).toContain('from 3145728 to');
    expect(validateSettingValue('nf_conntrack_frag6_low_thresh', 1000, current)).toBe('1000');
  });

  it('settings the console never changes are refused by name, with the reason', () => {
    expect(refusal(() => validateSettingValue('nf_conntrack_count', 5, none)).message).toContain('a count the kernel keeps');
    expect(refusal(() => validateSettingValue('nf_hooks_lwtunnel', 1, none)).field).toBe('name');
    expect(refusal(() => validateSettingValue('nf_conntrack_brand_new', 1, none)).message).toContain('does not change nf_conntrack_brand_new');
  });
});

describe('settingInfo', () => {
  it('explains known settings and lists unknown ones as unknown', () => {
    expect(settingInfo('nf_conntrack_tcp_timeout_established')).toMatchObject({ group: 'timeouts', unit: 'seconds', kernelDefault: { value: '432000' }, known: true });
    expect(settingInfo('nf_conntrack_max')).toMatchObject({ group: 'table', initialNamespaceOnly: true });
    expect(settingInfo('nf_conntrack_acct').takesEffect).toContain('created afterwards');
    expect(settingInfo('nf_conntrack_udp_timeout').takesEffect).toContain('next packet');
    expect(settingInfo('nf_log.2')).toMatchObject({ group: 'other', known: true, fixed: 'unmanaged' });
    expect(settingInfo('nf_conntrack_brand_new')).toMatchObject({ group: 'other', known: false, fixed: 'unmanaged' });
  });
});

describe('sysctlPath', () => {
  it('maps dotted names to files and refuses anything that is not a sysctl name', () => {
    expect(sysctlPath('nf_conntrack_max')).toBe('/proc/sys/net/netfilter/nf_conntrack_max');
    expect(sysctlPath('nf_log.2')).toBe('/proc/sys/net/netfilter/nf_log/2');
    for (const bad of ['../../kernel/panic', 'nf_log/2', '', 'a..b', 'NF_CONNTRACK_MAX']) expect(() => sysctlPath(bad)).toThrow(ValidationError);
  });
});

describe('persistenceFor', () => {
  const key = 'net.netfilter.nf_conntrack_udp_timeout';
  it('the initial namespace: a line for /etc/sysctl.d', () => {
    const p = persistenceFor({ name: null, initial: true }, key, '60');
    expect(p).toMatchObject({ kind: 'sysctl.d', text: 'net.netfilter.nf_conntrack_udp_timeout = 60' });
    expect(p.hint).toContain('/etc/sysctl.d/');
  });
  it('a named namespace: ip netns exec; a path: nsenter; quoting what a shell would split', () => {
    expect(persistenceFor({ name: 'router', initial: false }, key, '60').text).toBe('ip netns exec router sysctl -w net.netfilter.nf_conntrack_udp_timeout=60');
    expect(persistenceFor({ name: '/run/netns/fw', initial: false }, key, '60').text).toBe('nsenter --net=/run/netns/fw sysctl -w net.netfilter.nf_conntrack_udp_timeout=60');
    expect(persistenceFor({ name: "it's mine", initial: false }, key, '60').text).toBe("ip netns exec 'it'\\''s mine' sysctl -w net.netfilter.nf_conntrack_udp_timeout=60");
  });
  it("the console's own namespace when it is not the initial one (a container): sysctl -w inside it", () => {
    expect(persistenceFor({ name: null, initial: false }, key, '60')).toMatchObject({ kind: 'command', text: 'sysctl -w net.netfilter.nf_conntrack_udp_timeout=60' });
  });
});
