import { deleteExpectationsAudit, deleteExpectationsOfMaster, expectationDeleteBodySchema, route } from '@/lib/console';

export const POST = route({ permission: 'delete', source: 'body', schema: expectationDeleteBodySchema, audit: deleteExpectationsAudit, handler: ({ input }) => deleteExpectationsOfMaster(input) });
