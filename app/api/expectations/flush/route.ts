import { expectationFlushBodySchema, flushExpectations, flushExpectationsAudit, route } from '@/lib/console';

export const POST = route({ permission: 'flush', source: 'body', schema: expectationFlushBodySchema, audit: flushExpectationsAudit, handler: () => flushExpectations() });
