import { emptySchema, healthResponse, route } from '@/lib/console';

// Anyone may ask (load balancers, systemd watchdogs): without credentials the answer has statuses only.
export const GET = route({ permission: 'anyone', source: 'query', schema: emptySchema, handler: ({ request }) => healthResponse(request) });
