import { listConnections, listQuerySchema, route } from '@/lib/console';

export const GET = route({ permission: 'read', source: 'query', schema: listQuerySchema, handler: ({ input }) => listConnections(input) });
