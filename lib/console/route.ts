// The one wrapper every API route goes through: authenticate (session or token) and authorise (role, CSRF),
// parse the input with its zod schema, run the handler - a destructive one through audited(): its intent on record
// before it runs, its result after -, turn the result into JSON and any error into the one error format
// (errors.ts). It also times every request (the API latency histogram) and logs failures with the request id
// scripts/serve.ts assigned.
import type { z } from 'zod';
import { actorOf, authService, stillAllowed } from '@/lib/auth';
import { ValidationError } from '@/lib/conntrack';
import { apiLatency, REQUEST_ID_HEADER } from '@/lib/observability';
import type { AuditSpec } from './audit';
import { audited, type AuditState } from './audited';
import { authorize, type Permission, type Principal } from './auth';
import { errorResponse } from './errors';
import { checkQueryKeys, parseStrictJson } from './json';
import { acquire, holdWhileStreaming, type LimitedKind } from './limits';
import { routePattern } from './routes';
import { readingSnapshots, SnapshotReads } from './snapshots';

type Issue = z.core.$ZodIssue;

/** Who may call the route: a permission, or 'anyone' (only the login route: it checks credentials itself). */
export type Access = Permission | 'anyone';
type PrincipalFor<A extends Access> = A extends 'anyone' ? null : Principal;

/** Bodies larger than this are refused unless a route allows more (a 100,000-id delete is about 1 MiB). */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface RouteOptions<S extends z.ZodType, P extends z.ZodType, R extends Response | object, A extends Access = Access> {
  permission: A;
  /** Where the input comes from: the query string (GET, DELETE) or a JSON body (POST). */
  source: 'query' | 'body';
  schema: S;
  /** Schema of the dynamic path segments, for routes that have them. */
  params?: P;
  /** Largest accepted body (default MAX_BODY_BYTES). */
  maxBodyBytes?: number;
  /**
   * Long responses (live feeds, exports) count against the principal's limit (limits.ts) until their body ends;
   * a feed also re-checks the credentials while it streams.
   */
  limit?: LimitedKind;
  /**
   * Destructive routes: what to record in the audit log. The intent is written before the handler runs (if it
   * cannot be, the handler does not run: 503 audit_unavailable), the result before the response is sent; a JSON
   * answer says `audit: "recorded"`, or `"pending"` when the result could not be written yet (header X-Audit too).
   */
  audit?: AuditSpec<z.output<S>, z.output<P>, R>;
  /** Returns a Response (downloads, cookies) or a value to send as JSON with status 200. */
  handler: (args: { input: z.output<S>; params: z.output<P>; request: Request; principal: PrincipalFor<A> }) => Promise<R>;
}

/** What Next passes as the second argument of a route handler. */
export interface RouteContext {
  params: Promise<Record<string, string | string[] | undefined>>;
}

/** The most specific issue: for a failed union, the first branch issue that is not just "wrong type". */
function innermost(issue: Issue): Issue {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return issue;
  const branches = issue.errors.flat().map((inner) => innermost({ ...inner, path: [...issue.path, ...inner.path] } as Issue));
  return branches.find((inner) => inner.code !== 'invalid_type') ?? branches[0] ?? issue;
}

function inputError(issues: readonly Issue[], where: string): ValidationError {
  const issue = innermost(issues[0]);
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const field = [...path, issue.keys[0]].join('.');
    const others = issue.keys.length > 1 ? ` (and ${issue.keys.slice(1).join(', ')})` : '';
    return new ValidationError(field, `unknown field${others}`);
  }
  // Query parameters are flat: "state=A,B" is split into a list, but the field to name is "state".
  const field = (where === 'query' ? path[0] : path.join('.')) || where;
  // ValidationError prefixes the field; drop it from reasons that start with it ("limit must be ...").
  const name = String(path.at(-1) ?? '');
  const reason = name && issue.message.startsWith(`${name} `) ? issue.message.slice(name.length + 1) : issue.message;
  return new ValidationError(field, reason);
}

