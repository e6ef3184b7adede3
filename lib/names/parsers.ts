// Parsers for the files that name hosts on a router: DHCP lease files (dnsmasq, odhcpd, ISC dhcpd, Kea memfile
// CSV), /etc/hosts, and /etc/services for port names. Each returns what it understood and, per line it did not,
// a problem ("line 3: ..."), so one bad line never hides the rest of the file.
import { isIP } from 'node:net';

export const NAME_FORMATS = ['dnsmasq', 'odhcpd', 'isc', 'kea', 'hosts'] as const;
export type NameFormat = (typeof NAME_FORMATS)[number];

export interface NameRecord {
  /** Canonical address text (canonicalAddress). */
  address: string;
  name: string;
  mac?: string;
  /** Other names of the address (/etc/hosts aliases): host= and free text find them too. */
  aliases?: string[];
}

export interface Parsed {
  records: NameRecord[];
  problems: string[];
}

/** One spelling per address: IPv6 compressed and lower-case (RFC 5952, as URL hosts are), IPv4 as is. */
export function canonicalAddress(text: string): string | undefined {
  const kind = isIP(text);
  if (kind === 4) return text;
  if (kind !== 6 || text.includes('%')) return undefined;
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
/** What a DHCP client may call itself, as a DNS label sequence (a trailing dot dropped). */
const HOST_NAME = /^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$/i;

function cleanName(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  const name = raw.replace(/\.$/, '');
  return name && name !== '*' && name !== '-' && HOST_NAME.test(name) ? name.toLowerCase() : undefined;
}

function lines(text: string): { line: string; number: number }[] {
  return text.split('\n').map((line, i) => ({ line: line.trim(), number: i + 1 }));
}

/**
 * dnsmasq's lease file: "EXPIRY MAC ADDRESS NAME CLIENT-ID" for DHCPv4, and after a "duid ..." line
 * "EXPIRY IAID ADDRESS NAME CLIENT-ID" for DHCPv6. A name of "*" means the client sent none.
 */
export function parseDnsmasq(text: string): Parsed {
  const out: Parsed = { records: [], problems: [] };
  for (const { line, number } of lines(text)) {
    if (!line || line.startsWith('duid ')) continue;
    const fields = line.split(/\s+/);
    const address = canonicalAddress(fields[2] ?? '');
    if (fields.length < 4 || !/^\d+$/.test(fields[0]) || !address) {
      out.problems.push(`line ${number}: expected "expiry mac-or-iaid address name client-id"`);
      continue;
    }
    const name = cleanName(fields[3]);
    if (name) out.records.push({ address, name, ...(MAC.test(fields[1]) ? { mac: fields[1].toLowerCase() } : {}) });
  }
  return out;
}

/**
 * odhcpd's lease file (OpenWrt, /tmp/hosts/odhcpd): "# IFACE DUID IAID NAME VALID-UNTIL ASSIGNED LENGTH ADDR/LEN..."
 * state lines, and hosts-format "ADDRESS NAME" lines for dnsmasq to read.
 */
export function parseOdhcpd(text: string): Parsed {
  const out: Parsed = { records: [], problems: [] };
  for (const { line, number } of lines(text)) {
    if (!line) continue;
    if (line.startsWith('#')) {
      const fields = line.slice(1).trim().split(/\s+/);
      if (fields.length < 8) {
        out.problems.push(`line ${number}: expected "# iface duid iaid name valid-until assigned length address/length..."`);
        continue;
      }
      const name = cleanName(fields[3]);
      for (const entry of fields.slice(7)) {
        const address = canonicalAddress(entry.split('/')[0]);
        if (!address) out.problems.push(`line ${number}: "${entry}" is not an address`);
        else if (name) out.records.push({ address, name });
      }
      continue;
    }
    const fields = line.split(/\s+/);
    const address = canonicalAddress(fields[0]);
    const name = cleanName(fields[1]);
    if (!address || fields.length < 2) out.problems.push(`line ${number}: expected "address name"`);
    else if (name) out.records.push({ address, name });
  }
  return out;
}

type Token = { kind: 'word' | 'string' | '{' | '}' | ';'; text: string; line: number };

function tokens(text: string): Token[] {
  const out: Token[] = [];
  let line = 1;
  for (let i = 0; i < text.length; ) {
    const c = text[i];
    if (c === '\n') line++;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '{' || c === '}' || c === ';') {
      out.push({ kind: c, text: c, line });
      i++;
    } else if (c === '"') {
      let j = i + 1;
      let value = '';
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\' && j + 1 < text.length) j++;
        value += text[j++];
      }
      out.push({ kind: 'string', text: value, line });
      i = j + 1;
    } else {
      let j = i;
      while (j < text.length && !/[\s{};"]/.test(text[j])) j++;
      out.push({ kind: 'word', text: text.slice(i, j), line });
      i = j;
    }
  }
  return out;
}

/**
 * ISC dhcpd.leases: "lease ADDRESS { ... hardware ethernet MAC; client-hostname "NAME"; }" blocks, appended as they
 * change (the last block of an address wins); DHCPv6 "iaaddr ADDRESS { ... }" blocks rarely carry a name but may
 * (set ddns-fwd-name = "NAME").
 */
export function parseIscDhcpd(text: string): Parsed {
  const out: Parsed = { records: [], problems: [] };
  const latest = new Map<string, NameRecord>();
  const all = tokens(text);
  let depth = 0;
  let current: { address: string; name?: string; mac?: string; depth: number; line: number } | undefined;
  for (let i = 0; i < all.length; i++) {
    const t = all[i];
    if (t.kind === '{') depth++;
    else if (t.kind === '}') {
      if (depth === 0) {
        out.problems.push(`line ${t.line}: "}" without a block`);
        continue;
      }
      if (current && current.depth === depth) {
        if (current.name) latest.set(current.address, { address: current.address, name: current.name, ...(current.mac ? { mac: current.mac } : {}) });
        else latest.delete(current.address);
        current = undefined;
      }
      depth--;
    } else if (t.kind === 'word' && (t.text === 'lease' || t.text === 'iaaddr') && all[i + 2]?.kind === '{') {
      const address = canonicalAddress(all[i + 1].text);
      if (!address) out.problems.push(`line ${t.line}: "${all[i + 1].text}" is not an address`);
      else if (!current) current = { address, depth: depth + 1, line: t.line };
    } else if (current && t.kind === 'word') {
      const next = all[i + 1];
      if (t.text === 'client-hostname' && next?.kind === 'string') current.name = cleanName(next.text) ?? current.name;
      else if (t.text === 'ddns-fwd-name' && all[i + 2]?.kind === 'string') current.name ??= cleanName(all[i + 2].text);
      else if (t.text === 'hardware' && next?.text === 'ethernet' && MAC.test(all[i + 2]?.text ?? '')) current.mac = all[i + 2].text.toLowerCase();
    }
  }
  if (depth !== 0) out.problems.push(`the file ends inside a block${current ? ` (the lease of ${current.address} from line ${current.line})` : ''}`);
  out.records.push(...latest.values());
  return out;
}

/** Kea's memfile CSV (kea-leases4.csv, kea-leases6.csv): a header row naming the columns; commas in values as &#x2c. */
export function parseKeaCsv(text: string): Parsed {
  const out: Parsed = { records: [], problems: [] };
  const rows = lines(text).filter((l) => l.line);
  const header = rows.shift();
  if (!header) return out;
  const columns = header.line.split(',');
  const at = (name: string) => columns.indexOf(name);
  const [address, hostname, hwaddr] = [at('address'), at('hostname'), at('hwaddr')];
  if (address < 0 || hostname < 0) {
    out.problems.push('line 1: expected a Kea lease header with "address" and "hostname" columns');
    return out;
  }
  const latest = new Map<string, NameRecord>();
  for (const { line, number } of rows) {
    const values = line.split(',').map((v) => v.replaceAll('&#x2c', ','));
    const canonical = canonicalAddress(values[address] ?? '');
    if (values.length !== columns.length || !canonical) {
      out.problems.push(`line ${number}: expected ${columns.length} comma-separated values starting with an address`);
      continue;
    }
    const name = cleanName(values[hostname]);
    const mac = hwaddr >= 0 && MAC.test(values[hwaddr]) ? values[hwaddr].toLowerCase() : undefined;
    // A later row of the same address replaces the earlier one (Kea appends).
    if (name) latest.set(canonical, { address: canonical, name, ...(mac ? { mac } : {}) });
    else latest.delete(canonical);
  }
  out.records.push(...latest.values());
  return out;
}

/** /etc/hosts: "ADDRESS NAME [ALIAS...]"; the first name is the one shown. */
export function parseHosts(text: string): Parsed {
  const out: Parsed = { records: [], problems: [] };
  for (const { line, number } of lines(text)) {
    const content = line.replace(/#.*/, '').trim();
    if (!content) continue;
    const fields = content.split(/\s+/);
    const address = canonicalAddress(fields[0]);
    const name = cleanName(fields[1]);
    const aliases = fields.slice(2).map(cleanName).filter((alias): alias is string => alias !== undefined && alias !== name);
    if (!address || !name) out.problems.push(`line ${number}: expected "address name [alias...]"`);
    else out.records.push({ address, name, ...(aliases.length ? { aliases } : {}) });
  }
  return out;
}

export const PARSERS: Record<NameFormat, (text: string) => Parsed> = {
  dnsmasq: parseDnsmasq,
  odhcpd: parseOdhcpd,
  isc: parseIscDhcpd,
  kea: parseKeaCsv,
  hosts: parseHosts,
};

/** /etc/services: "NAME PORT/PROTOCOL [ALIAS...]" -> "tcp/443" -> "https". */
export function parseServices(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const { line } of lines(text)) {
    const [name, portProtocol] = line.replace(/#.*/, '').trim().split(/\s+/);
    const match = /^(\d+)\/([a-z]+)$/.exec(portProtocol ?? '');
    const key = match && `${match[2]}/${match[1]}`;
    if (name && key && !out.has(key)) out.set(key, name);
  }
  return out;
}
