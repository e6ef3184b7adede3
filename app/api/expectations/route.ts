import { expectationListQuerySchema, listExpectations, route } from '@/lib/console';

export const GET = route({ permission: 'read', source: 'query', schema: expectationListQuerySchema, handler: ({ input }) => listExpectations(input) });
