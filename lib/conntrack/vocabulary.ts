// The words the browser shares with the server about a snapshot. Client-safe: no Node imports, no server code,
// so app/ can use it in client components.

/** Columns a snapshot can be sorted by (the grid's column ids). */
export const SORT_KEYS = [
  'id',
  'family',
  'protocol',
  'src',
  'dst',
  'sport',
  'dport',
  'replySrc',
  'replyDst',
  'replySport',
  'replyDport',
  'state',
  'status',
  'timeout',
  'mark',
  'zone',
  'use',
  'packetsOriginal',
  'bytesOriginal',
  'packetsReply',
  'bytesReply',
  'packets',
  'bytes',
  'startedAt',
] as const;
export type SortKey = (typeof SORT_KEYS)[number];

/**
 * What the overview groups a snapshot by: source / destination host (original direction), destination port (per
 * protocol), external address (NAT), WAN (the console's router-aware column), protocol, state (TCP states, UDP
 * replied/unreplied), UDP replied/unreplied alone, zone, mark.
 */
export const GROUP_KEYS = ['src', 'dst', 'dport', 'external', 'wan', 'protocol', 'state', 'udp', 'zone', 'mark'] as const;
export type GroupKey = (typeof GROUP_KEYS)[number];
/** What groups are ranked by: entries, or bytes both ways. */
export const GROUP_METRICS = ['count', 'bytes'] as const;
export type GroupMetric = (typeof GROUP_METRICS)[number];
