// Messages between the lab (parent) and an agent (agent.mjs, running inside a namespace): one JSON object a line.
import type { Family } from './addresses';

/**
 * What a TCP client does after connecting. The close order is deterministic: the side that closes first sends its
 * FIN, and the other side closes only after it saw that FIN.
 * - `chatty`: exchanges a line now and every `chatIntervalMs`, stays open.
 * - `idle`: connects and stays open without data.
 * - `client-close`: exchanges a line, then the client closes first.
 * - `server-close`: asks the server to close first, then closes.
 * - `reset`: exchanges a line, then aborts with RST.
 * - `half-open`: sends a SYN that is never answered (the target drops it) and keeps retrying.
 */
export type TcpBehaviour = 'chatty' | 'idle' | 'client-close' | 'server-close' | 'reset' | 'half-open';

export type AgentCommand =
  | { op: 'listen-tcp'; address: string; port: number }
  | { op: 'listen-udp'; address: string; port: number }
  | { op: 'tcp'; local: string; remote: string; port: number; behaviour: TcpBehaviour; chatIntervalMs?: number }
  | { op: 'udp'; local: string; remote: string; port: number; expectReply: boolean }
  /** An FTP-like control server: passive-mode replies announce a fresh data listener each. */
  | { op: 'listen-ftp'; address: string; port: number }
  /** An FTP-like control connection asking for passive mode; `data` also opens the data connection. */
  | { op: 'ftp'; local: string; remote: string; port: number; data: boolean; refreshMs?: number }
  /** Opens the data connection of an ftp session started without it (`handle` from the ftp command). */
  | { op: 'ftp-data'; handle: number }
  /** Pings `count` times and waits; without `count`, pings every `intervalSeconds` until closed. */
  | { op: 'ping'; family: Family; local: string; remote: string; identifier: number; count?: number; intervalSeconds: number }
  | { op: 'close'; handle: number }
  | { op: 'stats' };

export interface FlowResult {
  localAddress: string;
  localPort?: number;
  /** ftp: the data port the passive-mode reply announced, and the local port of the data connection when opened. */
  dataPort?: number;
  dataLocalPort?: number;
  /** For flows that stay open (chatty, idle, half-open, endless ping): pass to `close`. */
  handle?: number;
}

export interface AgentStats {
  openHandles: number;
  serverConnections: number;
}

export type AgentRequest = AgentCommand & { id: number };

export type AgentResponse =
  | { id: number; ok: true; result: FlowResult | AgentStats | Record<string, never> }
  | { id: number; ok: false; error: string };

/** First line an agent prints once it reads commands. */
export const AGENT_READY = 'ctc-agent-ready';

/** A client sends this line to ask the echo server to close the connection first. */
export const SERVER_CLOSE_REQUEST = 'close-please';
