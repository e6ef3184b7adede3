// Who may read /metrics and the health details: the metrics token (CONNTRACK_METRICS_TOKEN, for a Prometheus
// server) or anyone with the read permission (a viewer's session or API token).
import { createHash, timingSafeEqual } from 'node:crypto';
import { config } from '@/lib/config';
import { authorize } from './auth';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

function bearer(request: Request): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(request.headers.get('authorization') ?? '');
  return match?.[1];
}

/**
 * True when the request carries the metrics token or a principal with the read permission. Otherwise throws
 * the authorisation error (401/403), or with `optional` returns false.
 */
export function monitoringAccess(request: Request, options: { optional?: boolean } = {}): boolean {
  const expected = config().metrics.token;
  const offered = bearer(request);
  if (expected && offered && timingSafeEqual(digest(offered), digest(expected))) return true;
  try {
    authorize(request, 'read');
    return true;
  } catch (error) {
    if (options.optional) return false;
    throw error;
  }
}
