import { emptySchema, namesStatus, route } from '@/lib/console';

export const GET = route({ permission: 'read', source: 'query', schema: emptySchema, handler: async () => namesStatus() });
