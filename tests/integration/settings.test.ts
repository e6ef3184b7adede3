// The conntrack settings against the real kernel: what lib/conntrack reads is what `sysctl -n` shows inside the
// namespace, a change lands there and nowhere else, the catalog's defaults and ranges are the kernel's, the
// sandboxes the systemd unit uses give the right "read-only here" state; then the API of the real server
// (changes, refusals, audit).
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNetfilterSysctls, settingInfo, validateSettingValue, writeNetfilterSysctl, ValidationError, type NetfilterSysctls } from '@/lib/conntrack';
import type { ApiErrorBody, ApiSettings, SettingChange } from '@/lib/console';
import { createToken } from '../support/auth';
import { createTestNamespace, runCommand, type TestNamespace } from '../support/oracle';
import { startServer, type TestServer } from '../support/server';

const repoRoot = resolve(__dirname, '../..');
const HOST_UDP_TIMEOUT = '/proc/sys/net/netfilter/nf_conntrack_udp_timeout';

/** The host's own value: read only, to prove a change never reached it. */
const hostValue = (path = HOST_UDP_TIMEOUT) => readFileSync(path, 'utf8').trim();

async function sysctlN(ns: TestNamespace, names: string[]): Promise<string[]> {
  const r = await ns.exec(['sysctl', '-n', ...names.map((n) => `net.netfilter.${n}`)]);
  if (r.exitCode !== 0) throw new Error(r.stderr);
  return r.stdout.replace(/\n$/, '').split('\n');
}

/** Every file under /proc/sys/net/netfilter as the namespace has it, as dotted names. */
async function filesIn(ns: TestNamespace): Promise<string[]> {
  const r = await ns.exec(['find', '/proc/sys/net/netfilter', '-type', 'f']);
  if (r.exitCode !== 0) throw new Error(r.stderr);
  return r.stdout
    .trim()
    .split('\n')
    .map((path) => path.slice('/proc/sys/net/netfilter/'.length).replaceAll('/', '.'))
    .sort();
}

/** The helper script under a sandbox command (a mount namespace with a read-only /proc/sys, another user). */
async function childRead(prefix: string[], netns: string, assignment?: string): Promise<{ sysctls: NetfilterSysctls; write?: { before: string; after: string } | { error: string } }> {
  const script = join(repoRoot, 'tests/support/netfilter-sysctls.ts');
  const r = await runCommand([...prefix, process.execPath, '--import', 'tsx', script, netns, ...(assignment ? [assignment] : [])]);
  if (r.exitCode !== 0) throw new Error(`child failed (${r.exitCode}): ${r.stderr}`);
  return JSON.parse(r.stdout) as { sysctls: NetfilterSysctls; write?: { before: string; after: string } | { error: string } };
}

// What systemd's ProtectKernelTunables=yes does to /proc/sys, and what ReadWritePaths=/proc/sys/net/netfilter adds.
const READ_ONLY_PROC_SYS = 'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys';
const WRITABLE_NETFILTER = 'mount --bind /proc/sys/net/netfilter /proc/sys/net/netfilter && mount -o remount,bind,rw /proc/sys/net/netfilter';
const sandbox = (script: string) => ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', `${script} && exec "$@"`, 'sandbox'];

