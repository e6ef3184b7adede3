// Names for addresses from the files a router keeps (DHCP leases, /etc/hosts) and port names from /etc/services.
// Files are read on first use and read again when they change (checked by stat, at most once a second: lease files
// are rewritten by renaming, which a file watcher can miss). A file that does not exist is simply not a source;
// a malformed one is reported once per version (the warn callback and status()) and its good lines still count.
import { readFileSync, statSync } from 'node:fs';
import { canonicalAddress, PARSERS, parseServices, type NameFormat, type NameRecord } from './parsers';

export interface NameFile {
  format: NameFormat;
  path: string;
}

/** Where each format lives by default (Debian/Ubuntu packages and OpenWrt). */
export const DEFAULT_NAME_FILES: readonly NameFile[] = [
  { format: 'hosts', path: '/etc/hosts' },
  { format: 'dnsmasq', path: '/var/lib/misc/dnsmasq.leases' },
  { format: 'dnsmasq', path: '/tmp/dhcp.leases' },
  { format: 'odhcpd', path: '/tmp/hosts/odhcpd' },
  { format: 'isc', path: '/var/lib/dhcp/dhcpd.leases' },
  { format: 'isc', path: '/var/lib/dhcp/dhcpd6.leases' },
  { format: 'kea', path: '/var/lib/kea/kea-leases4.csv' },
  { format: 'kea', path: '/var/lib/kea/kea-leases6.csv' },
];

/** Where a name came from: the format of the file that gave it, or reverse DNS. */
export type NameSource = NameFormat | 'dns';

export interface HostName {
  name: string;
  /** The format of the file it came from, or 'dns' (a PTR record). */
  source: NameSource;
  mac?: string;
}

export interface NameFileStatus extends NameFile {
  present: boolean;
  names: number;
  /** The problems of the version read last (at most 20), empty when it parsed cleanly. */
  problems: string[];
  readAt?: string;
}

export interface NamesOptions {
  /** In order of precedence: the first file that names an address wins. */
  files?: readonly NameFile[];
  servicesFile?: string;
  /** Called once per malformed version of a file. */
  warn?: (message: string, details: { path: string; format: NameFormat; problems: string[] }) => void;
  checkIntervalMs?: number;
  now?: () => number;
}

interface Loaded {
  version: string;
  records: NameRecord[];
  problems: string[];
  readAt: number;
}

const MAX_PROBLEMS = 20;

export class Names {
  private readonly files: readonly NameFile[];
  private readonly servicesFile: string;
  private readonly warn: NonNullable<NamesOptions['warn']>;
  private readonly interval: number;
  private readonly now: () => number;
  private readonly loaded = new Map<string, Loaded | null>();
  private checkedAt = Number.NEGATIVE_INFINITY;
  private byAddress = new Map<string, HostName>();
  /** Every name of a named address (its name first, then aliases), lower-case: what host= and free text match. */
  private namesByAddress = new Map<string, string[]>();
  private built = false;
  private services: { version: string; map: Map<string, string> } | undefined;

  constructor(options: NamesOptions = {}) {
    this.files = options.files ?? DEFAULT_NAME_FILES;
    this.servicesFile = options.servicesFile ?? '/etc/services';
    this.warn = options.warn ?? (() => undefined);
    this.interval = options.checkIntervalMs ?? 1000;
    this.now = options.now ?? Date.now;
  }

  /** The name of an address (any spelling), or undefined. */
  nameOf(address: string): HostName | undefined {
    this.refresh();
    const key = canonicalAddress(address);
    return key === undefined ? undefined : this.byAddress.get(key);
  }

  /** Every named address whose name is `pattern` (case-insensitive), or ends in the suffix of "*.suffix". */
  addressesOf(pattern: string): string[] {
    this.refresh();
    const wanted = pattern.trim().toLowerCase();
    const suffix = wanted.startsWith('*.') ? wanted.slice(1) : undefined;
    const out: string[] = [];
    for (const [address, names] of this.namesByAddress) if (names.some((name) => (suffix ? name.endsWith(suffix) : name === wanted))) out.push(address);
    return out;
  }

