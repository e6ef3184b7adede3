// Names for addresses and ports: DHCP leases, /etc/hosts and /etc/services, reverse DNS (lib/names knows files and
// resolvers, not HTTP).
export { Names, DEFAULT_NAME_FILES, type HostName, type NameFile, type NameFileStatus, type NameSource, type NamesOptions } from './names';
export { ReverseDns, REVERSE_DNS_PER_PAGE, REVERSE_DNS_TIMEOUT_MS, REVERSE_DNS_TTL_MS, type ReverseAnswer, type ReverseDnsOptions } from './reverse';
export { canonicalAddress, NAME_FORMATS, parseDnsmasq, parseHosts, parseIscDhcpd, parseKeaCsv, parseOdhcpd, parseServices, type NameFormat, type NameRecord, type Parsed } from './parsers';
