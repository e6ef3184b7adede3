// deploy/wan-down-cleanup.sh against the lab after a failover: run with wan1's two addresses (as a hook would
// when wan1 goes down), it removes exactly the entries NATed to wan1, both families, and nothing else.
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, failover, generateTraffic, type Lab } from '@/lib/lab';
import { listAll, listWithConntrack, runCommand, type OracleEntry } from '../support/oracle';
import { startServer, type TestServer } from '../support/server';

const script = join(resolve(__dirname, '../..'), 'deploy/wan-down-cleanup.sh');
const idsOf = (entries: OracleEntry[]): number[] => entries.map((e) => e.id ?? -1).sort((a, b) => a - b);

describe('the WAN-down cleanup hook', () => {
  let lab: Lab | undefined;
  let server: TestServer | undefined;

  beforeAll(async () => {
    lab = await createLab();
    await generateTraffic(lab, { kinds: ['tcp-established', 'tcp-idle', 'udp-replied', 'udp-unreplied', 'icmp-echo'] });
    await failover(lab);
    await generateTraffic(lab, { kinds: ['tcp-established', 'tcp-idle', 'udp-replied', 'icmp-echo'] });
    server = await startServer({ netns: lab.namespaces.router });
  });
  afterAll(async () => {
    await server?.stop();
    await lab?.destroy();
  });

  it('removes exactly the entries NATed to the old uplink, IPv4 and IPv6', async () => {
    if (!lab || !server) throw new Error('no lab');
    const router = lab.namespaces.router;
    const old = lab.addresses.wan1.router;
    const before = await listAll(router);
    const stale = [...(await listWithConntrack({ netns: router, args: ['-q', old.ipv4] })), ...(await listWithConntrack({ netns: router, args: ['-q', old.ipv6] }))];
    expect(stale.filter((e) => e.family === 'ipv4').length).toBeGreaterThan(2);
    expect(stale.filter((e) => e.family === 'ipv6').length).toBeGreaterThan(2);

    // dash: the script must be plain POSIX sh.
    const run = await runCommand(['env', `CONNTRACK_CONSOLE_URL=${server.url}`, `CONNTRACK_CONSOLE_TOKEN=${server.admin.token}`, 'CONNTRACK_CONSOLE_TOKEN_FILE=/nonexistent', 'dash', script, old.ipv4, old.ipv6]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toContain(`removed stale entries NATed to ${old.ipv4}`);
    expect(run.stderr).toContain(`removed stale entries NATed to ${old.ipv6}`);
    expect(run.stderr).not.toContain(server.admin.token);

    const after = await listAll(router);
    expect(after.filter((e) => e.reply.dst === old.ipv4 || e.reply.dst === old.ipv6)).toEqual([]);
    const staleIds = new Set(idsOf(stale));
    expect(idsOf(after)).toEqual(idsOf(before).filter((id) => !staleIds.has(id)));
  });

  it('fails (exit 1) with a wrong token and says so, and refuses a non-address (exit 1) without calling the API', async () => {
    if (!lab || !server) throw new Error('no lab');
    const wrong = await runCommand(['env', `CONNTRACK_CONSOLE_URL=${server.url}`, 'CONNTRACK_CONSOLE_TOKEN=ctc_wrong', 'dash', script, lab.addresses.wan2.router.ipv4]);
    expect(wrong.exitCode).toBe(1);
    expect(wrong.stderr).toContain('failed (HTTP 401)');
    const bad = await runCommand(['env', `CONNTRACK_CONSOLE_URL=${server.url}`, 'CONNTRACK_CONSOLE_TOKEN=x', 'dash', script, '1.2.3.4"}']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('not an IP address');
    expect((await runCommand(['dash', script])).exitCode).toBe(2);
  });
});
