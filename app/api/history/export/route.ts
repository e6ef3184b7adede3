import { route } from '@/lib/console';
import { exportHistory, historyExportSchema } from '@/lib/history';

export const GET = route({ permission: 'read', source: 'query', schema: historyExportSchema, handler: ({ input }) => exportHistory(input) });
