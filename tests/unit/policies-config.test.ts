// The `policies` setting: what a good list becomes, and the one line a bad policy gives - from the loader and from
// the real start script (exit 2 before anything listens). The WAN check against the managed namespace's interfaces
// is in tests/integration/policies.test.ts (it needs a namespace).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '@/lib/config';

const repoRoot = resolve(__dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'ctc-policies-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function fileWith(content: unknown): string {
  const path = join(dir, `c-${files++}.json`);
  writeFileSync(path, JSON.stringify(content));
  return path;
}

function errorOf(env: Record<string, string>): string {
  try {
    loadConfig({ env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`no error for ${JSON.stringify(env)}`);
}

const withPolicies = (policies: unknown, extra: Record<string, unknown> = {}) => ({ CONNTRACK_CONFIG: fileWith({ policies, ...extra }) });

describe('policies setting', () => {
  it('is empty by default and reads a file list with its defaults filled in', () => {
    expect(loadConfig({ env: {} }).policies).toEqual([]);
    const config = loadConfig({
      env: withPolicies([
        { name: 'wan2-address', on: 'address-removed', wan: 'wan2' },
        { name: 'sip', on: 'route-lost', wan: 'wan1', filter: 'protocol=udp  dport=5060', minIntervalSeconds: 10 },
        { name: 'back', on: 'failback', wan: 'wan1', filter: { protocol: 'tcp', dport: 443 }, dryRun: true },
        { name: 'nightly', on: 'schedule', every: '6h', filter: 'state=TIME_WAIT' },
      ]),
    });
    expect(config.policies).toEqual([
      { name: 'wan2-address', on: 'address-removed', wan: 'wan2', dryRun: false, minIntervalSeconds: 0 },
      { name: 'sip', on: 'route-lost', wan: 'wan1', filter: { text: 'protocol=udp dport=5060', fields: { protocol: 17, dport: { min: 5060, max: 5060 } } }, dryRun: false, minIntervalSeconds: 10 },
      { name: 'back', on: 'failback', wan: 'wan1', filter: { text: 'protocol=tcp dport=443', fields: { protocol: 6, dport: { min: 443, max: 443 } } }, dryRun: true, minIntervalSeconds: 0 },
      { name: 'nightly', on: 'schedule', everySeconds: 21_600, filter: { text: 'state=TIME_WAIT', fields: { state: ['TIME_WAIT'] } }, dryRun: false, minIntervalSeconds: 0 },
    ]);
  });

  it('comes from CONNTRACK_POLICIES as JSON too', () => {
    expect(loadConfig({ env: { CONNTRACK_POLICIES: '[{"name":"a","on":"failback","wan":"wan1"}]' } }).policies).toEqual([{ name: 'a', on: 'failback', wan: 'wan1', dryRun: false, minIntervalSeconds: 0 }]);
  });

  it('refuses a bad policy with one line naming it and the reason, without echoing the list', () => {
    const cases: [unknown, string][] = [
      [[{ name: 'x', on: 'route-gone', wan: 'wan1' }], 'policy "x": on: unknown trigger "route-gone" (must be one of address-removed, route-lost, failback, schedule)'],
      [[{ name: 'sip', on: 'route-lost', wan: 'wan1', filter: 'protocol=udp dport=99999' }], 'policy "sip": filter: dport: a port must be 0..65535'],
      [[{ name: 'sip', on: 'route-lost', wan: 'wan1', filter: 'proto=udp' }], 'policy "sip": filter: "proto=udp" is not key=value with a filter key'],
      [[{ name: 'sip', on: 'route-lost', wan: 'wan1', filter: { protocol: 'quic' } }], 'policy "sip": filter: protocol: expected one of'],
      [[{ on: 'failback', wan: 'wan1' }], 'policy #1: name: must be a name'],
      [[{ name: 'a', on: 'failback' }], 'policy "a": wan: failback needs the WAN it watches'],
      [[{ name: 'a', on: 'failback', wan: 'wan1', every: '5m' }], 'policy "a": every: only a schedule has an interval'],
      [[{ name: 'a', on: 'schedule', filter: 'protocol=udp' }], 'policy "a": every: a schedule needs an interval'],
      [[{ name: 'a', on: 'schedule', every: '5m' }], 'policy "a": a schedule needs a filter or a wan'],
      [[{ name: 'a', on: 'schedule', every: 'weekly', filter: 'protocol=udp' }], 'policy "a": every: must be an interval such as "30s"'],
      [[{ name: 'a', on: 'failback', wan: 'wan1', minIntervalSeconds: -1 }], 'policy "a": minIntervalSeconds: must be a number of seconds 0..86400'],
      [[{ name: 'a', on: 'failback', wan: 'wan1', dryrun: true }], 'policy "a": unknown key "dryrun"'],
      [[{ name: 'a', on: 'failback', wan: 'wan1' }, { name: 'a', on: 'route-lost', wan: 'wan1' }], 'policy "a": the name is given twice'],
      ['address-removed', 'must be a JSON list of policies'],
    ];
    for (const [policies, reason] of cases) {
      const env = withPolicies(policies);
      const line = errorOf(env);
      expect(line.startsWith(`config: policies in ${env.CONNTRACK_CONFIG}: ${reason}`), line).toBe(true);
      expect(line).not.toContain('(got');
      expect(line).not.toContain('\n');
    }
  });

  it('refuses a WAN that is not among the configured ones', () => {
    const env = withPolicies([{ name: 'a', on: 'route-lost', wan: 'wan9' }], { wans: ['fiber=wan1', 'lte=wan2'] });
    expect(errorOf(env)).toBe(`config: policies in ${env.CONNTRACK_CONFIG}: policy "a": wan "wan9" is not a configured WAN (wans: fiber, lte)`);
    expect(loadConfig({ env: withPolicies([{ name: 'a', on: 'route-lost', wan: 'lte' }], { wans: ['fiber=wan1', 'lte=wan2'] }) }).policies[0].wan).toBe('lte');
  });

  it('stops the real start with that line and exit status 2', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const key of Object.keys(env)) if (key.startsWith('CONNTRACK_')) delete env[key];
    Object.assign(env, { CONNTRACK_DATA_DIR: join(dir, 'data') }, withPolicies([{ name: 'x', on: 'route-gone', wan: 'wan1' }]));
    const result = await new Promise<{ code: number | null; stderr: string }>((done, fail) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'scripts/serve.ts')], { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', fail);
      child.on('close', (code) => done({ code, stderr }));
    });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([`config: policies in ${env.CONNTRACK_CONFIG}: policy "x": on: unknown trigger "route-gone" (must be one of address-removed, route-lost, failback, schedule)`]);
  }, 60_000);
});
