import { reverseNames, reverseNamesQuerySchema, route } from '@/lib/console';

export const GET = route({ permission: 'read', source: 'query', schema: reverseNamesQuerySchema, handler: ({ input }) => reverseNames(input) });
