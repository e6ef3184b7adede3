// The lab's life cycle against the real kernel: namespaces appear, are configured, and are always removed:
// on destroy, when the function given to withNamespace throws, on SIGTERM, and after a SIGKILLed run (by the next one).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { createLab, createNamespace, listNamespaces, parseNamespaceName, removeStaleLabs, withNamespace, type Lab } from '@/lib/lab';

const repoRoot = resolve(__dirname, '../..');
let scratch: string | undefined;
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  // Whatever a failed assertion left behind belongs to a dead child by now.
  await removeStaleLabs();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** Starts a separate Node process that creates a lab, prints its namespaces and waits to be killed. */
async function spawnLabProcess(): Promise<{ child: ChildProcess; namespaces: Lab['namespaces'] }> {
  scratch ??= await mkdtemp(join(tmpdir(), 'ctc-lab-test-'));
  const script = join(scratch, 'lab-child.mts');
  await writeFile(
    script,
    `import { createLab } from ${JSON.stringify(join(repoRoot, 'lib/lab/index.ts'))};\n` +
      'const lab = await createLab({ removeStale: false });\n' +
      'console.log(JSON.stringify(lab.namespaces));\n' +
      'setInterval(() => {}, 1000);\n',
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const line = await new Promise<string>((resolveLine, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolveLine);
    child.once('exit', (code) => reject(new Error(`lab child exited with ${code} before creating its lab`)));
  });
  return { child, namespaces: JSON.parse(line) as Lab['namespaces'] };
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

describe('lab life cycle', () => {
  it('creates three uniquely named, configured namespaces and removes all of them on destroy', async () => {
    const before = await listNamespaces();
    const lab = await createLab();
    try {
      const names = Object.values(lab.namespaces);
      expect(await listNamespaces()).toEqual(expect.arrayContaining(names));
      for (const name of names) {
        expect(name.startsWith(`${lab.name}-`)).toBe(true);
        expect(parseNamespaceName(name)?.pid).toBe(process.pid);
        expect(before).not.toContain(name);
      }
      const sysctl = async (key: string) => (await lab.exec('router', 'sysctl', ['-n', key])).stdout.trim();
      expect(await sysctl('net.netfilter.nf_conntrack_acct')).toBe('1');
      expect(await sysctl('net.netfilter.nf_conntrack_timestamp')).toBe('1');
      expect(await sysctl('net.ipv4.ip_forward')).toBe('1');
      expect(await sysctl('net.ipv6.conf.all.forwarding')).toBe('1');
      // The agents live inside the namespaces.
      expect((await lab.exec('lan', 'ip', ['netns', 'pids', lab.namespaces.lan])).stdout.trim()).not.toBe('');
    } finally {
      await lab.destroy();
    }
    const after = await listNamespaces();
    for (const name of Object.values(lab.namespaces)) expect(after).not.toContain(name);
    await lab.destroy();
  });

  it('two labs in one process do not share names', async () => {
    const [first, second] = await Promise.all([createLab(), createLab()]);
    try {
      expect(first.name).not.toBe(second.name);
    } finally {
      await Promise.all([first.destroy(), second.destroy()]);
    }
  });

  it('withNamespace removes its namespace even when the function throws', async () => {
    let name = '';
    await expect(
      withNamespace(async (namespace) => {
        name = namespace.name;
        expect(await listNamespaces()).toContain(name);
        throw new Error('assertion failed inside');
      }, { role: 'probe' }),
    ).rejects.toThrow('assertion failed inside');
    expect(name).toMatch(new RegExp(`^ctc-${process.pid}-[0-9a-f]{4}-probe$`));
    expect(await listNamespaces()).not.toContain(name);
  });

  it('createNamespace with tracking makes the kernel track traffic inside it', async () => {
    const namespace = await createNamespace({ role: 'tracked', tracking: true, sysctls: { 'net.netfilter.nf_conntrack_acct': '1' } });
    try {
      await namespace.exec('ping', ['-c', '1', '-W', '1', '127.0.0.1']);
      const { stdout } = await namespace.exec('conntrack', ['-L', '-p', 'icmp']);
      expect(stdout).toContain('src=127.0.0.1');
      expect((await namespace.exec('sysctl', ['-n', 'net.netfilter.nf_conntrack_acct'])).stdout.trim()).toBe('1');
    } finally {
      await namespace.destroy();
    }
    expect(await listNamespaces()).not.toContain(namespace.name);
  });

  it('a process stopped with SIGTERM removes its lab on the way out', async () => {
    const { child, namespaces } = await spawnLabProcess();
    expect(await listNamespaces()).toEqual(expect.arrayContaining(Object.values(namespaces)));
    child.kill('SIGTERM');
    await exited(child);
    const after = await listNamespaces();
    for (const name of Object.values(namespaces)) expect(after).not.toContain(name);
  });

  it("a SIGKILLed run's lab is left alone while its process lives and removed by the next run once it is dead", async () => {
    const { child, namespaces } = await spawnLabProcess();
    const names = Object.values(namespaces);
    expect(parseNamespaceName(namespaces.router)?.pid).toBe(child.pid);

    // Alive: another run's lab, not stale.
    expect(await removeStaleLabs()).not.toEqual(expect.arrayContaining([namespaces.router]));
    expect(await listNamespaces()).toEqual(expect.arrayContaining(names));

    child.kill('SIGKILL');
    await exited(child);
    expect(await listNamespaces()).toEqual(expect.arrayContaining(names));

    // The next createLab runs removeStaleLabs first.
    const lab = await createLab();
    try {
      const after = await listNamespaces();
      for (const name of names) expect(after).not.toContain(name);
    } finally {
      await lab.destroy();
    }
  });
});