  /** Named addresses whose name contains the text (for free-text search). */
  addressesMatching(text: string): string[] {
    this.refresh();
    const needle = text.trim().toLowerCase();
    if (!needle) return [];
    const out: string[] = [];
    for (const [address, names] of this.namesByAddress) if (names.some((name) => name.includes(needle))) out.push(address);
    return out;
  }

  /** The /etc/services name of a port ("https" for tcp/443), or undefined. */
  serviceOf(protocol: string, port: number): string | undefined {
    this.refresh();
    return this.services?.map.get(`${protocol}/${port}`);
  }

  /** What each file gave, for the operator. */
  status(): NameFileStatus[] {
    this.refresh();
    return this.files.map((file) => {
      const loaded = this.loaded.get(file.path);
      return loaded
        ? { ...file, present: true, names: loaded.records.length, problems: loaded.problems, readAt: new Date(loaded.readAt).toISOString() }
        : { ...file, present: false, names: 0, problems: [] };
    });
  }

  /** Reads the files that changed since the last check (at most once per interval). */
  refresh(force = false): void {
    const now = this.now();
    if (!force && now - this.checkedAt < this.interval) return;
    this.checkedAt = now;
    let changed = false;
    for (const file of this.files) changed = this.load(file) || changed;
    if (changed || !this.built) this.rebuild();
    this.loadServices();
  }

  private load(file: NameFile): boolean {
    const version = versionOf(file.path);
    const previous = this.loaded.get(file.path);
    if (version === null) {
      this.loaded.set(file.path, null);
      return previous !== null && previous !== undefined;
    }
    if (previous && previous.version === version) return false;
    let text: string;
    try {
      text = readFileSync(file.path, 'utf8');
    } catch (error) {
      this.report(file, [`cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`]);
      this.loaded.set(file.path, { version, records: [], problems: ['cannot be read'], readAt: this.now() });
      return true;
    }
    const parsed = PARSERS[file.format](text);
    const problems = parsed.problems.slice(0, MAX_PROBLEMS);
    if (problems.length) this.report(file, problems);
    this.loaded.set(file.path, { version, records: parsed.records, problems, readAt: this.now() });
    return true;
  }

  private report(file: NameFile, problems: string[]): void {
    this.warn(`${file.path} (${file.format}): ${problems.length} line(s) not understood, the rest is used; first: ${problems[0]}`, { path: file.path, format: file.format, problems });
  }

  private rebuild(): void {
    const map = new Map<string, HostName>();
    const names = new Map<string, string[]>();
    for (const file of this.files) {
      for (const record of this.loaded.get(file.path)?.records ?? []) {
        const seen = map.get(record.address);
        if (!seen) {
          map.set(record.address, { name: record.name, source: file.format, ...(record.mac ? { mac: record.mac } : {}) });
          names.set(record.address, [record.name, ...(record.aliases ?? [])]);
        } else if (!seen.mac && record.mac) seen.mac = record.mac;
      }
    }
    this.byAddress = map;
    this.namesByAddress = names;
    this.built = true;
  }

  private loadServices(): void {
    const version = versionOf(this.servicesFile);
    if (version === null) {
      this.services = undefined;
      return;
    }
    if (this.services?.version === version) return;
    try {
      this.services = { version, map: parseServices(readFileSync(this.servicesFile, 'utf8')) };
    } catch {
      this.services = undefined;
    }
  }
}

/** What changes when a file is rewritten in place or replaced by a rename; null when it does not exist. */
function versionOf(path: string): string | null {
  try {
    const stat = statSync(path);
    return stat.isFile() ? `${stat.ino}:${stat.size}:${stat.mtimeMs}` : null;
  } catch {
    return null;
  }
}
