import { route } from '@/lib/console';
import { clearHistory, historyClearAudit, historyClearSchema } from '@/lib/history';

export const POST = route({ permission: 'clear-history', source: 'body', schema: historyClearSchema, audit: historyClearAudit, handler: () => clearHistory() });
