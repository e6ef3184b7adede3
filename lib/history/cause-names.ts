// The termination causes and their labels: no imports, so the pages can use them in the browser.
export const CAUSES = ['client', 'server', 'reset', 'timeout', 'admin', 'flush', 'deleted'] as const;
/**
 * client / server: that side sent the first FIN. reset: TCP ended in CLOSE with no FIN first (RST). timeout: expired
 * without a close (UDP, ICMP, idle TCP). admin: deleted from this console. flush: this console emptied the table.
 * deleted: removed before it expired by something else (conntrack -D, another tool, the kernel under pressure).
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
};

