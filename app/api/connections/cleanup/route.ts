import { cleanupAudit, cleanupBodySchema, cleanupByUplink, route } from '@/lib/console';

export const POST = route({ permission: 'delete', source: 'body', schema: cleanupBodySchema, audit: cleanupAudit, handler: ({ input, principal }) => cleanupByUplink(input, principal.name) });
