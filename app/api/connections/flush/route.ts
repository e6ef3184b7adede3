import { flushAudit, flushBodySchema, flushConnections, route } from '@/lib/console';

export const POST = route({ permission: 'flush', source: 'body', schema: flushBodySchema, audit: flushAudit, handler: ({ input, principal }) => flushConnections(input, principal.name) });
