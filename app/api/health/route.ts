import { emptySchema, healthResponse, route } from '@/lib/console';

// Anyone may ask (load balancers, systemd watchdogs): without credentials the answer has statuses only. The
// server answers GET before Next: instrumentation.ts registers this same route with scripts/serve.ts
// (lib/process/direct.ts); what serve.ts hands on (HEAD) comes in here.
export const GET = route({ permission: 'anyone', source: 'query', schema: emptySchema, handler: ({ request }) => healthResponse(request) });
