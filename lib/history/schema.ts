// The history module's migrations (module "history" in schema_migrations). Never edit a shipped one: add the next.
import type { Migration } from '@/lib/store';

export const HISTORY_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'ended connections and event-loss gaps',
    sql: `
      CREATE TABLE history (
        key INTEGER PRIMARY KEY,            -- our row id: kernel ids are reused over time
        id INTEGER NOT NULL,                -- CTA_ID
        family INTEGER NOT NULL,            -- 4 or 6
        protocol INTEGER NOT NULL,
        src TEXT NOT NULL, dst TEXT NOT NULL, sport INTEGER, dport INTEGER,
        reply_src TEXT NOT NULL, reply_dst TEXT NOT NULL, reply_sport INTEGER, reply_dport INTEGER,
        -- Addresses as 4 or 16 bytes too, so a prefix filter is a BETWEEN on bytes.
        src_b BLOB NOT NULL, dst_b BLOB NOT NULL, reply_src_b BLOB NOT NULL, reply_dst_b BLOB NOT NULL,
        icmp_type INTEGER, icmp_code INTEGER, icmp_id INTEGER,
        zone INTEGER NOT NULL, mark INTEGER NOT NULL, status INTEGER NOT NULL,
        state TEXT,                         -- final TCP state
        started_at INTEGER,                 -- ms since the epoch; NULL without nf_conntrack_timestamp
        ended_at INTEGER NOT NULL,
        packets_orig INTEGER, bytes_orig INTEGER, packets_reply INTEGER, bytes_reply INTEGER, -- NULL without accounting
        cause TEXT NOT NULL,
        closed_by TEXT                      -- who sent the first FIN, whatever the cause
      );
      CREATE INDEX history_ended_at ON history (ended_at);
      CREATE INDEX history_id ON history (id);
      CREATE TABLE history_gaps (
        key INTEGER PRIMARY KEY,
        started_at INTEGER NOT NULL,        -- first ENOBUFS of the episode, ms
        ended_at INTEGER NOT NULL,          -- resynchronised, ms
        overflows INTEGER NOT NULL,
        lost_events INTEGER                 -- exact drops of the socket; NULL when /proc could not tell
      );
    `,
  },
  {
    version: 2,
    description: 'gaps say why (overflow, console down, namespace replaced, rows not written); a heartbeat row',
    sql: `
      ALTER TABLE history_gaps ADD COLUMN reason TEXT NOT NULL DEFAULT 'overflow';
      ALTER TABLE history_gaps ADD COLUMN lost_rows INTEGER;  -- ended connections that could not be written
      CREATE TABLE history_heartbeat (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        at INTEGER NOT NULL                 -- ms: the recorder was running then; a start after it records the gap
      );
    `,
  },
  {
    version: 3,
    description: 'external address, end intervals, who deleted, and an index per filterable column',
    sql: `
      -- The router's external address and port (SNAT: reply destination; DNAT: original destination), for the NAT
      -- lookup; NULL for routed entries.
      ALTER TABLE history ADD COLUMN ext_b BLOB;
      ALTER TABLE history ADD COLUMN ext_port INTEGER;
      -- An end seen only as "gone by the next dump" (cause unobserved): after / before, ms. NULL when exact.
      ALTER TABLE history ADD COLUMN ended_after INTEGER;
      ALTER TABLE history ADD COLUMN ended_before INTEGER;
      -- The console user whose delete or flush ended it (admin / flush).
      ALTER TABLE history ADD COLUMN deleted_by TEXT;
      UPDATE history SET
        ext_b = CASE WHEN status & 16 THEN reply_dst_b WHEN status & 32 THEN dst_b END,
        ext_port = CASE WHEN status & 16 THEN reply_dport WHEN status & 32 THEN dport END;
      -- Every index ends with ended_at (and the rowid): an equality on its column walks newest first, no sort.
      CREATE INDEX history_src ON history (src_b, ended_at);
      CREATE INDEX history_dst ON history (dst_b, ended_at);
      CREATE INDEX history_reply_src ON history (reply_src_b, ended_at);
      CREATE INDEX history_reply_dst ON history (reply_dst_b, ended_at);
      CREATE INDEX history_sport ON history (sport, ended_at);
      CREATE INDEX history_dport ON history (dport, ended_at);
      CREATE INDEX history_reply_sport ON history (reply_sport, ended_at);
      CREATE INDEX history_reply_dport ON history (reply_dport, ended_at);
      CREATE INDEX history_external ON history (ext_b, ext_port, ended_at);
      CREATE INDEX history_protocol ON history (protocol, ended_at);
      CREATE INDEX history_cause ON history (cause, ended_at);
    `,
  },
  {
    version: 4,
    description: 'time-ordered partitions: the catalog, with the history table as the oldest partition',
    sql: `
      -- The partitions of the history: n 0 is the table history itself (the rows of earlier versions stay where they
      -- are), n > 0 is history_<n> (store.ts partitionDdl: the same columns and indexes). New rows go into the
      -- newest; the retention removes the oldest whole (writer-job.ts). A key belongs to the partition whose
      -- first_key is the greatest not above it.
      CREATE TABLE history_partitions (
        n INTEGER PRIMARY KEY,
        rows INTEGER NOT NULL,              -- exact: every insert and delete updates it in its transaction
        first_key INTEGER NOT NULL,
        min_ended INTEGER, max_ended INTEGER, -- bounds of ended_at (a delete may leave them wider); NULL when empty
        retired INTEGER NOT NULL DEFAULT 0  -- 1: being emptied by the retention, read by no query
      );
      INSERT INTO history_partitions (n, rows, first_key, min_ended, max_ended)
        SELECT 0, COUNT(*), 1, MIN(ended_at), MAX(ended_at) FROM history;
    `,
  },
];
