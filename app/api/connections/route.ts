import { listConnectionsResponse, listQuerySchema, route } from '@/lib/console';

export const GET = route({ permission: 'read', source: 'query', schema: listQuerySchema, handler: ({ input }) => listConnectionsResponse(input) });
