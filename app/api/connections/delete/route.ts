import { deleteAudit, deleteBodySchema, deleteConnections, route } from '@/lib/console';

export const POST = route({ permission: 'delete', source: 'body', schema: deleteBodySchema, audit: deleteAudit, handler: ({ input, principal }) => deleteConnections(input, principal.name) });
