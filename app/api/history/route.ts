import { historyQuerySchema, listHistory, route } from '@/lib/console';

export const GET = route({ permission: 'read', source: 'query', schema: historyQuerySchema, handler: ({ input }) => listHistory(input) });
