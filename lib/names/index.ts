// Names for addresses and ports: DHCP leases, /etc/hosts and /etc/services (lib/names knows files, not HTTP).
export { Names, DEFAULT_NAME_FILES, type HostName, type NameFile, type NameFileStatus, type NamesOptions } from './names';
export { canonicalAddress, NAME_FORMATS, parseDnsmasq, parseHosts, parseIscDhcpd, parseKeaCsv, parseOdhcpd, parseServices, type NameFormat, type NameRecord, type Parsed } from './parsers';
