import { deleteBodySchema, deleteConnections, route } from '@/lib/console';

export const POST = route({ permission: 'delete', source: 'body', schema: deleteBodySchema, handler: ({ input }) => deleteConnections(input) });
