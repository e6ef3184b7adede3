// The one hardened server entry (scripts/serve.ts): every documented way to run the console goes through it, and
// the rules it applies (lib/config/requests.ts).
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forbiddenQueryKey, hostAllowed } from '@/lib/config';

const repoRoot = resolve(__dirname, '../..');
const read = (path: string) => readFileSync(join(repoRoot, path), 'utf8');

describe('every documented start goes through scripts/serve.ts', () => {
  it('npm start, the demo, the systemd unit; nothing starts `next start`', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe('tsx scripts/serve.ts');
    expect(read('deploy/conntrack-console.service')).toMatch(/^ExecStart=\/usr\/bin\/node --import tsx scripts\/serve\.ts$/m);
    const demo = read('scripts/demo.ts');
    expect(demo).toContain("join(root, 'scripts/serve.ts')");
    expect(read('README.md')).toMatch(/sudo npm start -- /);
    for (const path of ['scripts/demo.ts', 'scripts/demo.sh', 'README.md', 'deploy/conntrack-console.service', 'package.json']) {
      expect(read(path), path).not.toMatch(/next['",\s]+start|next start/);
    }
  });
});

describe('the Host rule', () => {
  const rules = { listen: { host: '127.0.0.1', port: 3000 }, allowedOrigins: ['https://router.example.net'] };
  const http = { scheme: 'http' as const, localAddress: '127.0.0.1', localPort: 3000 };
  it.each([
    ['127.0.0.1:3000', true],
    ['localhost:3000', true],
    ['LOCALHOST', true],
    ['[::1]:3000', true],
    ['127.0.0.2:8080', true],
    ['other.example.net', false],
    ['evil.example:3000', false],
    ['10.0.0.1:3000', false],
    ['', false],
    ['127.0.0.1:3000/x', false],
    ['a b', false],
  ])('listening on 127.0.0.1:3000, Host %j: %s', (host, allowed) => {
    expect(hostAllowed(host, rules, http)).toBe(allowed);
  });

  it('an allowed origin\'s host (default port dropped); a missing Host is refused', () => {
    expect(hostAllowed('router.example.net', rules, { scheme: 'https' })).toBe(true);
    expect(hostAllowed('router.example.net:443', rules, { scheme: 'https' })).toBe(true);
    expect(hostAllowed('router.example.net:8443', rules, { scheme: 'https' })).toBe(false);
    expect(hostAllowed(undefined, rules, http)).toBe(false);
  });

  it('on a wildcard address: the local address the connection arrived on, never any name', () => {
    const wildcard = { listen: { host: '0.0.0.0', port: 3000 }, allowedOrigins: [] };
    const lan = { scheme: 'http' as const, localAddress: '::ffff:192.168.1.1', localPort: 3000 };
    expect(hostAllowed('192.168.1.1:3000', wildcard, lan)).toBe(true);
    expect(hostAllowed('0.0.0.0:3000', wildcard, lan)).toBe(false);
    expect(hostAllowed('rebind.evil.example:3000', wildcard, lan)).toBe(false);
    expect(hostAllowed('192.168.1.1:3001', wildcard, lan)).toBe(false);
  });
});

describe('query keys no input may use', () => {
  it('are found in the raw request target, before any parser drops them', () => {
    expect(forbiddenQueryKey('/api/connections?__proto__=x')).toBe('__proto__');
    expect(forbiddenQueryKey('/api/connections?limit=1&constructor=x')).toBe('constructor');
    expect(forbiddenQueryKey('/api/connections?limit=1&proto=x')).toBeUndefined();
    expect(forbiddenQueryKey('/api/connections')).toBeUndefined();
  });
});