/** The query string as an object; a repeated key becomes an array. */
function queryObject(url: URL): Record<string, string | string[]> {
  checkQueryKeys(url.searchParams.keys());
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of url.searchParams) {
    const seen = out[key];
    out[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return out;
}

async function bodyObject(request: Request, maxBytes: number): Promise<unknown> {
  const declared = Number(request.headers.get('content-length') ?? 0);
  const tooLarge = new ValidationError('body', `the body must be at most ${maxBytes} bytes`);
  if (declared > maxBytes) throw tooLarge;
  const text = await request.text();
  if (Buffer.byteLength(text) > maxBytes) throw tooLarge;
  if (text.trim() === '') return {};
  return parseStrictJson(text);
}

function parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw inputError(result.error.issues, where);
  return result.data;
}

/** The header that says whether an audited action's entry is complete. */
export const AUDIT_HEADER = 'x-audit';

function auditedResponse(result: Response | object, audit: AuditState): Response {
  if (!(result instanceof Response)) return Response.json({ ...result, audit }, { headers: { [AUDIT_HEADER]: audit } });
  result.headers.set(AUDIT_HEADER, audit);
  return result;
}

/** Every API answer is for this request only: no cache (browser or proxy) may keep or replay it. */
function noStore(response: Response): Response {
  if (response.headers.has('cache-control')) return response;
  try {
    response.headers.set('Cache-Control', 'no-store');
    return response;
  } catch {
    // Immutable headers (a fetched or redirect response): copy them.
    const headers = new Headers(response.headers);
    headers.set('Cache-Control', 'no-store');
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  }
}

export function route<S extends z.ZodType, R extends Response | object, A extends Access, P extends z.ZodType = z.ZodType<Record<string, never>>>(
  options: RouteOptions<S, P, R, A>,
) {
  const handle = inner(options);
  return async (request: Request, context: RouteContext): Promise<Response> => {
    const started = performance.now();
    // The snapshots the handler reads stay its own rows until its answer is complete (see snapshots.ts).
    const reads = new SnapshotReads();
    const response = noStore(await readingSnapshots(reads, () => handle(request, context, reads)));
    const labels = { route: routePattern(new URL(request.url).pathname), method: request.method, status: String(response.status) };
    apiLatency().observe(labels, (performance.now() - started) / 1000);
    return response;
  };
}

function inner<S extends z.ZodType, R extends Response | object, A extends Access, P extends z.ZodType>(options: RouteOptions<S, P, R, A>) {
  return async (request: Request, context: RouteContext, reads: SnapshotReads): Promise<Response> => {
    const requestId = request.headers.get(REQUEST_ID_HEADER) ?? undefined;
    // A long response releases the snapshots it reads when its body ends; any other answer is complete here.
    let streaming = false;
    try {
      const principal = (options.permission === 'anyone' ? null : authorize(request, options.permission)) as PrincipalFor<A>;
      const raw = options.source === 'query' ? queryObject(new URL(request.url)) : await bodyObject(request, options.maxBodyBytes ?? MAX_BODY_BYTES);
      const input = parse(options.schema, raw, options.source);
      const params = (options.params ? parse(options.params, await context.params, 'path') : {}) as z.output<P>;
      const intent = (await options.audit?.intent({ input, params, raw })) ?? null;
      if (options.limit && principal) {
        const response = await limited(options.limit, principal, request, () => options.handler({ input, params, request, principal }), () => reads.release());
        streaming = true;
        return response;
      }
      if (!intent || !options.audit || !principal) {
        const result = await options.handler({ input, params, request, principal });
        return result instanceof Response ? result : Response.json(result);
      }
      const { value, audit } = await audited({ actor: actorOf(principal, request), intent, result: options.audit.result, requestId }, () => options.handler({ input, params, request, principal }));
      return auditedResponse(value, audit);
    } catch (error) {
      return errorResponse(error, requestId);
    } finally {
      if (!streaming) reads.release();
    }
  };
}

/** Runs a long read under the principal's limit of `kind`: the slot is held (and `ended` called) when the response body ends. */
async function limited(kind: LimitedKind, principal: Principal, request: Request, run: () => Promise<Response | object>, ended: () => void): Promise<Response> {
  const slot = acquire(kind, principal);
  const release = () => {
    slot();
    ended();
  };
  let result: Response | object;
  try {
    result = await run();
  } catch (error) {
    release();
    throw error;
  }
  if (!(result instanceof Response)) {
    release();
    return Response.json(result);
  }
  const recheck = kind === 'feed' ? () => stillAllowed(principal, 'read', authService()) : undefined;
  return holdWhileStreaming(result, { release, recheck });
}
