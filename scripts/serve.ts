// `npm start`: the production server. Reads and checks the configuration first (lib/config: environment,
// CONNTRACK_CONFIG file, defaults); a bad value ends the start with one line `config: SETTING: reason` and exit 2,
// and so does bad storage (`storage: FILE: problem`: corrupt, read-only, full, locked).
// Plain HTTP, or HTTPS with a certificate. This is the one way to run the console (npm start, the demo, the
// systemd unit, the tests): it decides what the app may believe about the client. X-Forwarded-For and
// X-Forwarded-Proto are replaced by the peer's address and the socket's protocol, unless the peer is one of
// CONNTRACK_TRUSTED_PROXIES, whose last X-Forwarded-For hop is then taken (when it is an IP address). A Host that
// does not name the console is refused (421), a path that does not decode is refused (400), both before the app
// sees them. Every request gets an id (x-request-id, also in the JSON logs). GET /api/health is answered here,
// by the app's own route (lib/process/direct.ts), without Next's request path. SIGTERM/SIGINT: stop accepting,
// finish in-flight requests and destructive operations, run the shutdown hooks (history flush), close, exit 0 -
// or exit 1 when the shutdown deadline passes. Live feeds (server-sent events) end at once: their clients
// reconnect.
//   tsx scripts/serve.ts [-H HOST] [-p PORT]     (override CONNTRACK_HOST / CONNTRACK_PORT; default 127.0.0.1:3000)
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import next from 'next';
import { ConfigError, forbiddenQueryKey, hostAllowed, loadConfig, SECURITY_HEADERS, SETTINGS, setProcessConfig, type Config } from '../lib/config';
// Only leaf modules whose state lives on globalThis: this script's copies of modules are not the app's (Next
// bundles its own), so nothing here may create objects - or throw errors - that the app's code checks the class of.
import { beginShutdown, inFlightOperations, isShuttingDown, openFeeds, operationsDone, runShutdownHooks } from '../lib/lifecycle';
// A connection of its own, closed before the app starts (nothing on globalThis).
import { checkStartupStorage } from '../lib/auth/storage';
// A one-shot dump (plain data back): the policies' WANs are checked against the managed namespace's interfaces.
import { interfaceNames } from '../lib/router/netlink';
import { createLogger, requestId, REQUEST_ID_HEADER, setProcessLogger, type Logger } from '../lib/observability';
// Chunks that ask to hear when they are written (the export's ring of buffers) hear it from Node's write callback.
import { reportWrites } from '../lib/process/written';
// Routes the app registers to be answered here, before Next (GET /api/health).
import { directRoute, type DirectHandler } from '../lib/process/direct';

/** Exit status of a start refused for bad configuration, usage or storage (systemd: RestartPreventExitStatus=2). */
const EXIT_CONFIG = 2;

function argvOverrides(argv: string[]): Record<string, string> {
  const options = { hostname: { type: 'string', short: 'H' }, port: { type: 'string', short: 'p' } } as const;
  // Not strict: the tokens are checked here, so a mistake is one config line naming the argument.
  const { tokens } = parseArgs({ args: argv, options, allowPositionals: true, strict: false, tokens: true });
  const out: Record<string, string> = {};
  for (const token of tokens) {
    const bad = token.kind === 'positional' ? token.value : token.kind === 'option-terminator' ? '--' : token.rawName;
    if (token.kind !== 'option' || !(token.name in options) || token.value === undefined || (!token.inlineValue && token.value.startsWith('-'))) {
      throw new ConfigError('arguments', `unknown or incomplete argument ${bad} (use -H HOST -p PORT)`);
    }
    out[token.name === 'hostname' ? SETTINGS.host.env[0] : SETTINGS.port.env[0]] = token.value;
  }
  return out;
}

const normalize = (address: string | undefined): string => (address ?? '').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');

/** Replaces what a client could forge with what the socket says (or a trusted proxy reports); sets the request id. */
function clientHeaders(req: IncomingMessage, trusted: ReadonlySet<string>): string {
  const peer = normalize(req.socket.remoteAddress);
  const encrypted = Boolean((req.socket as TLSSocket).encrypted);
  const fromProxy = trusted.has(peer);
  if (fromProxy) {
    // The proxy appends the address it saw; anything before it is the client's own text. Only an address counts.
    const hops = String(req.headers['x-forwarded-for'] ?? '').split(',').map((h) => h.trim()).filter(Boolean);
    const hop = normalize(hops.at(-1));
    req.headers['x-forwarded-for'] = isIP(hop) ? hop : peer;
    req.headers['x-forwarded-proto'] = req.headers['x-forwarded-proto'] === 'https' || encrypted ? 'https' : 'http';
  } else {
    req.headers['x-forwarded-for'] = peer;
    req.headers['x-forwarded-proto'] = encrypted ? 'https' : 'http';
    delete req.headers['x-forwarded-host'];
    delete req.headers['x-forwarded-port'];
  }
  const id = requestId(fromProxy ? req.headers[REQUEST_ID_HEADER] : undefined);
  req.headers[REQUEST_ID_HEADER] = id;
  return id;
}

