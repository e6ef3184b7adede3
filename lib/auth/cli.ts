// ctconsole: manage the console's users and API tokens on the server (bin/ctconsole.mjs runs this through tsx).
// Exit codes: 0 done, 1 the operation failed (no such user, database error), 2 bad usage or bad input.
import { parseArgs } from 'node:util';
import { userInfo } from 'node:os';
import { CLI_BUSY_TIMEOUT_MS, dataDir, sharedStore } from '@/lib/store';
import type { Actor, AuditRecord } from './audit';
import { AuthInputError, NotFoundError } from './errors';
import { PASSWORD_MAX, ROLES, type Role } from './roles';
import { createAuthService, type AuthService } from './service';
import { validName, validPassword, validRole } from './users';

const USAGE = `usage: ctconsole [--data-dir DIR] COMMAND

  user add NAME --role admin|viewer    create a user (password from stdin, or prompted on a terminal)
  user passwd NAME                     set a new password (ends the user's sessions)
  user role NAME --role admin|viewer   change a user's role
  user del NAME                        remove a user (ends its sessions)
  user list                            list users
  token create NAME --role admin|viewer
                                       create an API token for scripts; it is printed once, never again
  token list                           list tokens (never the secrets)
  token revoke NAME                    revoke a token

The database lives in --data-dir, else $CONNTRACK_DATA_DIR, else ./data.`;

class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface CliIo {
  stdin: NodeJS.ReadStream;
  out: (line: string) => void;
  err: (line: string) => void;
}

interface Parsed {
  dataDir?: string;
  words: string[];
  role?: string;
}

/** The longest argument accepted at all (names are far shorter; this only stops absurd input early). */
const MAX_ARG = 4096;

const OPTIONS = { role: { type: 'string' }, 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;

function parseCommandLine(argv: readonly string[]): Parsed {
  for (const arg of argv) if (arg.length > MAX_ARG) throw new UsageError(`an argument is ${arg.length} characters long: that is not a name`);
  // Not strict: the tokens are checked here, so a mistake gets this CLI's own one-line message.
  const { tokens } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: false, tokens: true });
  const parsed: Parsed = { words: [] };
  for (const token of tokens) {
    if (token.kind === 'positional') parsed.words.push(token.value);
    if (token.kind !== 'option') continue;
    if (!(token.name in OPTIONS)) throw new UsageError(`unknown option ${token.rawName}`);
    if (token.name === 'help') {
      parsed.words.unshift('help');
      continue;
    }
    if (token.value === undefined || (!token.inlineValue && token.value.startsWith('-'))) throw new UsageError(`${token.rawName} needs a value`);
    if (token.name === 'role') parsed.role = token.value;
    else parsed.dataDir = token.value;
  }
  return parsed;
}

function needRole(parsed: Parsed): Role {
  if (parsed.role === undefined) throw new UsageError(`--role is required (${ROLES.join(' or ')})`);
  return validRole(parsed.role);
}

function oneName(parsed: Parsed, what: string): string {
  const rest = parsed.words.slice(2);
  if (rest.length === 0) throw new UsageError(`${what}: give a NAME`);
  if (rest.length > 1) throw new UsageError(`${what}: one NAME only, got ${rest.length} words`);
  return validName(rest[0]);
}

/** Reads a password: prompted without echo on a terminal (twice), else the first line of stdin. */
async function readPassword(io: CliIo, prompt: string): Promise<string> {
  if (io.stdin.isTTY) {
    const first = await promptHidden(io.stdin, `${prompt}: `);
    const second = await promptHidden(io.stdin, `${prompt} (again): `);
    if (first !== second) throw new AuthInputError('password', 'the two entries differ');
    return validPassword(first);
  }
  const limit = PASSWORD_MAX * 4 + 2;
  let text = '';
  for await (const chunk of io.stdin) {
    text += String(chunk);
    if (text.length > limit) break;
  }
  const line = text.split(/\r?\n/)[0] ?? '';
  if (line === '') throw new AuthInputError('password', 'no password on stdin (pipe one line, or run on a terminal to be prompted)');
  return validPassword(line);
}

function promptHidden(stdin: NodeJS.ReadStream, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    process.stderr.write(prompt);
    let value = '';
    stdin.setRawMode(true);
    stdin.resume();
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return done(() => resolve(value));
        if (char === '\u0003') return done(() => reject(new UsageError('interrupted')));
        if (char === '\u007f') value = value.slice(0, -1);
        else if (value.length <= PASSWORD_MAX) value += char;
      }
    };
    const done = (finish: () => void) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      finish();
    };
    stdin.on('data', onData);
  });
}

const date = (d: Date | null): string => (d ? d.toISOString().replace(/\.\d+Z$/, 'Z') : '-');

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd());
}

