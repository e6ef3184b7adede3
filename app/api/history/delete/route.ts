import { route } from '@/lib/console';
import { deleteHistory, historyDeleteAudit, historyDeleteSchema } from '@/lib/history';

export const POST = route({ permission: 'clear-history', source: 'body', schema: historyDeleteSchema, audit: historyDeleteAudit, handler: ({ input }) => deleteHistory(input) });
