// The stats module's migrations (module "stats" in schema_migrations). Never edit a shipped one: add the next.
import type { Migration } from '@/lib/store';

export const STATS_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'table usage samples (kept a day) and their 5-minute min/avg/max (kept 30 days)',
    sql: `
      -- One row per sample. Rates are per second over the interval since the sample before; NULL when unknown
      -- (the first sample, a counter that went back, the recorder not running).
      CREATE TABLE stats_points (
        at INTEGER PRIMARY KEY,             -- ms since the epoch
        entries INTEGER NOT NULL, max_entries INTEGER NOT NULL,
        new_ps REAL, ended_ps REAL, drop_ps REAL, early_drop_ps REAL, invalid_ps REAL, insert_failed_ps REAL
      ) WITHOUT ROWID;
      CREATE TABLE stats_rollups (
        at INTEGER PRIMARY KEY,             -- start of the 5-minute bucket, ms
        samples INTEGER NOT NULL,
        entries_min INTEGER, entries_avg REAL, entries_max INTEGER,
        max_entries_min INTEGER, max_entries_avg REAL, max_entries_max INTEGER,
        new_ps_min REAL, new_ps_avg REAL, new_ps_max REAL,
        ended_ps_min REAL, ended_ps_avg REAL, ended_ps_max REAL,
        drop_ps_min REAL, drop_ps_avg REAL, drop_ps_max REAL,
        early_drop_ps_min REAL, early_drop_ps_avg REAL, early_drop_ps_max REAL,
        invalid_ps_min REAL, invalid_ps_avg REAL, invalid_ps_max REAL,
        insert_failed_ps_min REAL, insert_failed_ps_avg REAL, insert_failed_ps_max REAL
      ) WITHOUT ROWID;
    `,
  },
];
