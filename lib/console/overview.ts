// GET /api/overview: what fills the table - the snapshot's entries in groups (source host, destination host,
// destination port, external address, WAN, protocol, state, UDP replied/unreplied, zone, mark), the top N by
// entries or bytes and the rest as "others", each group with the filter that opens (or deletes) exactly it.
// The snapshot keeps its groupings columnar (lib/conntrack/snapshot/groups.ts); this adds the WAN column, the
// uplink filters and the names.
import { z } from 'zod';
import { filterShape, GROUP_KEYS, GROUP_METRICS, toFilter, type Group, type GroupKey, type GroupMetric, type Grouping, type Others } from '@/lib/conntrack';
import { snapshotSummary, type ApiSnapshot } from './connection';
import { consoleFilterOptions } from './filter-options';
import { consoleNames } from './names';
import { integer, listQuerySchema, uplinkShape } from './schemas';
import { consoleService } from './service';
import { timedJson } from './server-timing';
import { checkWan, uplinkFilterOf } from './uplink-queries';
import { NO_WAN, UNKNOWN_WAN, uplinkColumnsInTurns, uplinkMask, uplinkService } from './uplinks';

export const OVERVIEW_MAX_LIMIT = 100;

/** GET /api/overview */
export const overviewQuerySchema = z.strictObject({
  ...filterShape,
  ...uplinkShape,
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
  /** The top groups, largest first (ties: more entries first, then in key order: addresses and numbers numerically). */
  groups: ApiGroup[];
  /** The groups after the top ones, summed. */
  others: Others;
  /** Matching entries the grouping does not apply to (no port, no NAT, neither TCP nor UDP). */
  ungrouped: number;
}

/** The name beside a group's key: a host for an address, a service for a port. */
function nameOf(by: GroupKey, group: Group): string | undefined {
  const names = consoleNames();
  if (by === 'src' || by === 'dst') return names.nameOf(group.key)?.name;
  if (by === 'external') return names.nameOf(group.filter.replyDst ?? group.filter.dst ?? '')?.name;
  if (by === 'dport') return names.serviceOf(group.filter.protocol, Number(group.filter.dport));
  return undefined;
}

export async function overview(query: OverviewQuery): Promise<OverviewResponse> {
  const { by, metric, limit, snapshot: snapshotId, ...rest } = query;
  const [uplink, fields] = uplinkFilterOf(rest);
  const snapshot = await consoleService().snapshots.get(snapshotId);
  const filter = toFilter(fields, consoleFilterOptions());
  const service = uplink || by === 'wan' ? await uplinkService() : undefined;
  const columns = service ? await uplinkColumnsInTurns(snapshot, service) : undefined;
  if (service) checkWan(service, uplink?.wan);
  const where = uplink && columns ? uplinkMask(columns, uplink) : undefined;
  const total = snapshot.count(filter, undefined, where);
  let grouping: Grouping;
  if (by === 'wan') {
    const wan = columns!;
    // The WAN column's -1 and -2 are its values "none" (routed, not through a WAN) and "unknown".
    grouping = await snapshot.groupsInTurns({ names: wan.names, index: wan.wan, negative: [NO_WAN, UNKNOWN_WAN], field: 'wan' }, filter, where);
  } else grouping = await snapshot.groupsInTurns(by, filter, where);
  const { groups: top, others } = grouping.top(limit, metric);
  const groups = top.map((g): ApiGroup => {
    const name = nameOf(by, g);
    return name ? { ...g, name } : g;
  });
  return { snapshot: snapshotSummary(snapshot), by, metric, total, groups, others, ungrouped: total - grouping.grouped };
}

/** GET /api/overview's answer, with the time the grouping took as Server-Timing (what bench:api reports). */
export const overviewResponse = (query: OverviewQuery): Promise<Response> => timedJson('overview', () => overview(query));
