import { route } from '@/lib/console';
import { historyQuerySchema, listHistory } from '@/lib/history';

export const GET = route({ permission: 'read', source: 'query', schema: historyQuerySchema, handler: ({ input }) => listHistory(input) });
