import { overviewQuerySchema, overviewResponse, route } from '@/lib/console';

export const GET = route({ permission: 'read', source: 'query', schema: overviewQuerySchema, handler: ({ input }) => overviewResponse(input) });
