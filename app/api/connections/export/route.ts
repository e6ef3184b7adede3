import { exportConnections, exportQuerySchema, route } from '@/lib/console';

export const GET = route({ permission: 'read', source: 'query', limit: 'export', schema: exportQuerySchema, handler: ({ input }) => exportConnections(input) });
