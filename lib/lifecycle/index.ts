// The server's life after SIGTERM: live feeds end at once (their clients reconnect to the restarted server), no new
// work, in-flight destructive operations finished (each with its audit row), then the shutdown hooks (the history
// recorder flushes its pending writes in one), then exit.
// Process-wide state on globalThis: Next bundles each route separately and scripts/serve.ts has its own copy.
import { processValue, shareErrorClass } from '@/lib/process';

/** A request arrived after shutdown began: 503, try again on the restarted server. */
export class ShuttingDownError extends Error {
  override readonly name = 'ShuttingDownError';
  constructor() {
    super('the server is shutting down: try again in a moment');
  }
}

export interface Operation {
  kind: string;
  startedAt: number;
}

export type ShutdownHook = (signal: AbortSignal) => Promise<void> | void;

interface Holder {
  shuttingDown: boolean;
  operations: Set<Operation>;
  hooks: Map<string, ShutdownHook>;
  idle: (() => void)[];
  feeds: Set<() => void>;
}
function holder(): Holder {
  return processValue<Holder>('lifecycle', () => ({ shuttingDown: false, operations: new Set(), hooks: new Map(), idle: [], feeds: new Set() }));
}

export function isShuttingDown(): boolean {
  return holder().shuttingDown;
}

/** Refuses new operations from now on (trackOperation throws ShuttingDownError) and ends every live feed. */
export function beginShutdown(): void {
  const h = holder();
  h.shuttingDown = true;
  for (const end of [...h.feeds]) end();
  h.feeds.clear();
}

/**
 * Registers a long-lived response (a server-sent event feed) that `end` closes: it ends at once when shutdown
 * begins - now, if it already has - instead of holding the shutdown to its deadline. Returns the unregister.
 */
export function openFeed(end: () => void): () => void {
  const h = holder();
  if (h.shuttingDown) {
    end();
    return () => {};
  }
  h.feeds.add(end);
  return () => void h.feeds.delete(end);
}

/** Live feeds open now. */
export function openFeeds(): number {
  return holder().feeds.size;
}

/**
 * Runs `work` as an in-flight operation the shutdown waits for. Refused (ShuttingDownError) once shutdown has
 * begun, so an operation is either finished or never started.
 */
export async function trackOperation<T>(kind: string, work: () => Promise<T>): Promise<T> {
  const h = holder();
  if (h.shuttingDown) throw new ShuttingDownError();
  const operation: Operation = { kind, startedAt: Date.now() };
  h.operations.add(operation);
  try {
    return await work();
  } finally {
    h.operations.delete(operation);
    if (h.operations.size === 0) for (const wake of h.idle.splice(0)) wake();
  }
}

export function inFlightOperations(): Operation[] {
  return [...holder().operations];
}

/** Resolves once no operation is in flight. */
export function operationsDone(): Promise<void> {
  const h = holder();
  if (h.operations.size === 0) return Promise.resolve();
  return new Promise((resolve) => h.idle.push(resolve));
}

/** Adds a hook run at shutdown after the in-flight operations (e.g. "history": flush pending writes). */
export function onShutdown(name: string, hook: ShutdownHook): () => void {
  holder().hooks.set(name, hook);
  return () => {
    if (holder().hooks.get(name) === hook) holder().hooks.delete(name);
  };
}

/** Runs every hook concurrently; `signal` aborts when the deadline passes. Returns the names that failed. */
export async function runShutdownHooks(signal: AbortSignal, onError: (name: string, error: unknown) => void): Promise<string[]> {
  const failed: string[] = [];
  await Promise.all(
    [...holder().hooks].map(async ([name, hook]) => {
      try {
        await hook(signal);
      } catch (error) {
        failed.push(name);
        onError(name, error);
      }
    }),
  );
  return failed;
}

// Recognised whichever bundle threw them (see shareErrorClass).
shareErrorClass(ShuttingDownError, 'ShuttingDownError');
