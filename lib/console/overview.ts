// GET /api/overview: what fills the table - the snapshot's entries in groups (source host, destination host,
// destination port, external address, protocol, state, zone, mark), the top N by entries or bytes and the
// rest as "others", each group with the filter that opens (or deletes) exactly it.
import { z } from 'zod';
import { filterShape, GROUP_KEYS, GROUP_METRICS, toFilter, type Group, type GroupKey, type GroupMetric } from '@/lib/conntrack';
import { snapshotSummary, type ApiSnapshot } from './connection';
import { consoleFilterOptions } from './filter-options';
import { consoleNames } from './names';
import { integer, listQuerySchema } from './schemas';
import { consoleService } from './service';

export const OVERVIEW_MAX_LIMIT = 100;

/** GET /api/overview */
export const overviewQuerySchema = z.strictObject({
  ...filterShape,
  by: z.enum(GROUP_KEYS, { message: `by must be one of ${GROUP_KEYS.join(', ')}` }),
  metric: z.enum(GROUP_METRICS, { message: `metric must be one of ${GROUP_METRICS.join(', ')}` }).default('count'),
  limit: integer('limit', 1, OVERVIEW_MAX_LIMIT).default(10),
  snapshot: listQuerySchema.shape.snapshot,
});
export type OverviewQuery = z.output<typeof overviewQuerySchema>;

export interface ApiGroup extends Group {
  /** A host name (DHCP leases, /etc/hosts) for an address, or the service name of a port ("https"). */
  name?: string;
}

export interface OverviewResponse {
  snapshot: ApiSnapshot;
  by: GroupKey;
  metric: GroupMetric;
  /** Entries matching the filter. */
  total: number;
  /** The top groups, largest first (ties by key). */
  groups: ApiGroup[];
  /** The groups after the top ones, summed. */
  others: { groups: number; count: number; bytes: { original: number; reply: number } };
  /** Matching entries the grouping does not apply to (no port, no NAT, neither TCP nor UDP). */
  ungrouped: number;
}

const weight = (g: Group, metric: GroupMetric): number => (metric === 'count' ? g.count : g.bytes.original + g.bytes.reply);
/** Ties by key in code-unit order: localeCompare costs microseconds a call, and 30,000 source hosts tie a lot. */
const byKey = (a: Group, b: Group): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** The name beside a group's key: a host for an address, a service for a port. */
function nameOf(by: GroupKey, group: Group): string | undefined {
  const names = consoleNames();
  if (by === 'src' || by === 'dst') return names.nameOf(group.key)?.name;
  if (by === 'external') return names.nameOf(group.filter.replyDst ?? group.filter.dst ?? '')?.name;
  if (by === 'dport') return names.serviceOf(group.filter.protocol, Number(group.filter.dport));
  return undefined;
}

export async function overview(query: OverviewQuery): Promise<OverviewResponse> {
  const { by, metric, limit, snapshot: snapshotId, ...fields } = query;
  const snapshot = await consoleService().snapshots.get(snapshotId);
  const filter = toFilter(fields, consoleFilterOptions());
  const total = snapshot.count(filter);
  const all = snapshot.groups(by, filter).sort((a, b) => weight(b, metric) - weight(a, metric) || b.count - a.count || byKey(a, b));
  const top = all.slice(0, limit);
  const others = { groups: all.length - top.length, count: 0, bytes: { original: 0, reply: 0 } };
  for (const g of all.slice(limit)) {
    others.count += g.count;
    others.bytes.original += g.bytes.original;
    others.bytes.reply += g.bytes.reply;
  }
  const grouped = top.reduce((sum, g) => sum + g.count, others.count);
  const groups = top.map((g): ApiGroup => {
    const name = nameOf(by, g);
    return name ? { ...g, name } : g;
  });
  return { snapshot: snapshotSummary(snapshot), by, metric, total, groups, others, ungrouped: total - grouped };
}