async function run(service: AuthService, parsed: Parsed, io: CliIo): Promise<void> {
  const [group, command] = parsed.words;
  const actor: Actor = { kind: 'cli', name: userInfo().username, source: 'cli' };
  const audit = (record: Omit<AuditRecord, 'actor' | 'outcome'>) => service.audit.record({ ...record, actor, outcome: 'ok' });
  const key = `${group ?? ''} ${command ?? ''}`.trim();
  switch (key) {
    case 'user add': {
      const name = oneName(parsed, key);
      const role = needRole(parsed);
      if (service.users.find(name)) throw new AuthInputError('name', `a user named "${name}" already exists`);
      const user = await service.users.add({ name, role, password: await readPassword(io, `password for ${name}`) });
      audit({ action: 'user.add', target: `user ${user.name}`, details: { role } });
      io.out(`user ${user.name} (${user.role}) created`);
      return;
    }
    case 'user passwd': {
      const name = oneName(parsed, key);
      if (!service.users.find(name)) throw new NotFoundError(`no user named "${name}"`);
      const ended = await service.users.setPassword(name, await readPassword(io, `new password for ${name}`));
      audit({ action: 'user.passwd', target: `user ${name}`, affected: ended, details: { sessionsEnded: ended } });
      io.out(`password of ${name} changed; ${ended} session(s) ended`);
      return;
    }
    case 'user role': {
      const name = oneName(parsed, key);
      const role = needRole(parsed);
      service.users.setRole(name, role);
      audit({ action: 'user.role', target: `user ${name}`, details: { role } });
      io.out(`${name} is now ${role}`);
      return;
    }
    case 'user del': {
      const name = oneName(parsed, key);
      service.users.remove(name);
      audit({ action: 'user.del', target: `user ${name}` });
      io.out(`user ${name} removed`);
      return;
    }
    case 'user list': {
      if (parsed.words.length > 2) throw new UsageError('user list takes no arguments');
      const users = service.users.list();
      if (users.length === 0) return io.out('no users yet: create one with "ctconsole user add NAME --role admin"');
      for (const line of table([['NAME', 'ROLE', 'CREATED', 'PASSWORD CHANGED'], ...users.map((u) => [u.name, u.role, date(u.createdAt), date(u.passwordChangedAt)])])) io.out(line);
      return;
    }
    case 'token create': {
      const name = oneName(parsed, key);
      const role = needRole(parsed);
      const { token, secret } = service.tokens.create({ name, role, createdBy: `cli:${actor.name}` });
      audit({ action: 'token.create', target: `token ${token.name}`, details: { role } });
      io.err(`token ${token.name} (${token.role}) created; it is shown this once - send it as "Authorization: Bearer <token>":`);
      io.out(secret);
      return;
    }
    case 'token list': {
      if (parsed.words.length > 2) throw new UsageError('token list takes no arguments');
      const tokens = service.tokens.list();
      if (tokens.length === 0) return io.out('no tokens');
      const rows = tokens.map((t) => [t.name, t.role, date(t.createdAt), t.createdBy, date(t.lastUsedAt), t.revokedAt ? `revoked ${date(t.revokedAt)}` : 'active']);
      for (const line of table([['NAME', 'ROLE', 'CREATED', 'BY', 'LAST USED', 'STATE'], ...rows])) io.out(line);
      return;
    }
    case 'token revoke': {
      const name = oneName(parsed, key);
      const revoked = service.tokens.revoke(name);
      if (revoked) audit({ action: 'token.revoke', target: `token ${name}` });
      io.out(revoked ? `token ${name} revoked` : `token ${name} was already revoked`);
      return;
    }
    default:
      throw new UsageError(group === undefined ? 'no command given' : `unknown command "${key}"`);
  }
}

/** Runs one command line; returns the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const parsed = parseCommandLine(argv);
    if (parsed.words[0] === 'help') {
      io.out(USAGE);
      return 0;
    }
    if (parsed.words.length === 0) throw new UsageError('no command given');
    const dir = parsed.dataDir ? dataDir({ CONNTRACK_DATA_DIR: parsed.dataDir }) : dataDir();
    await run(createAuthService({ db: sharedStore(dir, { busyTimeoutMs: CLI_BUSY_TIMEOUT_MS }), dir }), parsed, io);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`ctconsole: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof AuthInputError) {
      io.err(`ctconsole: ${error.message}`);
      return 2;
    }
    io.err(`ctconsole: ${error instanceof NotFoundError ? error.message : error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

if (process.argv[1] && /[\\/]cli\.ts$/.test(process.argv[1])) {
  void main(process.argv.slice(2), { stdin: process.stdin, out: (line) => console.log(line), err: (line) => console.error(line) }).then((code) => {
    process.exitCode = code;
  });
}
