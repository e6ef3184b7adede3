// `npm start`: the production server. Plain HTTP, or HTTPS when CONNTRACK_TLS_CERT and CONNTRACK_TLS_KEY name
// a PEM certificate (chain) and key. It also decides what the app may believe about the client: X-Forwarded-For
// and X-Forwarded-Proto are replaced by the peer's address and the socket's protocol, unless the peer is one of
// CONNTRACK_TRUSTED_PROXIES (a reverse proxy in front), whose last X-Forwarded-For hop is then taken.
//   tsx scripts/serve.ts [-H HOST] [-p PORT]     (defaults: $HOSTNAME or 127.0.0.1, $PORT or 3000)
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { resolve } from 'node:path';
import next from 'next';

function options(argv: string[]): { hostname: string; port: number } {
  let hostname = process.env.HOSTNAME || '127.0.0.1';
  let port = Number(process.env.PORT || 3000);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-H' || arg === '--hostname') hostname = argv[++i] ?? hostname;
    else if (arg === '-p' || arg === '--port') port = Number(argv[++i]);
    else throw new Error(`unknown argument ${arg} (use -H HOST -p PORT)`);
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('the port must be a number from 0 to 65535');
  return { hostname, port };
}

function tls(): { cert: Buffer; key: Buffer } | undefined {
  const cert = process.env.CONNTRACK_TLS_CERT;
  const key = process.env.CONNTRACK_TLS_KEY;
  if (!cert && !key) return undefined;
  if (!cert || !key) throw new Error('set both CONNTRACK_TLS_CERT and CONNTRACK_TLS_KEY (PEM files), or neither');
  return { cert: readFileSync(cert), key: readFileSync(key) };
}

const normalize = (address: string | undefined): string => (address ?? '').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
const trusted = new Set((process.env.CONNTRACK_TRUSTED_PROXIES ?? '').split(',').map((a) => normalize(a.trim())).filter(Boolean));

/** Replaces what a client could forge with what the socket says (or a trusted proxy reports). */
function clientHeaders(req: IncomingMessage): void {
  const peer = normalize(req.socket.remoteAddress);
  const encrypted = Boolean((req.socket as TLSSocket).encrypted);
  if (trusted.has(peer)) {
    const hops = String(req.headers['x-forwarded-for'] ?? '').split(',').map((h) => h.trim()).filter(Boolean);
    req.headers['x-forwarded-for'] = normalize(hops.at(-1)) || peer;
    req.headers['x-forwarded-proto'] = req.headers['x-forwarded-proto'] === 'https' || encrypted ? 'https' : 'http';
  } else {
    req.headers['x-forwarded-for'] = peer;
    req.headers['x-forwarded-proto'] = encrypted ? 'https' : 'http';
    delete req.headers['x-forwarded-host'];
    delete req.headers['x-forwarded-port'];
  }
}

async function main(): Promise<void> {
  const { hostname, port } = options(process.argv.slice(2));
  const certificate = tls();
  const app = next({ dev: false, dir: resolve(__dirname, '..'), hostname, port });
  await app.prepare();
  const handle = app.getRequestHandler();
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    clientHeaders(req);
    handle(req, res).catch((error: unknown) => {
      console.error(error);
      if (!res.headersSent) res.writeHead(500).end();
    });
  };
  const server = certificate ? createHttpsServer(certificate, listener) : createHttpServer(listener);
  server.listen(port, hostname, () => {
    console.log(`Conntrack Console on ${certificate ? 'https' : 'http'}://${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`);
  });
  const stop = () => {
    server.close();
    void app.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  console.error('serve:', error instanceof Error ? error.message : error);
  process.exit(1);
});
