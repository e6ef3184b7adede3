import { emptySchema, route, routerOverview } from '@/lib/console';

export const GET = route({ permission: 'read', source: 'query', schema: emptySchema, handler: () => routerOverview() });
