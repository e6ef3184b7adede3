// The ctconsole command as an administrator runs it (bin/ctconsole.mjs through tsx), on a temporary data dir:
// bad input is refused with a clear message and exit code 2, and nothing is created.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = resolve(__dirname, '../../bin/ctconsole.mjs');
let dir: string;

function ctconsole(args: string[], input = '') {
  const run = spawnSync(process.execPath, [bin, '--data-dir', dir, ...args], { input, encoding: 'utf8', cwd: tmpdir() });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ctc-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Each run starts node + tsx (about a second): give the multi-command cases room.
describe('ctconsole', { timeout: 60_000 }, () => {
  it('manages users: add (password from stdin), list, role, passwd, del', () => {
    expect(ctconsole(['user', 'list']).out).toContain('no users yet');
    const added = ctconsole(['user', 'add', 'alice', '--role', 'admin'], 'alice-password-1\n');
    expect(added).toMatchObject({ code: 0, out: 'user alice (admin) created\n' });
    expect(ctconsole(['user', 'add', 'bob', '--role=viewer'], 'bob-password-12\n').code).toBe(0);
    expect(ctconsole(['user', 'list']).out).toMatch(/alice\s+admin[\s\S]*bob\s+viewer/);
    expect(ctconsole(['user', 'role', 'bob', '--role', 'admin']).code).toBe(0);
    expect(ctconsole(['user', 'passwd', 'bob'], 'new-bob-password\n')).toMatchObject({ code: 0, out: expect.stringContaining('0 session(s) ended') });
    expect(ctconsole(['user', 'del', 'bob']).code).toBe(0);
    expect(ctconsole(['user', 'list']).out).not.toContain('bob');
  });

  it('manages tokens: the secret is printed once (stdout), never listed', () => {
    const created = ctconsole(['token', 'create', 'hotplug', '--role', 'admin']);
    expect(created.code).toBe(0);
    expect(created.out).toMatch(/^ctc_[A-Za-z0-9_-]{43}\n$/);
    expect(created.err).toContain('shown this once');
    const listed = ctconsole(['token', 'list']);
    expect(listed.out).toMatch(/hotplug\s+admin/);
    expect(listed.out).not.toContain(created.out.trim());
    expect(ctconsole(['token', 'revoke', 'hotplug']).out).toContain('revoked');
    expect(ctconsole(['token', 'list']).out).toMatch(/hotplug.*revoked/);
  });

  const bad: { name: string; args: string[]; input?: string; message: RegExp }[] = [
    { name: 'no command', args: [], message: /no command given[\s\S]*usage: ctconsole/ },
    { name: 'unknown command', args: ['user', 'dance'], message: /unknown command "user dance"/ },
    { name: 'unknown option', args: ['user', 'list', '--force'], message: /unknown option --force/ },
    { name: 'empty name', args: ['user', 'add', '', '--role', 'admin'], input: 'long-enough-pw\n', message: /name must not be empty/ },
    { name: 'name too long', args: ['user', 'add', 'a'.repeat(65), '--role', 'admin'], input: 'long-enough-pw\n', message: /at most 64 characters/ },
    { name: 'huge argument', args: ['user', 'add', 'a'.repeat(100_000), '--role', 'admin'], message: /100000 characters long/ },
    { name: 'name with a space', args: ['user', 'add', 'a b', '--role', 'admin'], input: 'long-enough-pw\n', message: /name may use letters/ },
    { name: 'two names', args: ['user', 'add', 'a', 'b', '--role', 'admin'], message: /one NAME only/ },
    { name: 'no name', args: ['user', 'del'], message: /give a NAME/ },
    { name: 'wrong role', args: ['user', 'add', 'carol', '--role', 'root'], input: 'long-enough-pw\n', message: /role must be one of viewer, admin/ },
    { name: 'missing role', args: ['user', 'add', 'carol'], input: 'long-enough-pw\n', message: /--role is required/ },
    { name: 'role without value', args: ['token', 'create', 'x', '--role'], message: /--role needs a value/ },
    { name: 'short password', args: ['user', 'add', 'carol', '--role', 'viewer'], input: 'short\n', message: /at least 10 characters/ },
    { name: 'huge password', args: ['user', 'add', 'carol', '--role', 'viewer'], input: `${'p'.repeat(1_000_000)}\n`, message: /at most 1024 characters/ },
    { name: 'no password on stdin', args: ['user', 'add', 'carol', '--role', 'viewer'], input: '', message: /no password on stdin/ },
    { name: 'existing user', args: ['user', 'add', 'alice', '--role', 'viewer'], input: 'long-enough-pw\n', message: /already exists/ },
    { name: 'existing token', args: ['token', 'create', 'hotplug', '--role', 'viewer'], message: /already exists/ },
  ];
  it.each(bad)('$name: exit 2 with a clear message', ({ args, input, message }) => {
    const run = ctconsole(args, input);
    expect(run.code).toBe(2);
    expect(run.err).toMatch(message);
    expect(run.err).not.toMatch(/\n\s+at /);
    expect(run.out).toBe('');
  });

  it('nothing was created by the refused commands', () => {
    expect(ctconsole(['user', 'list']).out).not.toContain('carol');
  });

  it('an unknown user or token: exit 1', () => {
    expect(ctconsole(['user', 'del', 'nobody'])).toMatchObject({ code: 1, err: expect.stringContaining('no user named "nobody"') });
    expect(ctconsole(['token', 'revoke', 'nothing'])).toMatchObject({ code: 1, err: expect.stringContaining('no token named "nothing"') });
  });
});
