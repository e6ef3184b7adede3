// The router module's migrations (module "router" in schema_migrations). Never edit a shipped one: add the next.
import type { Migration } from '@/lib/store';

export const ROUTER_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'addresses each WAN holds and held',
    sql: `
      CREATE TABLE router_wan_addresses (
        wan TEXT NOT NULL,          -- the WAN's name (its interface name unless configured)
        interface TEXT NOT NULL,
        family TEXT NOT NULL,       -- ipv4 or ipv6
        address TEXT NOT NULL,      -- canonical text
        first_seen INTEGER NOT NULL, -- ms since the epoch
        last_seen INTEGER NOT NULL,
        removed_at INTEGER,         -- NULL while the interface holds it
        PRIMARY KEY (wan, address)
      );
      CREATE INDEX router_wan_addresses_removed_at ON router_wan_addresses (removed_at);
    `,
  },
];
