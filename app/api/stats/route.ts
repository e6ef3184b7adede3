import { emptySchema, route, tableStats } from '@/lib/console';

export const GET = route({ permission: 'read', source: 'query', schema: emptySchema, handler: () => tableStats() });
