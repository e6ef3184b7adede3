import { natLookup, natLookupSchema, route } from '@/lib/console';

export const GET = route({ permission: 'read', source: 'query', schema: natLookupSchema, handler: ({ input }) => natLookup(input) });
