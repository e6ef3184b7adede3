import { route, statsQuerySchema, tableStats } from '@/lib/console';

export const GET = route({ permission: 'read', source: 'query', schema: statsQuerySchema, handler: ({ input }) => tableStats(input) });
