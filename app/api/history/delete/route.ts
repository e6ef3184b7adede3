import { deleteHistory, historyDeleteAudit, historyDeleteSchema, route } from '@/lib/console';

export const POST = route({ permission: 'clear-history', source: 'body', schema: historyDeleteSchema, audit: historyDeleteAudit, handler: ({ input }) => deleteHistory(input) });
