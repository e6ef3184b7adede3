import { emptySchema, noticesFor, route } from '@/lib/console';

export const GET = route({ permission: 'read', source: 'query', schema: emptySchema, handler: ({ principal }) => noticesFor(principal) });