describe('reading and writing net.netfilter in a namespace', () => {
  let ns: TestNamespace;
  beforeAll(async () => {
    // No sysctl changed: a fresh namespace shows the kernel's defaults.
    ns = await createTestNamespace('ctc-settings', {});
  });
  afterAll(async () => {
    await ns?.dispose();
  });

  it('lists every file under /proc/sys/net/netfilter of the namespace, each value equal to sysctl -n there', async () => {
    const read = readNetfilterSysctls(ns.name);
    const names = read.values.map((v) => v.name);
    expect([...names].sort()).toEqual(await filesIn(ns));
    expect(names).toContain('nf_conntrack_tcp_timeout_established');
    expect(read.values.map((v) => v.value)).toEqual(await sysctlN(ns, names));
    expect(read.initial).toBe(false);
    expect(readNetfilterSysctls().initial, 'the test runs in the initial namespace').toBe(true);
  });

  it('the catalog defaults are what a fresh namespace has', () => {
    const read = readNetfilterSysctls(ns.name);
    const checked = read.values.filter((v) => {
      const info = settingInfo(v.name);
      return 'value' in info.kernelDefault && !info.fixed;
    });
    expect(checked.length).toBeGreaterThan(30);
    for (const v of checked) expect({ name: v.name, value: v.value }).toEqual({ name: v.name, value: (settingInfo(v.name).kernelDefault as { value: string }).value });
  });

  it('the global limits are read-only outside the initial namespace, the per-namespace settings writable', () => {
    const byName = new Map(readNetfilterSysctls(ns.name).values.map((v) => [v.name, v]));
    for (const name of ['nf_conntrack_max', 'nf_conntrack_buckets', 'nf_conntrack_expect_max', 'nf_conntrack_count']) expect(byName.get(name)?.blocked).toBe('kernel-read-only');
    for (const name of ['nf_conntrack_udp_timeout', 'nf_conntrack_acct', 'nf_conntrack_tcp_be_liberal']) expect(byName.get(name)?.blocked).toBeNull();
  });

  it('a write lands in the namespace and the host keeps its own value', async () => {
    const host = hostValue();
    const target = host === '41' ? '42' : '41';
    const written = writeNetfilterSysctl({ netns: ns.name, name: 'nf_conntrack_udp_timeout', value: target });
    expect(written).toEqual({ before: '30', after: target });
    expect(await sysctlN(ns, ['nf_conntrack_udp_timeout'])).toEqual([target]);
    expect(hostValue()).toBe(host);
    writeNetfilterSysctl({ netns: ns.name, name: 'nf_conntrack_udp_timeout', value: '30' });
  });

  it("the catalog's limits of the small settings are the kernel's: it takes the highest and refuses one more", async () => {
    const small = readNetfilterSysctls(ns.name).values.filter((v) => {
      const accepts = settingInfo(v.name).accepts;
      return v.blocked === null && accepts && accepts.max <= 255;
    });
    expect(small.map((v) => v.name)).toEqual(expect.arrayContaining(['nf_conntrack_acct', 'nf_conntrack_events', 'nf_conntrack_tcp_max_retrans', 'nf_conntrack_log_invalid']));
    for (const v of small) {
      const { max } = settingInfo(v.name).accepts as { max: number };
      expect(() => validateSettingValue(v.name, max + 1, () => undefined)).toThrow(ValidationError);
      const over = await ns.exec(['sh', '-c', `echo ${max + 1} > /proc/sys/net/netfilter/${v.name}`]);
      expect(over.exitCode, `${v.name}=${max + 1} refused by the kernel`).not.toBe(0);
      writeNetfilterSysctl({ netns: ns.name, name: v.name, value: String(max) });
      expect(await sysctlN(ns, [v.name])).toEqual([String(max)]);
      writeNetfilterSysctl({ netns: ns.name, name: v.name, value: v.value });
    }
  });

  it('a read-only /proc/sys (ProtectKernelTunables=yes) reads fine and blocks every write', async () => {
    const child = await childRead(sandbox(READ_ONLY_PROC_SYS), ns.name, 'nf_conntrack_udp_timeout=77');
    const byName = new Map(child.sysctls.values.map((v) => [v.name, v]));
    expect(child.sysctls.values.map((v) => v.value)).toEqual(await sysctlN(ns, child.sysctls.values.map((v) => v.name)));
    expect(byName.get('nf_conntrack_udp_timeout')?.blocked).toBe('read-only-mount');
    expect(byName.get('nf_conntrack_acct')?.blocked).toBe('read-only-mount');
    expect(child.write).toMatchObject({ error: expect.stringContaining('EROFS') });
    expect(await sysctlN(ns, ['nf_conntrack_udp_timeout'])).toEqual(['30']);
  });

  it('ReadWritePaths=/proc/sys/net/netfilter on top of it makes the console own namespace writable again', async () => {
    // As the unit runs: the console in the namespace it manages, the mounts made there.
    const child = await childRead(['ip', 'netns', 'exec', ns.name, ...sandbox(`${READ_ONLY_PROC_SYS} && ${WRITABLE_NETFILTER}`)], '-', 'nf_conntrack_udp_timeout=78');
    expect(child.sysctls.initial).toBe(false);
    expect(child.write).toEqual({ before: '30', after: '78' });
    expect(await sysctlN(ns, ['nf_conntrack_udp_timeout'])).toEqual(['78']);
    const other = await runCommand(['ip', 'netns', 'exec', ns.name, ...sandbox(`${READ_ONLY_PROC_SYS} && ${WRITABLE_NETFILTER}`), 'sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']);
    expect(other.exitCode, 'the rest of /proc/sys stays read-only').not.toBe(0);
    writeNetfilterSysctl({ netns: ns.name, name: 'nf_conntrack_udp_timeout', value: '30' });
  });

  it('CAP_NET_ADMIN is enough to write net.netfilter for a user that is not root; without it the state is no-privilege', async () => {
    const asNobody = (caps: string) => ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', `--inh-caps=${caps}`, `--ambient-caps=${caps}`];
    // CAP_SYS_ADMIN only lets the child enter the test's namespace (the unit manages its own and needs none).
    const without = await childRead(asNobody('+sys_admin'), ns.name, 'nf_conntrack_udp_timeout=79');
    expect(without.sysctls.values.find((v) => v.name === 'nf_conntrack_udp_timeout')?.blocked).toBe('no-privilege');
    expect(without.write).toMatchObject({ error: expect.stringContaining('EACCES') });
    const withCap = await childRead(asNobody('+sys_admin,+net_admin'), ns.name, 'nf_conntrack_udp_timeout=80');
    expect(withCap.write).toEqual({ before: '30', after: '80' });
    expect(await sysctlN(ns, ['nf_conntrack_udp_timeout'])).toEqual(['80']);
    writeNetfilterSysctl({ netns: ns.name, name: 'nf_conntrack_udp_timeout', value: '30' });
  });
});

