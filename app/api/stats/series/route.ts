import { route, statsSeries, statsSeriesSchema } from '@/lib/console';

export const GET = route({ permission: 'read', source: 'query', schema: statsSeriesSchema, handler: ({ input }) => statsSeries(input) });
