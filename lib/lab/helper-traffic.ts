// Traffic for the router's helper, zone and label features: FTP-like sessions through the ftp helper (so the
// router holds expectations, and RELATED data connections), and pings from the LAN to the router itself (zone).
import type { Family } from './addresses';
import type { Lab } from './lab';

export interface FtpSession {
  family: Family;
  /** The control connection's original tuple at the router (before NAT). */
  control: { src: string; dst: string; sport: number; dport: number };
  /** The data port the server announced: the router's ftp helper expects a connection to it. */
  dataPort: number;
  /** When the data connection was opened (it consumed the expectation and is RELATED to the control connection). */
  data?: { src: string; dst: string; sport: number; dport: number };
  /** Opens the data connection of a session started without it, and sets `data`. */
  openData(): Promise<{ src: string; dst: string; sport: number; dport: number }>;
  /** Closes the control (and data) connection. */
  close(): Promise<void>;
}

export interface FtpSessionOptions {
  family?: Family;
  /** Which LAN client (index into addresses.lan.clients; default 0). */
  client?: number;
  /** Open the data connection too (default false: the expectation stays pending). */
  data?: boolean;
  /** Ask for passive mode again this often, so an expectation is always pending (the demo). */
  refreshMs?: number;
}

/** Opens an FTP-like control connection from a LAN client to the internet server and asks for passive mode. */
export async function startFtpSession(lab: Lab, options: FtpSessionOptions = {}): Promise<FtpSession> {
  const family = options.family ?? 'ipv4';
  const a = lab.addresses;
  const src = a.lan.clients[options.client ?? 0][family];
  const dst = a.internet.server[family];
  const agent = lab.agent('lan');
  const result = await agent.send({ op: 'ftp', local: src, remote: dst, port: a.ports.ftp, data: options.data ?? false, refreshMs: options.refreshMs });
  const handle = result.handle;
  let unregister: () => void = () => {};
  const close = async (): Promise<void> => {
    unregister();
    if (handle !== undefined) await agent.send({ op: 'close', handle }).catch(() => {});
  };
  unregister = lab.onDestroy(close);
  const session: FtpSession = {
    family,
    control: { src, dst, sport: result.localPort ?? 0, dport: a.ports.ftp },
    dataPort: result.dataPort ?? 0,
    openData: async () => {
      if (handle === undefined) throw new Error('the ftp session has no handle');
      const opened = await agent.send({ op: 'ftp-data', handle });
      session.data = { src, dst, sport: opened.dataLocalPort ?? 0, dport: session.dataPort };
      return session.data;
    },
    close,
  };
  if (result.dataLocalPort !== undefined) session.data = { src, dst, sport: result.dataLocalPort, dport: session.dataPort };
  return session;
}

/**
 * Pings the router's LAN address from a LAN client: traffic between the LAN and the router itself, which the
 * router tracks in its own zone (addresses.routerZone). Endless with `keepAlive` (stopped by the returned function).
 */
export async function pingRouter(lab: Lab, options: { family?: Family; keepAlive?: boolean; identifier?: number } = {}): Promise<{ identifier: number; stop(): Promise<void> }> {
  const family = options.family ?? 'ipv4';
  const a = lab.addresses;
  const identifier = options.identifier ?? 0x7a00 + Math.floor(Math.random() * 0xff);
  const agent = lab.agent('lan');
  const ping = { op: 'ping', family, local: a.lan.clients[0][family], remote: a.lan.gateway[family], identifier } as const;
  const result = await agent.send(options.keepAlive ? { ...ping, intervalSeconds: 2 } : { ...ping, count: 1, intervalSeconds: 1 });
  const handle = result.handle;
  let unregister: () => void = () => {};
  const stop = async (): Promise<void> => {
    unregister();
    if (handle !== undefined) await agent.send({ op: 'close', handle }).catch(() => {});
  };
  if (handle !== undefined) unregister = lab.onDestroy(stop);
  return { identifier, stop };
}
