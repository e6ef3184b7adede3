import { deleteExpectation, deleteExpectationAudit, emptySchema, expectationIdParamsSchema, route } from '@/lib/console';

export const DELETE = route({
  permission: 'delete',
  source: 'query',
  schema: emptySchema,
  params: expectationIdParamsSchema,
  audit: deleteExpectationAudit,
  handler: ({ params }) => deleteExpectation(params.id),
});
