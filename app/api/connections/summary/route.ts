import { connectionSummary, route, summaryQuerySchema } from '@/lib/console';

export const GET = route({ permission: 'read', source: 'query', schema: summaryQuerySchema, handler: ({ input }) => connectionSummary(input) });
