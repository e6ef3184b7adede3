import { exportHistory, historyExportSchema, route } from '@/lib/console';

export const GET = route({ permission: 'read', source: 'query', limit: 'export', schema: historyExportSchema, handler: ({ input }) => exportHistory(input) });
