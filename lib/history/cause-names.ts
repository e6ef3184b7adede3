// The history's vocabulary the pages need too (termination causes, their labels, the sort keys): no imports, so the
// browser can use it.
export const CAUSES = ['client', 'server', 'reset', 'timeout', 'admin', 'flush', 'deleted', 'unobserved'] as const;
/**
 * client / server: that side sent the first FIN. reset: TCP ended in CLOSE with no FIN first (RST). timeout: expired
 * without a close (UDP, ICMP, idle TCP). admin: deleted from this console. flush: this console emptied the table.
 * deleted: removed before it expired by something else (conntrack -D, another tool, the kernel under pressure).
 * unobserved: open when the recorder started, it ended without an event (nf_conntrack_events=2 gives such entries
 * none); found gone by a later dump, so the end is an interval (ended_after, ended_before).
 */
export type Cause = (typeof CAUSES)[number];

export const CAUSE_LABELS: Record<Cause, string> = {
  client: 'closed by client (FIN)',
  server: 'closed by server (FIN)',
  reset: 'reset (RST)',
  timeout: 'timed out',
  admin: 'deleted by an administrator',
  flush: 'table flushed by an administrator',
  deleted: 'removed by another program',
  unobserved: 'ended unobserved (found gone)',
};

export const HISTORY_SORT_KEYS = ['ended', 'started', 'duration', 'id', 'protocol', 'state', 'cause', 'src', 'dst', 'external', 'bytes', 'packets'] as const;
export type HistorySortKey = (typeof HISTORY_SORT_KEYS)[number];

