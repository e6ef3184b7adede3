// The configuration: defaults, the environment over the file, one clear error per bad setting - from the
// loader and from the real start script (which must exit non-zero before doing anything else) - and logs that
// never carry secrets.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { authConfig } from '@/lib/auth';
import { ConfigError, loadConfig } from '@/lib/config';
import { createLogger, REDACTED } from '@/lib/observability';

const repoRoot = resolve(__dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'ctc-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fileWith(content: string): string {
  const path = join(dir, `c-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, content);
  return path;
}

function errorOf(env: Record<string, string>): string {
  try {
    loadConfig({ env, checkFiles: true });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`no error for ${JSON.stringify(env)}`);
}

/** One bad value per setting, and the line it must give. */
const BAD: [Record<string, string>, string][] = [
  [{ CONNTRACK_PORT: '99999' }, 'config: CONNTRACK_PORT: must be a whole number 1..65535 (got "99999")'],
  [{ PORT: 'http' }, 'config: PORT: must be a whole number 1..65535 (got "http")'],
  [{ CONNTRACK_HOST: 'not a host!' }, 'config: CONNTRACK_HOST: must be an IP address (0.0.0.0 or :: for all) or a host name (got "not a host!")'],
  [{ CONNTRACK_TLS_CERT: '/etc/hostname' }, 'config: CONNTRACK_TLS_KEY: set both CONNTRACK_TLS_CERT and CONNTRACK_TLS_KEY (PEM files), or neither'],
  [{ CONNTRACK_TLS_CERT: '/nonexistent/cert.pem', CONNTRACK_TLS_KEY: '/etc/hostname' }, 'config: CONNTRACK_TLS_CERT: cannot read the file (ENOENT) (got "/nonexistent/cert.pem")'],
  [{ CONNTRACK_HISTORY_RETENTION_DAYS: '0' }, 'config: CONNTRACK_HISTORY_RETENTION_DAYS: must be a whole number 1..3650 (got "0")'],
  [{ CONNTRACK_HISTORY_MAX_ROWS: '1.5' }, 'config: CONNTRACK_HISTORY_MAX_ROWS: must be a whole number 1000..1000000000 (got "1.5")'],
  [{ CONNTRACK_SESSION_IDLE_SECONDS: '-5' }, 'config: CONNTRACK_SESSION_IDLE_SECONDS: must be a number of seconds above 0 to 2678400 (got "-5")'],
  [{ CONNTRACK_SESSION_MAX_SECONDS: 'forever' }, 'config: CONNTRACK_SESSION_MAX_SECONDS: must be a number of seconds above 0 to 31622400 (got "forever")'],
  [{ CONNTRACK_LOGIN_FREE_FAILURES: '0' }, 'config: CONNTRACK_LOGIN_FREE_FAILURES: must be a whole number 1..1000 (got "0")'],
  [{ CONNTRACK_LOGIN_BACKOFF_SECONDS: '1000' }, 'config: CONNTRACK_LOGIN_BACKOFF_SECONDS: must be a number of seconds above 0 to 900 (got "1000")'],
  [{ CONNTRACK_TRUSTED_PROXIES: '127.0.0.1,proxy.lan' }, 'config: CONNTRACK_TRUSTED_PROXIES: each entry must be an IP address (the peer address of the proxy) (got "127.0.0.1,proxy.lan")'],
  [{ CONNTRACK_ALLOWED_ORIGINS: 'https://a.example/path' }, 'config: CONNTRACK_ALLOWED_ORIGINS: each entry must be an origin such as https://router.example.net (scheme, host and optional port, no path) (got "https://a.example/path")'],
  [{ CONNTRACK_SECURE_COOKIES: 'maybe' }, 'config: CONNTRACK_SECURE_COOKIES: must be 1/true/yes/on or 0/false/no/off (got "maybe")'],
  [{ CONNTRACK_METRICS: '2' }, 'config: CONNTRACK_METRICS: must be 1/true/yes/on or 0/false/no/off (got "2")'],
  [{ CONNTRACK_METRICS_TOKEN: 'short' }, 'config: CONNTRACK_METRICS_TOKEN: must be at least 16 characters long (got "short")'],
  [{ CONNTRACK_METRICS_COUNT_INTERVAL_SECONDS: '-1' }, 'config: CONNTRACK_METRICS_COUNT_INTERVAL_SECONDS: must be a number of seconds from 0 (off) to 86400 (got "-1")'],
  [{ CONNTRACK_STATS_SAMPLE_SECONDS: '600' }, 'config: CONNTRACK_STATS_SAMPLE_SECONDS: must be a number of seconds from 0 (off) to 300 (got "600")'],
  [{ CONNTRACK_ALARM_WARN_PERCENT: '0' }, 'config: CONNTRACK_ALARM_WARN_PERCENT: must be a number 1..100 (got "0")'],
  [{ CONNTRACK_ALARM_WARN_PERCENT: '97' }, 'config: CONNTRACK_ALARM_CRIT_PERCENT: must be at least CONNTRACK_ALARM_WARN_PERCENT (97) (got 95)'],
  [{ CONNTRACK_ALARM_DROPS_PER_SECOND: '-1' }, 'config: CONNTRACK_ALARM_DROPS_PER_SECOND: must be a number 0..1000000 (got "-1")'],
  [{ CONNTRACK_LOG_LEVEL: 'loud' }, 'config: CONNTRACK_LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "loud")'],
  [{ CONNTRACK_SHUTDOWN_TIMEOUT_SECONDS: '0' }, 'config: CONNTRACK_SHUTDOWN_TIMEOUT_SECONDS: must be a number of seconds above 0 to 3600 (got "0")'],
  [{ CONNTRACK_CONFIG: '/nonexistent/console.json' }, 'config: CONNTRACK_CONFIG: cannot read /nonexistent/console.json (ENOENT)'],
];

describe('loadConfig', () => {
  it('has defaults that suit a router: loopback:3000, ./data, metrics on, 30 s shutdown deadline', () => {
    const c = loadConfig({ env: {} });
    expect(c).toMatchObject({
      listen: { host: '127.0.0.1', port: 3000 },
      tls: undefined,
      dataDir: resolve('data'),
      netns: undefined,
      wans: [],
      history: { retentionDays: 7, maxRows: 5_000_000 },
      snapshot: { maxAgeSeconds: 30 },
      session: { idleSeconds: 1800, maxSeconds: 43200 },
      login: { freeFailures: 5, backoffSeconds: 2 },
      trustedProxies: [],
      allowedOrigins: [],
      secureCookies: false,
      metrics: { enabled: true, token: undefined, countIntervalSeconds: 60, eventLoopResolutionMs: 10 },
      stats: { sampleSeconds: 10 },
      alarm: { warnPercent: 90, critPercent: 95, dropsPerSecond: 1 },
      log: { level: 'info' },
      shutdown: { timeoutSeconds: 30 },
    });
  });

  it.each(BAD)('refuses %j with one line naming the setting', (env, line) => {
    expect(errorOf(env)).toBe(line);
  });

  it('reads the file, lets the environment win, and names file keys in errors', () => {
    const file = fileWith(JSON.stringify({ listen: { host: '0.0.0.0', port: 8443 }, dataDir: '/var/lib/ctc', trustedProxies: ['127.0.0.1'], metrics: { countIntervalSeconds: 0 }, history: { retentionDays: 30 } }));
    const c = loadConfig({ env: { CONNTRACK_CONFIG: file, CONNTRACK_PORT: '9000' } });
    expect(c).toMatchObject({ listen: { host: '0.0.0.0', port: 9000 }, dataDir: '/var/lib/ctc', trustedProxies: ['127.0.0.1'], metrics: { countIntervalSeconds: 0 }, history: { retentionDays: 30 }, file });
    const bad = fileWith(JSON.stringify({ listen: { port: 70000 } }));
    expect(errorOf({ CONNTRACK_CONFIG: bad })).toBe(`config: listen.port in ${bad}: must be a whole number 1..65535 (got 70000)`);
    const unknown = fileWith(JSON.stringify({ listen: { prot: 1 } }));
    expect(errorOf({ CONNTRACK_CONFIG: unknown })).toMatch(new RegExp(`^config: listen\\.prot in ${unknown}: unknown setting \\(known: listen\\.host, listen\\.port,`));
    const broken = fileWith('{ "listen": ');
    expect(errorOf({ CONNTRACK_CONFIG: broken })).toMatch(new RegExp(`^config: CONNTRACK_CONFIG: ${broken} is not valid JSON`));
  });

  it('keeps PORT working, prefers the documented names, and ignores the shell\'s HOSTNAME', () => {
    expect(loadConfig({ env: { HOSTNAME: 'router-7', PORT: '8080' } }).listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(loadConfig({ env: { CONNTRACK_HOST: '0.0.0.0', PORT: '8080', CONNTRACK_PORT: '81' } }).listen).toEqual({ host: '0.0.0.0', port: 81 });
    expect(loadConfig({ env: { CONNTRACK_ALLOWED_ORIGINS: 'https://Router.example.net/, http://10.0.0.1:8080' } }).allowedOrigins).toEqual(['https://router.example.net', 'http://10.0.0.1:8080']);
  });

  it('reads the WANs as name=interface pairs, from the environment or the file', () => {
    expect(loadConfig({ env: { CONNTRACK_WANS: 'fiber=pppoe0, lte=wwan0' } }).wans).toEqual([
      { name: 'fiber', interface: 'pppoe0' },
      { name: 'lte', interface: 'wwan0' },
    ]);
    expect(loadConfig({ env: { CONNTRACK_CONFIG: fileWith(JSON.stringify({ wans: ['a=eth1'] })) } }).wans).toEqual([{ name: 'a', interface: 'eth1' }]);
    expect(errorOf({ CONNTRACK_WANS: 'fiber' })).toMatch(/^config: CONNTRACK_WANS: must be name=interface pairs/);
    expect(errorOf({ CONNTRACK_WANS: 'a=eth1,a=eth2' })).toMatch(/^config: CONNTRACK_WANS: WAN name "a" is given twice/);
    expect(errorOf({ CONNTRACK_WANS: 'a=this-name-is-far-too-long' })).toMatch(/is not an interface name/);
  });

  it('reverse DNS is off unless asked for; its resolvers are addresses with optional ports', () => {
    expect(loadConfig({ env: {} }).names).toMatchObject({ reverseDns: false, dnsServers: [] });
    expect(loadConfig({ env: { CONNTRACK_REVERSE_DNS: 'on', CONNTRACK_DNS_SERVERS: '127.0.0.1:5353, 192.0.2.53, [2001:db8::53]:53, 2001:db8::54' } }).names).toMatchObject({
      reverseDns: true,
      dnsServers: ['127.0.0.1:5353', '192.0.2.53', '[2001:db8::53]:53', '2001:db8::54'],
    });
    expect(errorOf({ CONNTRACK_REVERSE_DNS: 'sometimes' })).toMatch(/^config: CONNTRACK_REVERSE_DNS: must be 1\/true\/yes\/on/);
    for (const bad of ['dns.example.net', '127.0.0.1:99999', '[192.0.2.1]:53', '2001:db8::53:53:53:53:53:53:53'])
      expect(errorOf({ CONNTRACK_DNS_SERVERS: bad }), bad).toMatch(/^config: CONNTRACK_DNS_SERVERS: each entry must be a resolver address/);
  });

  it('samples the event-loop delay every 10 ms unless told a step of 1..1000 ms', () => {
    expect(loadConfig({ env: {} }).metrics.eventLoopResolutionMs).toBe(10);
    expect(loadConfig({ env: { CONNTRACK_METRICS_EVENT_LOOP_RESOLUTION_MS: '1' } }).metrics.eventLoopResolutionMs).toBe(1);
    for (const bad of ['0', '1.5', '1001', 'fast'])
      expect(errorOf({ CONNTRACK_METRICS_EVENT_LOOP_RESOLUTION_MS: bad }), bad).toMatch(/^config: CONNTRACK_METRICS_EVENT_LOOP_RESOLUTION_MS: must be a whole number 1\.\.1000/);
  });

  it('is what the auth layer uses', () => {
    const auth = authConfig({ CONNTRACK_SESSION_IDLE_SECONDS: '60', CONNTRACK_LOGIN_FREE_FAILURES: '3', CONNTRACK_SECURE_COOKIES: 'yes' });
    expect(auth).toMatchObject({ sessionIdleMs: 60_000, sessionAbsoluteMs: 43_200_000, loginFreeFailures: 3, loginBackoffMs: 2000, forceSecureCookies: true });
    expect(() => authConfig({ CONNTRACK_LOGIN_FREE_FAILURES: 'x' })).toThrow('config: CONNTRACK_LOGIN_FREE_FAILURES: must be a whole number 1..1000 (got "x")');
  });
});

/** The real start script with this environment: its exit code and stderr. */
function start(env: Record<string, string>, args: string[] = []): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((done, fail) => {
    const childEnv = { ...process.env };
    for (const key of Object.keys(childEnv)) if (key.startsWith('CONNTRACK_') || key === 'PORT' || key === 'HOSTNAME') delete childEnv[key];
    Object.assign(childEnv, { CONNTRACK_DATA_DIR: join(dir, 'data') }, env);
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'scripts/serve.ts'), ...args], {
      cwd: repoRoot,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    // A stuck start is killed; the limit is generous because many starts run at once on a loaded 2-core machine.
    const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stderr, stdout });
    });
  });
}

describe('the start script', () => {
  it.concurrent.each(BAD)('exits 2 with exactly one line for %j', async (env, line) => {
    const result = await start(env);
    expect(result.stderr).toBe(`${line}\n`);
    expect(result.stdout).toBe('');
    expect(result.code).toBe(2);
  }, 120_000);

  it('refuses unknown arguments the same way', async () => {
    const result = await start({}, ['--port']);
    expect(result).toMatchObject({ code: 2, stderr: 'config: arguments: unknown or incomplete argument --port (use -H HOST -p PORT)\n' });
    const bad = await start({}, ['-p', '0']);
    expect(bad).toMatchObject({ code: 2, stderr: 'config: CONNTRACK_PORT: must be a whole number 1..65535 (got "0")\n' });
  }, 220_000);
});

describe('logs', () => {
  it('censor passwords, tokens, cookies and authorization headers wherever they are logged', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const log = createLogger({ level: 'info', destination });
    const secrets = ['hunter2-password', 'ctc_tok_abcdef0123456789', 'session-cookie-value', 'Bearer abc.def', 'csrf-value', 'metrics-token-0123456789'];
    log.info({ password: secrets[0], token: secrets[1], req: { headers: { cookie: `ctc_session=${secrets[2]}`, authorization: secrets[3], 'x-csrf-token': secrets[4] } } }, 'one');
    log.info({ body: { name: 'admin', password: secrets[0], newPassword: secrets[0] }, res: { headers: { 'set-cookie': secrets[2] } } }, 'two');
    log.warn({ config: { metrics: { token: secrets[5] } }, user: { name: 'admin' } }, 'three');
    const text = lines.join('');
    for (const secret of secrets) expect(text).not.toContain(secret);
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(parsed[0]).toMatchObject({ level: 'info', msg: 'one', password: REDACTED, token: REDACTED, req: { headers: { cookie: REDACTED, authorization: REDACTED, 'x-csrf-token': REDACTED } } });
    expect(parsed[1]).toMatchObject({ body: { name: 'admin', password: REDACTED }, res: { headers: { 'set-cookie': REDACTED } } });
    expect(parsed[2]).toMatchObject({ level: 'warn', config: { metrics: { token: REDACTED } }, user: { name: 'admin' } });
  });
});
