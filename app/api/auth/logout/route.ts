import { emptySchema, logoutResponse, route } from '@/lib/console';

export const POST = route({ permission: 'read', source: 'body', schema: emptySchema, handler: ({ request, principal }) => logoutResponse(request, principal) });