describe('the settings API of the real server', () => {
  let ns: TestNamespace;
  let server: TestServer;
  let viewer: string;

  beforeAll(async () => {
    ns = await createTestNamespace('ctc-settings-api', {});
    server = await startServer({ netns: ns.name });
    viewer = await createToken(server.dataDir, { name: 'viewer-token', role: 'viewer' });
  });
  afterAll(async () => {
    await server?.stop();
    await ns?.dispose();
  });

  async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown, auth: Record<string, string> = server.authHeaders(), at: TestServer = server) {
    const response = await fetch(`${at.url}${path}`, {
      method,
      headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as T };
  }

  it('GET lists every setting of the managed namespace, grouped, each value equal to sysctl -n there', async () => {
    const { status, body } = await call<ApiSettings>('GET', '/api/settings', undefined, { authorization: `Bearer ${viewer}` });
    expect(status).toBe(200);
    expect(body.namespace).toEqual({ name: ns.name, initial: false });
    expect(body.readOnlyHere).toBeNull();
    expect(body.groups.map((g) => g.id)).toEqual(expect.arrayContaining(['table', 'features', 'tcp', 'timeouts']));
    const settings = body.groups.flatMap((g) => g.settings);
    expect(settings.map((s) => s.name).sort()).toEqual(await filesIn(ns));
    expect(settings.map((s) => s.value)).toEqual(await sysctlN(ns, settings.map((s) => s.name)));
    const max = settings.find((s) => s.name === 'nf_conntrack_max');
    expect(max).toMatchObject({ writable: false, readOnly: { reason: 'global', message: expect.stringContaining('change it on the host') } });
    const udp = settings.find((s) => s.name === 'nf_conntrack_udp_timeout');
    expect(udp).toMatchObject({ writable: true, unit: 'seconds', kernelDefault: '30', range: { min: 1, max: 2147483 }, takesEffect: expect.stringContaining('next packet') });
  });

  it('POST changes the setting in the namespace, not on the host, audited with both values, and says how to keep it', async () => {
    const host = hostValue();
    const target = host === '47' ? '48' : '47';
    const { status, body } = await call<SettingChange>('POST', '/api/settings', { name: 'net.netfilter.nf_conntrack_udp_timeout', value: Number(target) });
    expect(status).toBe(200);
    expect(body).toMatchObject({ before: '30', after: target, setting: { name: 'nf_conntrack_udp_timeout', value: target } });
    expect(body.persistence).toMatchObject({ kind: 'command', text: `ip netns exec ${ns.name} sysctl -w net.netfilter.nf_conntrack_udp_timeout=${target}` });
    expect(await sysctlN(ns, ['nf_conntrack_udp_timeout'])).toEqual([target]);
    expect(hostValue()).toBe(host);
    const audit = await call<{ items: { action: string; target: string; outcome: string; actor: string; details: Record<string, unknown> }[] }>('GET', '/api/audit?action=settings.change');
    expect(audit.body.items[0]).toMatchObject({
      action: 'settings.change',
      target: 'net.netfilter.nf_conntrack_udp_timeout',
      outcome: 'ok',
      details: { setting: 'net.netfilter.nf_conntrack_udp_timeout', before: '30', after: target, namespace: ns.name },
    });
  });

  it('refuses an out-of-range value (400 naming the setting and the range), an unknown setting, a viewer, a read-only setting (409)', async () => {
    const before = await sysctlN(ns, ['nf_conntrack_tcp_timeout_established']);
    const range = await call<ApiErrorBody>('POST', '/api/settings', { name: 'nf_conntrack_tcp_timeout_established', value: 0 });
    expect(range.status).toBe(400);
    expect(range.body.error).toMatchObject({ field: 'value', message: expect.stringContaining('net.netfilter.nf_conntrack_tcp_timeout_established must be a whole number of seconds from 1 to 2147483') });
    const text = await call<ApiErrorBody>('POST', '/api/settings', { name: 'nf_conntrack_tcp_timeout_established', value: 'soon' });
    expect(text.status).toBe(400);
    const unknown = await call<ApiErrorBody>('POST', '/api/settings', { name: 'nf_conntrack_helper', value: 1 });
    expect(unknown).toMatchObject({ status: 400, body: { error: { field: 'name', message: expect.stringContaining('no setting net.netfilter.nf_conntrack_helper') } } });
    const asViewer = await call<ApiErrorBody>('POST', '/api/settings', { name: 'nf_conntrack_tcp_timeout_established', value: 3600 }, { authorization: `Bearer ${viewer}` });
    expect(asViewer.status).toBe(403);
    const global = await call<ApiErrorBody>('POST', '/api/settings', { name: 'nf_conntrack_max', value: 1000 });
    expect(global).toMatchObject({ status: 409, body: { error: { code: 'setting_read_only', setting: 'net.netfilter.nf_conntrack_max', reason: 'global' } } });
    const count = await call<ApiErrorBody>('POST', '/api/settings', { name: 'nf_conntrack_count', value: 1 });
    expect(count).toMatchObject({ status: 409, body: { error: { reason: 'statistic' } } });
    expect(await sysctlN(ns, ['nf_conntrack_tcp_timeout_established'])).toEqual(before);
  });

  it('under a read-only /proc/sys the page says read-only here and a change is refused with the reason', async () => {
    const sandboxed = await startServer({ netns: ns.name, wrapper: sandbox(READ_ONLY_PROC_SYS) });
    try {
      const list = await call<ApiSettings>('GET', '/api/settings', undefined, sandboxed.authHeaders(), sandboxed);
      expect(list.status).toBe(200);
      expect(list.body.readOnlyHere).toMatchObject({ reason: 'read-only-mount', message: expect.stringContaining('ReadWritePaths=/proc/sys/net/netfilter') });
      const change = await call<ApiErrorBody>('POST', '/api/settings', { name: 'nf_conntrack_udp_timeout', value: 99 }, sandboxed.authHeaders(), sandboxed);
      expect(change).toMatchObject({ status: 409, body: { error: { reason: 'read-only-mount' } } });
      expect(await sysctlN(ns, ['nf_conntrack_udp_timeout'])).not.toEqual(['99']);
    } finally {
      await sandboxed.stop();
    }
  });
});
