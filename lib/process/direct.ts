// Routes scripts/serve.ts answers itself, before Next's request path. A health check is asked every few seconds
// by a load balancer or a watchdog, and Next's routing of an API request costs several times the checks
// themselves (about 5 of 7.5 ms on a slow 2-core host, all of it on the event loop). The handler is registered
// by the app's own code (instrumentation.ts), so every object it makes is from the app's copies of the modules;
// serve.ts only builds the Request (a global class) and writes out the Response.

import { processValue } from './index';

export type DirectHandler = (request: Request) => Promise<Response>;

const routes = () => processValue('direct-routes', () => new Map<string, DirectHandler>());

/** Has serve.ts answer GET `path` (the exact path, any query) with `handler` instead of handing it to Next. */
export function registerDirectRoute(path: string, handler: DirectHandler): void {
  routes().set(path, handler);
}

/** The handler registered for GET `path`, if any. */
export function directRoute(path: string): DirectHandler | undefined {
  return routes().get(path);
}
