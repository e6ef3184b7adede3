// Request schemas of the connections API: the shared filter vocabulary (lib/conntrack filterShape) plus what
// the console adds - free text, sort, paging, snapshot ids, bulk delete, flush, export format. All strict:
// an unknown field is an error, never silently ignored.
import { isIP } from 'node:net';
import { z } from 'zod';
import { filterSchema, filterShape, SORT_KEYS } from '@/lib/conntrack';

export const MAX_LIMIT = 1000;
export const DEFAULT_LIMIT = 100;
/** The most ids one bulk delete may name. */
export const MAX_DELETE_IDS = 100_000;

/** A whole number given as a JSON number or as query-string text. */
export const integer = (field: string, min: number, max: number) =>
  z
    .union([z.number(), z.string().trim().regex(/^\d+$/, `${field} must be a whole number`).transform(Number)])
    .pipe(z.number().int(`${field} must be a whole number`).min(min, `${field} must be >= ${min}`).max(max, `${field} must be <= ${max}`));

/** An instant as ISO 8601 text or ms since the epoch; becomes ms. */
export const instant = (field: string) =>
  z.union([z.number(), z.string().trim().min(1)]).transform((input, ctx): number => {
    const ms = typeof input === 'number' ? input : /^\d+$/.test(input) ? Number(input) : Date.parse(input);
    if (!Number.isFinite(ms)) {
      ctx.addIssue({ code: 'custom', message: `${field} must be an ISO 8601 time or milliseconds since the epoch` });
      return z.NEVER;
    }
    return ms;
  });

const id = integer('id', 0, 0xffffffff);
const snapshotId = z.string().trim().min(1, 'snapshot must be a snapshot id').max(100, 'snapshot must be a snapshot id');

const sortOrder = {
  sort: z.enum(SORT_KEYS, { message: `sort must be one of ${SORT_KEYS.join(', ')}` }).optional(),
  order: z.enum(['asc', 'desc'], { message: 'order must be asc or desc' }).optional(),
};

/**
 * The console's uplink filters, beside the kernel's vocabulary: wan=NAME (or none, unknown) and stale=true|false.
 * Whether NAME is a WAN is checked against the router when the filter is used.
 */
export const uplinkShape = {
  wan: z.string({ message: 'wan must be a WAN name' }).trim().min(1, 'wan must be a WAN name').max(32, 'wan must be a WAN name (at most 32 characters)').optional(),
  stale: z
    .union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')], { message: 'stale must be true or false' })
    .optional(),
};

/** GET /api/connections */
export const listQuerySchema = z.strictObject({
  ...filterShape,
  ...uplinkShape,
  q: z.string().max(200, 'q must be at most 200 characters').optional(),
  ...sortOrder,
  limit: integer('limit', 1, MAX_LIMIT).default(DEFAULT_LIMIT),
  offset: integer('offset', 0, Number.MAX_SAFE_INTEGER).default(0),
  snapshot: snapshotId.optional(),
});
export type ListQuery = z.output<typeof listQuerySchema>;

/** GET /api/connections/export: the same rows as the list, unpaged. */
export const exportQuerySchema = z.strictObject({
  ...filterShape,
  ...uplinkShape,
  q: z.string().max(200, 'q must be at most 200 characters').optional(),
  ...sortOrder,
  snapshot: snapshotId.optional(),
  format: z.enum(['csv', 'json'], { message: 'format must be csv or json' }).default('csv'),
});
export type ExportQuery = z.output<typeof exportQuerySchema>;

/** GET /api/connections/external-addresses: SNAT'ed entries (optionally narrowed by a filter). */
export const externalAddressesQuerySchema = z.strictObject({ ...filterShape, snapshot: snapshotId.optional() });
export type ExternalAddressesQuery = z.output<typeof externalAddressesQuerySchema>;

/** POST /api/connections/refresh and others: no parameters at all. */
export const emptySchema = z.strictObject({});

/** GET /api/stats: optionally the snapshot whose predecessor's counters to compare with (default: the latest). */
export const statsQuerySchema = z.strictObject({ snapshot: snapshotId.optional() });
export type StatsQuery = z.output<typeof statsQuerySchema>;

/** /api/connections/{id} */
export const idParamsSchema = z.strictObject({ id });

/** POST /api/connections/delete */
export const deleteBodySchema = z
  .strictObject({
    ids: z
      .array(id, { message: 'ids must be an array of connection ids' })
      .min(1, 'ids must not be empty')
      .max(MAX_DELETE_IDS, `ids may name at most ${MAX_DELETE_IDS} connections`)
      .optional(),
    filter: filterSchema.extend(uplinkShape).optional(),
    /** The snapshot the ids were read from (default: the latest). */
    snapshot: snapshotId.optional(),
    dryRun: z.boolean({ message: 'dryRun must be true or false' }).default(false),
  })
  .superRefine((body, ctx) => {
    const hasFilter = body.filter !== undefined && Object.values(body.filter).some((v) => v !== undefined);
    if (!body.ids && !hasFilter) {
      ctx.addIssue({ code: 'custom', path: ['filter'], message: 'give ids or a non-empty filter: deleting everything is what flush is for' });
    } else if (body.ids && body.filter !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['filter'], message: 'give either ids or a filter, not both' });
    } else if (body.snapshot !== undefined && !body.ids) {
      ctx.addIssue({ code: 'custom', path: ['snapshot'], message: 'snapshot only applies to ids: a filter is matched against the live table' });
    }
  });
export type DeleteBody = z.output<typeof deleteBodySchema>;

/** POST /api/connections/cleanup: the entries of an uplink (its current and former addresses) or of addresses. */
export const MAX_CLEANUP_ADDRESSES = 64;
export const cleanupBodySchema = z
  .strictObject({
    wan: uplinkShape.wan,
    addresses: z
      .array(
        z
          .string({ message: 'addresses must be IPv4 or IPv6 addresses' })
          .trim()
          .refine((v) => isIP(v) !== 0, { message: 'addresses must be IPv4 or IPv6 addresses' }),
        { message: 'addresses must be an array of addresses' },
      )
      .min(1, 'addresses must not be empty')
      .max(MAX_CLEANUP_ADDRESSES, `addresses may name at most ${MAX_CLEANUP_ADDRESSES} addresses`)
      .optional(),
    /** Also the inbound port forwards (DNAT) to these addresses. */
    inbound: z.boolean({ message: 'inbound must be true or false' }).default(false),
    dryRun: z.boolean({ message: 'dryRun must be true or false' }).default(false),
  })
  .superRefine((body, ctx) => {
    if ((body.wan === undefined) === (body.addresses === undefined)) ctx.addIssue({ code: 'custom', path: ['wan'], message: 'give either wan or addresses' });
  });
export type CleanupBody = z.output<typeof cleanupBodySchema>;

/** POST /api/connections/flush */
export const flushBodySchema = z.strictObject({
  family: z.enum(['ipv4', 'ipv6'], { message: 'family must be ipv4 or ipv6' }).optional(),
});
export type FlushBody = z.output<typeof flushBodySchema>;

/** POST /api/settings: one net.netfilter setting (with or without the "net.netfilter." prefix) and its new value. */
export const settingChangeSchema = z.strictObject({
  name: z.string({ message: 'name must be a setting name' }).trim().min(1, 'name must be a setting name').max(128, 'name must be at most 128 characters'),
  value: z.union([z.number(), z.string().max(64, 'value must be at most 64 characters')], { message: 'value must be a number' }),
});
export type SettingChangeBody = z.output<typeof settingChangeSchema>;
