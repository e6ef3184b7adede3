import { NotFoundError } from '@/lib/auth';
import { config } from '@/lib/config';
import { emptySchema, metricsText, monitoringAccess, route } from '@/lib/console';
import { METRICS_CONTENT_TYPE } from '@/lib/observability';

// Prometheus scrapes this with the metrics token (CONNTRACK_METRICS_TOKEN) or a viewer API token as a bearer.
export const GET = route({
  permission: 'anyone',
  source: 'query',
  schema: emptySchema,
  handler: async ({ request }) => {
    if (!config().metrics.enabled) throw new NotFoundError('metrics are turned off (CONNTRACK_METRICS=0)');
    monitoringAccess(request);
    return new Response(await metricsText(), { headers: { 'Content-Type': METRICS_CONTENT_TYPE, 'Cache-Control': 'no-store' } });
  },
});
