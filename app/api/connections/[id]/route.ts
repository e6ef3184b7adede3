import { deleteConnection, deleteOneAudit, emptySchema, getConnection, idParamsSchema, route } from '@/lib/console';

export const GET = route({
  permission: 'read',
  source: 'query',
  schema: emptySchema,
  params: idParamsSchema,
  handler: ({ params }) => getConnection(params.id),
});

export const DELETE = route({
  permission: 'delete',
  source: 'query',
  schema: emptySchema,
  params: idParamsSchema,
  audit: deleteOneAudit,
  handler: ({ params, principal }) => deleteConnection(params.id, principal.name),
});