/** The security headers proxy.ts sets, for the JSON answered here (nothing in it to run or to frame). */
const OWN_ANSWER_HEADERS = { 'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'", ...SECURITY_HEADERS };

/** What the app would otherwise answer with a 500 or under a name not ours: refused here, with the security headers. */
function refuse(res: ServerResponse, status: number, code: string, message: string, field?: string): void {
  res.writeHead(status, { ...OWN_ANSWER_HEADERS, 'Content-Type': 'application/json', 'Cache-Control': 'no-store', Connection: 'close' });
  res.end(JSON.stringify({ error: { code, message, ...(field === undefined ? {} : { field }) } }));
}

/** A registered route's answer: the request as the app would see it (after clientHeaders), its Response written out. */
async function answerDirect(req: IncomingMessage, res: ServerResponse, handler: DirectHandler): Promise<void> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) for (const one of [value ?? []].flat()) headers.append(name, one);
  const response = await handler(new Request(`${req.headers['x-forwarded-proto']}://${req.headers.host}${req.url}`, { headers }));
  const body = Buffer.from(await response.arrayBuffer());
  res.writeHead(response.status, { ...OWN_ANSWER_HEADERS, ...Object.fromEntries(response.headers), 'Content-Length': body.length });
  res.end(body);
}

/** Why the request cannot be handed to the app, or undefined. */
function badRequest(req: IncomingMessage, config: Config, encrypted: boolean): { status: number; code: string; message: string; field?: string } | undefined {
  const scheme = encrypted || req.headers['x-forwarded-proto'] === 'https' ? 'https' : 'http';
  if (!hostAllowed(req.headers.host, config, { scheme, localAddress: req.socket.localAddress, localPort: req.socket.localPort })) {
    return { status: 421, code: 'misdirected_request', message: `this console does not answer to the host name ${JSON.stringify(String(req.headers.host ?? ''))} (set CONNTRACK_ALLOWED_ORIGINS to serve it under that name)` };
  }
  const path = (req.url ?? '/').split('?')[0];
  try {
    decodeURIComponent(path);
  } catch {
    return { status: 400, code: 'invalid_request', message: 'the request path is not valid percent-encoded UTF-8' };
  }
  // Next parses the query into a plain object, where `__proto__` vanishes before any schema could refuse it.
  const key = forbiddenQueryKey(req.url ?? '/');
  if (key !== undefined) return { status: 400, code: 'invalid_request', field: key, message: `${key}: this key is not accepted` };
  return undefined;
}

/** Where the HTTP layer is: open requests, and a wake-up when the last one ends. */
class RequestTracker {
  open = 0;
  private waiters: (() => void)[] = [];
  start(res: ServerResponse): void {
    this.open++;
    res.once('close', () => {
      this.open--;
      if (this.open === 0) for (const wake of this.waiters.splice(0)) wake();
    });
  }
  done(): Promise<void> {
    return this.open === 0 ? Promise.resolve() : new Promise((r) => this.waiters.push(r));
  }
}

function startConfig(): Config {
  const config = loadConfig({ env: { ...process.env, ...argvOverrides(process.argv.slice(2)) }, checkFiles: true });
  // Modules that read the environment directly (the store's data directory) see what the file said too.
  process.env.CONNTRACK_DATA_DIR = config.dataDir;
  if (config.netns) process.env.CONNTRACK_NETNS = config.netns;
  process.env.CONNTRACK_LOG_LEVEL = config.log.level;
  setProcessConfig(config);
  return config;
}

/**
 * Without configured WANs a policy's WAN is an interface name (loadConfig checked the configured ones): a name the
 * managed namespace has no interface of stops the start. When the namespace cannot be read yet, the start goes on
 * (the console answers 503 namespace_unavailable until it can, and the policies wait for it).
 */
