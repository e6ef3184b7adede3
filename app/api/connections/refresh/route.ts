import { emptySchema, refreshSnapshot, route } from '@/lib/console';

export const POST = route({ permission: 'read', source: 'body', schema: emptySchema, handler: () => refreshSnapshot() });
