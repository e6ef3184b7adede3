import { route } from '@/lib/console';
import { liveQuerySchema, liveStream } from '@/lib/history';

export const GET = route({ permission: 'read', source: 'query', schema: liveQuerySchema, handler: async ({ input, request }) => liveStream(input, request.signal) });
