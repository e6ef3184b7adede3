// The recorder's settings, read from the environment in one function so a central configuration can replace it.
export interface HistoryConfig {
  /** CONNTRACK_HISTORY: "off" disables the recorder (the history pages still read what was stored). */
  enabled: boolean;
  /**
   * CONNTRACK_HISTORY_RETENTION_DAYS: ended connections older than this are pruned (0: no age limit), a whole
   * partition at a time (a row stays at most a 16th longer: store.ts HISTORY_PARTITIONS).
   */
  retentionDays: number;
  /**
   * CONNTRACK_HISTORY_MAX_ROWS: at most this many rows are kept, the oldest partition going whole, so between this
   * less a 16th and this many (0: no row limit).
   */
  maxRows: number;
  /** CONNTRACK_HISTORY_FLUSH_MS: buffered rows are written at least this often. */
  flushIntervalMs: number;
  /** CONNTRACK_HISTORY_FLUSH_ROWS: ... or as soon as this many are buffered. */
  flushRows: number;
  /** CONNTRACK_EVENTS_RCVBUF: SO_RCVBUF of the event socket, bytes. */
  receiveBufferBytes: number;
  /** CONNTRACK_HISTORY_TRACKED_MAX: live connections whose first FIN is remembered until they end. */
  trackedMax: number;
  /** CONNTRACK_HISTORY_SET_SYSCTL: "0" leaves net.netfilter.nf_conntrack_events alone. */
  setEventsSysctl: boolean;
  /** CONNTRACK_HISTORY_RECONCILE_SECONDS: a background dump this often while entries open at the start remain. */
  reconcileSeconds: number;
  /** CONNTRACK_HISTORY_JSONL: ended connections also as JSON lines, to this file ("-": standard output); unset: off. */
  linesPath: string | undefined;
  /** CONNTRACK_HISTORY_JSONL_MAX_BYTES: the file is rotated before it passes this size. */
  linesMaxBytes: number;
  /** CONNTRACK_HISTORY_JSONL_FILES: rotated files kept (FILE.1 ... FILE.N). */
  linesKeep: number;
}

export const HISTORY_DEFAULTS: HistoryConfig = {
  enabled: true,
  retentionDays: 7,
  maxRows: 5_000_000,
  flushIntervalMs: 500,
  flushRows: 5000,
  // 32 MiB: no loss at 5,000 new + 5,000 ended connections per second on the benchmark machine (bench:history).
  receiveBufferBytes: 32 * 1024 * 1024,
  trackedMax: 500_000,
  setEventsSysctl: true,
  reconcileSeconds: 60,
  linesPath: undefined,
  linesMaxBytes: 100 * 1024 * 1024,
  linesKeep: 5,
};

function number(env: Readonly<Record<string, string | undefined>>, name: string, fallback: number, min: number): number {
  const text = env[name]?.trim();
  if (!text) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number >= ${min}: "${text}"`);
  return value;
}

export function historyConfig(env: Readonly<Record<string, string | undefined>> = process.env): HistoryConfig {
  const d = HISTORY_DEFAULTS;
  return {
    enabled: (env.CONNTRACK_HISTORY ?? '').trim().toLowerCase() !== 'off',
    retentionDays: number(env, 'CONNTRACK_HISTORY_RETENTION_DAYS', d.retentionDays, 0),
    maxRows: Math.floor(number(env, 'CONNTRACK_HISTORY_MAX_ROWS', d.maxRows, 0)),
    flushIntervalMs: number(env, 'CONNTRACK_HISTORY_FLUSH_MS', d.flushIntervalMs, 10),
    flushRows: Math.floor(number(env, 'CONNTRACK_HISTORY_FLUSH_ROWS', d.flushRows, 1)),
    receiveBufferBytes: Math.floor(number(env, 'CONNTRACK_EVENTS_RCVBUF', d.receiveBufferBytes, 1024)),
    trackedMax: Math.floor(number(env, 'CONNTRACK_HISTORY_TRACKED_MAX', d.trackedMax, 1)),
    setEventsSysctl: (env.CONNTRACK_HISTORY_SET_SYSCTL ?? '1').trim() !== '0',
    reconcileSeconds: number(env, 'CONNTRACK_HISTORY_RECONCILE_SECONDS', d.reconcileSeconds, 1),
    linesPath: env.CONNTRACK_HISTORY_JSONL?.trim() || undefined,
    linesMaxBytes: Math.floor(number(env, 'CONNTRACK_HISTORY_JSONL_MAX_BYTES', d.linesMaxBytes, 4096)),
    linesKeep: Math.floor(number(env, 'CONNTRACK_HISTORY_JSONL_FILES', d.linesKeep, 0)),
  };
}
