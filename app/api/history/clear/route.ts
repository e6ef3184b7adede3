import { clearHistory, historyClearAudit, historyClearSchema, route } from '@/lib/console';

export const POST = route({ permission: 'clear-history', source: 'body', schema: historyClearSchema, audit: historyClearAudit, handler: () => clearHistory() });
