import { auditQuerySchema } from '@/lib/auth';
import { listAudit, route } from '@/lib/console';

export const GET = route({ permission: 'read-audit', source: 'query', schema: auditQuerySchema, handler: ({ input }) => listAudit(input) });
