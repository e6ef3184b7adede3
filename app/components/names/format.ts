// How a name is described beside an address: where it came from, and the MAC the lease or the neighbour table gave.
import type { PageNames } from '../api/types';

type HostName = PageNames['names'][string];

const SOURCE_TEXT: Partial<Record<HostName['source'], string>> = { hosts: 'hosts file', dns: 'reverse DNS' };

/** "laptop (dnsmasq lease, MAC 02:00:...)", "echo.example.net (reverse DNS)". */
export function hostText(host: HostName | undefined): string | undefined {
  if (!host) return undefined;
  return `${host.name} (${SOURCE_TEXT[host.source] ?? `${host.source} lease`}${host.mac ? `, MAC ${host.mac}` : ''})`;
}
