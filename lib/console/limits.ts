// Per-principal limits on long responses: one user (all their sessions) or one API token holds at most
// MAX_OPEN[kind] live feeds and exports at once; one more is refused with 429 and Retry-After. A slot is held
// until the response body ends, fails or is cancelled (the client went away). A live feed also re-checks its
// credentials every FEED_RECHECK_MS and ends when they no longer hold (logout, password change, revoked token,
// expired session, role taken away).
import type { Principal } from './auth';
import { processValue, shareErrorClass } from '@/lib/process';

export type LimitedKind = 'feed' | 'export';

export const MAX_OPEN: Record<LimitedKind, number> = { feed: 4, export: 2 };
export const FEED_RECHECK_MS = 5000;
/** What a refused client is told to wait: long enough for another tab's feed or a download to end. */
export const LIMIT_RETRY_AFTER_SECONDS = 5;

const NOUN: Record<LimitedKind, string> = { feed: 'live feeds', export: 'exports' };

/** One more long response than the principal may hold. */
export class TooManyOpenError extends Error {
  override readonly name = 'TooManyOpenError';
  readonly retryAfterSeconds = LIMIT_RETRY_AFTER_SECONDS;
  constructor(
    readonly kind: LimitedKind,
    readonly max: number,
  ) {
    super(`at most ${max} ${NOUN[kind]} may be open at once per user or token: close one (another tab or download?) and try again`);
  }
}

const principalKey = (principal: Principal): string => (principal.kind === 'session' ? `user:${principal.name.toLowerCase()}` : `token:${principal.token.id}`);

// Next bundles each route separately: the counts are process-wide so every route sees the same ones.
const open = (): Map<string, number> => processValue('limits', () => new Map<string, number>());

/** Takes a slot of `kind` for the principal; returns its release (idempotent), or throws TooManyOpenError. */
export function acquire(kind: LimitedKind, principal: Principal): () => void {
  const key = `${kind} ${principalKey(principal)}`;
  const counts = open();
  const held = counts.get(key) ?? 0;
  if (held >= MAX_OPEN[kind]) throw new TooManyOpenError(kind, MAX_OPEN[kind]);
  counts.set(key, held + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const now = (counts.get(key) ?? 1) - 1;
    if (now > 0) counts.set(key, now);
    else counts.delete(key);
  };
}

/**
 * The response with its body passed through: `release` runs when the body ends, fails or is cancelled; with
 * `recheck`, every FEED_RECHECK_MS the credentials are checked and a failed check ends the stream with an SSE
 * `ended` event (the page stops reconnecting).
 */
export function holdWhileStreaming(response: Response, options: { release: () => void; recheck?: () => boolean }): Response {
  const inner = response.body;
  if (!inner) {
    options.release();
    return response;
  }
  const reader = inner.getReader();
  let timer: NodeJS.Timeout | undefined;
  let done = false;
  const finish = () => {
    done = true;
    clearInterval(timer);
    options.release();
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const { recheck } = options;
      if (!recheck) return;
      timer = setInterval(() => {
        if (done || recheck()) return;
        finish();
        try {
          controller.enqueue(new TextEncoder().encode('event: ended\ndata: {"reason":"the credentials are no longer valid: log in again"}\n\n'));
          controller.close();
        } catch {
          // The client is already gone.
        }
        void reader.cancel('credentials no longer valid').catch(() => {});
      }, FEED_RECHECK_MS);
    },
    async pull(controller) {
      try {
        const chunk = await reader.read();
        if (done) return;
        if (chunk.done) {
          finish();
          controller.close();
        } else controller.enqueue(chunk.value);
      } catch (error) {
        if (done) return;
        finish();
        controller.error(error);
      }
    },
    cancel(reason) {
      finish();
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

// Recognised whichever bundle threw them (see shareErrorClass).
shareErrorClass(TooManyOpenError, 'TooManyOpenError');
