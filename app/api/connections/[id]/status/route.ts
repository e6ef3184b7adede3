import { connectionStatus, emptySchema, idParamsSchema, route } from '@/lib/console';

export const GET = route({ permission: 'read', source: 'query', schema: emptySchema, params: idParamsSchema, handler: ({ params }) => connectionStatus(params.id) });
