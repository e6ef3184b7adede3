import { emptySchema, idParamsSchema, route } from '@/lib/console';
import { connectionStatus } from '@/lib/history';

export const GET = route({ permission: 'read', source: 'query', schema: emptySchema, params: idParamsSchema, handler: ({ params }) => connectionStatus(params.id) });
