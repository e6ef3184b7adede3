// The one wrapper every API route goes through: parse the input with its zod schema, check the permission,
// run the handler, turn its result into JSON and any error into the one error format (errors.ts).
import type { z } from 'zod';
import { ValidationError } from '@/lib/conntrack';
import { authorize, type Permission } from './auth';
import { errorResponse } from './errors';

type Issue = z.core.$ZodIssue;

export interface RouteOptions<S extends z.ZodType, P extends z.ZodType> {
  permission: Permission;
  /** Where the input comes from: the query string (GET, DELETE) or a JSON body (POST). */
  source: 'query' | 'body';
  schema: S;
  /** Schema of the dynamic path segments, for routes that have them. */
  params?: P;
  /** Returns a Response (downloads) or a value to send as JSON with status 200. */
  handler: (args: { input: z.output<S>; params: z.output<P>; request: Request }) => Promise<Response | object>;
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
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of url.searchParams) {
    const seen = out[key];
    out[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return out;
}

async function bodyObject(request: Request): Promise<unknown> {
  const text = await request.text();
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ValidationError('body', 'the body must be JSON');
  }
}

function parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw inputError(result.error.issues, where);
  return result.data;
}

export function route<S extends z.ZodType, P extends z.ZodType = z.ZodType<Record<string, never>>>(options: RouteOptions<S, P>) {
  return async (request: Request, context: RouteContext): Promise<Response> => {
    try {
      const raw = options.source === 'query' ? queryObject(new URL(request.url)) : await bodyObject(request);
      const input = parse(options.schema, raw, options.source);
      const params = (options.params ? parse(options.params, await context.params, 'path') : {}) as z.output<P>;
      await authorize(request, options.permission);
      const result = await options.handler({ input, params, request });
      return result instanceof Response ? result : Response.json(result);
    } catch (error) {
      return errorResponse(error);
    }
  };
}