async function checkPolicyWans(config: Config): Promise<void> {
  const named = config.policies.filter((p) => p.wan !== undefined);
  if (config.wans.length > 0 || named.length === 0) return;
  let names: string[];
  try {
    names = await interfaceNames(config.netns);
  } catch {
    return;
  }
  const bad = named.find((p) => !names.includes(p.wan!));
  if (!bad) return;
  const setting = process.env[SETTINGS.policies.env[0]] ? SETTINGS.policies.env[0] : `${SETTINGS.policies.key} in ${config.file}`;
  throw new ConfigError(
    setting,
    `policy "${bad.name}": wan "${bad.wan}" is not a WAN: ${config.netns ? `namespace ${config.netns}` : 'this namespace'} has no interface of that name (it has ${names.join(', ')}; for an uplink whose interface comes and goes, name it in ${SETTINGS.wans.env[0]})`,
  );
}

function shutdownOnSignals(server: Server, app: { close(): Promise<void> }, requests: RequestTracker, config: Config, log: Logger): void {
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal during shutdown: exiting now');
      process.exit(1);
    }
    stopping = true;
    const timeoutMs = config.shutdown.timeoutSeconds * 1000;
    log.info({ signal, openRequests: requests.open, feeds: openFeeds(), operations: inFlightOperations().length, timeoutMs }, 'shutting down');
    const deadline = new AbortController();
    setTimeout(() => {
      deadline.abort();
      log.error({ openRequests: requests.open, operations: inFlightOperations() }, 'shutdown deadline passed: exiting with work unfinished');
      process.exit(1);
    }, timeoutMs);
    beginShutdown();
    server.close();
    server.closeIdleConnections();
    await Promise.all([requests.done(), operationsDone()]);
    const failed = await runShutdownHooks(deadline.signal, (name, error) => log.error({ err: error, hook: name }, 'shutdown hook failed'));
    server.closeAllConnections();
    await app.close();
    log.info({ failedHooks: failed }, 'stopped');
    process.exit(failed.length ? 1 : 0);
  };
  process.on('SIGTERM', (signal) => void stop(signal));
  process.on('SIGINT', (signal) => void stop(signal));
}

async function main(): Promise<void> {
  const config = startConfig();
  await checkPolicyWans(config);
  // Bad storage is a reason not to start at all: a restart would not mend it, and a console that cannot record
  // what it deletes must not run.
  const storage = checkStartupStorage(config.dataDir);
  if (storage) {
    process.stderr.write(`${storage.line}\n`);
    process.exit(storage.lasting ? EXIT_CONFIG : 1);
  }
  const log = createLogger({ level: config.log.level });
  setProcessLogger(log);
  const { host, port } = config.listen;
  const certificate = config.tls ? { cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) } : undefined;
  const trusted = new Set(config.trustedProxies.map(normalize));
  const app = next({ dev: false, dir: resolve(__dirname, '..'), hostname: host, port });
  await app.prepare();
  const handle = app.getRequestHandler();
  const requests = new RequestTracker();
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const id = clientHeaders(req, trusted);
    requests.start(res);
    reportWrites(res);
    res.setHeader(REQUEST_ID_HEADER, id);
    if (isShuttingDown()) res.setHeader('Connection', 'close');
    const bad = badRequest(req, config, Boolean((req.socket as TLSSocket).encrypted));
    res.once('finish', () => {
      const path = (req.url ?? '').split('?')[0];
      const entry = { requestId: id, method: req.method, path, status: res.statusCode, ms: Math.round(performance.now() - started), client: req.headers['x-forwarded-for'] };
      if (path.startsWith('/_next/')) log.debug(entry, 'request');
      else log.info(entry, 'request');
    });
    if (bad) {
      refuse(res, bad.status, bad.code, bad.message, bad.field);
      return;
    }
    const direct = req.method === 'GET' ? directRoute((req.url ?? '').split('?')[0]) : undefined;
    (direct ? answerDirect(req, res, direct) : handle(req, res)).catch((error: unknown) => {
      log.error({ err: error, requestId: id }, 'request failed');
      if (!res.headersSent) refuse(res, 500, 'internal_error', 'internal server error (details are in the server log)');
    });
  };
  const server = certificate ? createHttpsServer(certificate, listener) : createHttpServer(listener);
  await new Promise<void>((listening, failed) => {
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      listening();
    });
  });
  const url = `${certificate ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info({ url, dataDir: config.dataDir, netns: config.netns ?? null, configFile: config.file ?? null }, `Conntrack Console on ${url}`);
  shutdownOnSignals(server, app, requests, config, log);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  const code = (error as NodeJS.ErrnoException).code;
  process.stderr.write(`serve: ${error instanceof Error ? error.message : String(error)}${code && !String(error).includes(code) ? ` (${code})` : ''}\n`);
  process.exit(1);
});
