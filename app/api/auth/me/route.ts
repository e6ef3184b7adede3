import { emptySchema, route, whoAmI } from '@/lib/console';

export const GET = route({ permission: 'read', source: 'query', schema: emptySchema, handler: ({ principal }) => whoAmI(principal) });
