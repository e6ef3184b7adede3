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
