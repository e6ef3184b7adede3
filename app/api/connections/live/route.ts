import { liveQuerySchema, liveStream, route } from '@/lib/console';

export const GET = route({ permission: 'read', source: 'query', limit: 'feed', schema: liveQuerySchema, handler: async ({ input, request }) => liveStream(input, request.signal) });
