import { demoAudit, demoBodySchema, route, runDemoAction } from '@/lib/console';

export const POST = route({ permission: 'configure', source: 'body', schema: demoBodySchema, audit: demoAudit, handler: ({ input }) => runDemoAction(input) });
