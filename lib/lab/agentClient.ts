// The parent side of an agent: spawns agent.mjs inside a namespace and sends it typed commands.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { trackChild } from './namespace';
import { AGENT_READY, type AgentCommand, type AgentResponse, type AgentStats, type FlowResult } from './protocol';

const AGENT_PATH = fileURLToPath(new URL('./agent.mjs', import.meta.url));
const START_TIMEOUT_MS = 10_000;
const COMMAND_TIMEOUT_MS = 15_000;

type Result<C extends AgentCommand> = C extends { op: 'stats' }
  ? AgentStats
  : C extends { op: 'tcp' | 'udp' | 'ping' | 'ftp' | 'ftp-data' }
    ? FlowResult
    : Record<string, never>;

export interface Agent {
  namespace: string;
  send<C extends AgentCommand>(command: C): Promise<Result<C>>;
  /** Ends the agent (it closes its sockets and pings), killing it if it does not exit promptly. */
  stop(): Promise<void>;
}

export async function startAgent(namespace: string): Promise<Agent> {
  const child: ChildProcessWithoutNullStreams = spawn('ip', ['netns', 'exec', namespace, process.execPath, AGENT_PATH], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  trackChild(child);
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  let stderr = '';
  let exited: Error | null = null;
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  // A write after the agent died must surface as a rejected command, not an unhandled 'error'.
  child.stdin.on('error', () => {});

  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`agent in ${namespace} did not start: ${stderr}`)), START_TIMEOUT_MS);
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (line === AGENT_READY) {
        clearTimeout(timer);
        resolve();
        return;
      }
      const response = JSON.parse(line) as AgentResponse;
      const waiter = pending.get(response.id);
      pending.delete(response.id);
      if (!waiter) return;
      if (response.ok) waiter.resolve(response.result);
      else waiter.reject(new Error(`agent in ${namespace}: ${response.error}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      exited = new Error(`agent in ${namespace} exited (${signal ?? code}): ${stderr}`);
      reject(exited);
      for (const waiter of pending.values()) waiter.reject(exited);
      pending.clear();
    });
  });
  await ready;

  return {
    namespace,
    send<C extends AgentCommand>(command: C): Promise<Result<C>> {
      if (exited) return Promise.reject(exited);
      const id = nextId++;
      return new Promise<Result<C>>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`agent in ${namespace}: ${command.op} did not answer within ${COMMAND_TIMEOUT_MS} ms`));
        }, COMMAND_TIMEOUT_MS);
        pending.set(id, {
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value as Result<C>);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        child.stdin.write(`${JSON.stringify({ ...command, id })}\n`);
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await gone;
      clearTimeout(timer);
    },
  };
}
