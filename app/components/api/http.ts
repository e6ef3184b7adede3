// One way to talk to the API from the browser: JSON in, JSON out, every failure an ApiError that says what
// went wrong and what the administrator can do about it.
import { csrfHeaders } from '@/lib/auth/client';
import type { ApiErrorBody } from './types';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    /** HTTP status, or 0 when the server could not be reached. */
    readonly status: number,
    /** The API's error code (invalid_request, insufficient_privileges, ...), or "network". */
    readonly code: string,
    message: string,
    /** What else the error body said: the wrong request field (400), the setup command (503 setup_required). */
    readonly details: { field?: string; command?: string } = {},
  ) {
    super(message);
  }

  /** The request field that was wrong (400 only). */
  get field(): string | undefined {
    return this.details.field;
  }

  /** What to do about it, in a sentence. */
  get advice(): string {
    if (this.status === 0) return 'Check that the console server is running and reachable, then retry.';
    if (this.status === 401) return 'Your session has ended: log in again.';
    if (this.status === 403) return 'Your account may not do this; ask an administrator.';
    if (this.code === 'setup_required') return 'No administrator exists yet: create the first one on the server with the command below, then reload this page.';
    if (this.code === 'insufficient_privileges')
      return 'Run the console as root, or grant the capability: setcap cap_net_admin+ep "$(command -v node)", then restart it.';
    if (this.code === 'namespace_unavailable') return 'Correct CONNTRACK_NETNS (or create the namespace), then restart the console.';
    if (this.status === 400) return 'Correct the highlighted value and try again.';
    if (this.status === 404 || this.status === 410) return 'The data changed since it was loaded: refresh the snapshot.';
    if (this.status === 502) return 'The kernel refused the request; the server log has the details.';
    return 'Retry; if it keeps failing, the server log has the details.';
  }
}

/**
 * What to do when a request answers 401 (the session ended: idle, expired, logged out elsewhere). The page sets
 * it (to go to the login page); once is enough when several requests fail together.
 */
let sessionEnded: (() => void) | undefined;
export function whenSessionEnds(handler: () => void): () => void {
  let called = false;
  sessionEnded = () => {
    if (called) return;
    called = true;
    handler();
  };
  return () => {
    sessionEnded = undefined;
  };
}

function isErrorBody(value: unknown): value is ApiErrorBody {
  if (typeof value !== 'object' || value === null || !('error' in value)) return false;
  const error = (value as { error: unknown }).error;
  return typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string';
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'DELETE';
  body?: unknown;
  signal?: AbortSignal;
}

export async function apiRequest<T>(path: string, options: RequestOptions = {}): Promise<T> {
  let response: Response;
  try {
    const method = options.method ?? 'GET';
    response = await fetch(path, {
      method,
      // State-changing requests carry the session's CSRF token (the API refuses them without it).
      headers: { ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...(method === 'GET' ? {} : csrfHeaders()) },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
      cache: 'no-store',
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, 'network', 'The console server could not be reached.');
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    if (response.status === 401) sessionEnded?.();
    if (isErrorBody(body)) {
      const { code, message, field, command } = body.error;
      throw new ApiError(response.status, code, message, { field, command });
    }
    const reason = response.status === 404 ? 'this API endpoint does not exist on the server (yet)' : `the server answered ${response.status} ${response.statusText}`;
    throw new ApiError(response.status, 'http', `Request to ${path.split('?')[0]} failed: ${reason}.`);
  }
  if (body === undefined) throw new ApiError(response.status, 'bad_response', `The server sent no JSON for ${path.split('?')[0]}.`);
  return body as T;
}

export const isAbort = (error: unknown): boolean => error instanceof DOMException && error.name === 'AbortError';
