import { flushBodySchema, flushConnections, route } from '@/lib/console';

export const POST = route({ permission: 'flush', source: 'body', schema: flushBodySchema, handler: ({ input }) => flushConnections(input) });
