import { healthRoute } from '@/lib/console';

// Anyone may ask (load balancers, systemd watchdogs): without credentials the answer has statuses only. The
// server answers GET before Next (instrumentation.ts registers this same route with scripts/serve.ts); what it
// hands on (HEAD) comes in here.
export const GET = healthRoute;
