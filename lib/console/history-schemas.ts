// Request schemas of the history API: the shared filter vocabulary (filterShape) plus time range, causes, sort and
// paging; delete by row keys; export format. Strict like every console schema.
import { z } from 'zod';
import { filterShape } from '@/lib/conntrack';
import { parsePrefix } from '@/lib/netlink/address';
import { CAUSES, HISTORY_SORT_KEYS, type Cause } from '@/lib/history';
import { instant, integer } from './schemas';

export const HISTORY_MAX_LIMIT = 1000;
export const HISTORY_MAX_DELETE = 100_000;

const causes = z.preprocess(
  (input) => (typeof input === 'string' ? input.split(',').map((s) => s.trim()).filter(Boolean) : input),
  z.array(z.enum(CAUSES, { message: `cause must be one of ${CAUSES.join(', ')}` })).min(1, 'give at least one cause'),
);

// The recorder keeps neither helpers nor labels: those two filters belong to the live table only.
const { helper: _helper, label: _label, ...endedFilterShape } = filterShape;

const historyFields = {
  ...endedFilterShape,
  /** The router's external address (or a prefix of it) and port: SNAT reply destination, DNAT original destination. */
  external: filterShape.ip,
  externalPort: filterShape.port,
  from: instant('from').optional(),
  to: instant('to').optional(),
  cause: causes.optional(),
  sort: z.enum(HISTORY_SORT_KEYS, { message: `sort must be one of ${HISTORY_SORT_KEYS.join(', ')}` }).optional(),
  order: z.enum(['asc', 'desc'], { message: 'order must be asc or desc' }).optional(),
};

/** GET /api/history */
export const historyQuerySchema = z.strictObject({
  ...historyFields,
  limit: integer('limit', 1, HISTORY_MAX_LIMIT).default(100),
  offset: integer('offset', 0, Number.MAX_SAFE_INTEGER).default(0),
});
export type HistoryListQuery = z.output<typeof historyQuerySchema>;

/** GET /api/history/export */
export const historyExportSchema = z.strictObject({
  ...historyFields,
  format: z.enum(['csv', 'json'], { message: 'format must be csv or json' }).default('csv'),
});
export type HistoryExportQuery = z.output<typeof historyExportSchema>;

/** An instant that says which zone it is in: an abuse report's time without an offset is ambiguous by hours. */
const zonedInstant = (field: string) =>
  z
    .string({ message: `${field} must be an ISO 8601 time with its UTC offset` })
    .trim()
    .transform((input, ctx): number => {
      const ms = Date.parse(input);
      if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(input) || !Number.isFinite(ms)) {
        ctx.addIssue({ code: 'custom', message: `${field} must be an ISO 8601 time with its UTC offset, such as 2026-03-01T14:05:00Z or 2026-03-01T15:05:00+01:00` });
        return z.NEVER;
      }
      return ms;
    });

export const NAT_LOOKUP_MAX_WINDOW = 86_400;

/** GET /api/history/nat-lookup: who used EXTERNAL[:PORT] at TIME (± window seconds). */
export const natLookupSchema = z.strictObject({
  address: z
    .string({ message: 'address must be an IPv4 or IPv6 address' })
    .trim()
    .transform((input, ctx) => {
      const parsed = parsePrefix(input);
      if (input.includes('/') || typeof parsed === 'string') {
        ctx.addIssue({ code: 'custom', message: `address must be an IPv4 or IPv6 address (got "${input}")` });
        return z.NEVER;
      }
      return parsed;
    }),
  /** The external port: for a masqueraded connection the reply-direction destination port. */
  port: integer('port', 0, 65535).optional(),
  at: zonedInstant('at'),
  window: integer('window', 0, NAT_LOOKUP_MAX_WINDOW).default(300),
  protocol: filterShape.protocol,
  format: z.enum(['csv', 'json'], { message: 'format must be csv or json' }).optional(),
});
export type NatLookupQuery = z.output<typeof natLookupSchema>;

/** POST /api/history/delete: "Clear selected" by row key (a kernel id can appear more than once over time). */
export const historyDeleteSchema = z.strictObject({
  keys: z
    .array(integer('key', 1, Number.MAX_SAFE_INTEGER), { message: 'keys must be an array of history row keys' })
    .min(1, 'keys must not be empty')
    .max(HISTORY_MAX_DELETE, `keys may name at most ${HISTORY_MAX_DELETE} rows`),
});
export type HistoryDeleteBody = z.output<typeof historyDeleteSchema>;

/** POST /api/history/clear: no parameters (the typed confirmation is the page's). */
export const historyClearSchema = z.strictObject({});

/** GET /api/connections/live: the ids on screen, and optionally the page's filter for new connections. */
export const liveQuerySchema = z.strictObject({
  ...filterShape,
  ids: z
    .preprocess(
      (input) => (typeof input === 'string' ? input.split(',').map((s) => s.trim()).filter(Boolean) : input),
      z.array(integer('ids', 0, 0xffffffff)).max(HISTORY_MAX_LIMIT, `ids may name at most ${HISTORY_MAX_LIMIT} connections`),
    )
    .optional(),
  /** Also report new connections (matching the filter fields). */
  new: z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true').optional(),
});
export type LiveQuery = z.output<typeof liveQuerySchema>;

export type { Cause };
