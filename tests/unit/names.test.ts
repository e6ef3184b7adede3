// lib/names: each lease format as the daemons write it, /etc/hosts and /etc/services; a malformed file is
// reported once and its good lines still count; a changed file (rewritten, or replaced by a rename) is picked up.
import { mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalAddress, Names, parseDnsmasq, parseHosts, parseIscDhcpd, parseKeaCsv, parseOdhcpd, parseServices } from '@/lib/names';

describe('parsers', () => {
  it('dnsmasq: DHCPv4 with the MAC, DHCPv6 after the duid line, "*" for no name', () => {
    const parsed = parseDnsmasq(
      [
        '1764590400 aa:bb:cc:00:00:10 192.168.1.10 laptop 01:aa:bb:cc:00:00:10',
        '1764590400 aa:bb:cc:00:00:11 192.168.1.11 * 01:aa:bb:cc:00:00:11',
        'duid 00:01:00:01:2c:4b:1a:2b:aa:bb:cc:00:00:01',
        '1764590400 3724468242 2001:DB8:0:0::10 laptop 00:01:00:01:2c:4b:1a:2b:aa:bb:cc:00:00:10',
        'garbage',
      ].join('\n'),
    );
    expect(parsed.records).toEqual([
      { address: '192.168.1.10', name: 'laptop', mac: 'aa:bb:cc:00:00:10' },
      { address: '2001:db8::10', name: 'laptop' },
    ]);
    expect(parsed.problems).toEqual(['line 5: expected "expiry mac-or-iaid address name client-id"']);
  });

  it('odhcpd: state lines with several addresses, and the hosts lines', () => {
    const parsed = parseOdhcpd(
      [
        '# br-lan 000100012c4b1a2baabbcc000010 ddf3a012 phone 1764590400 4 128 fd12:3456::1a/128 fd12:3456::1b/128',
        'fd12:3456::1a\tphone.lan phone',
        '# br-lan 000100012c4b1a2baabbcc000011 ddf3a013 - 1764590400 4 128 fd12:3456::2/128',
      ].join('\n'),
    );
    expect(parsed.records).toEqual([
      { address: 'fd12:3456::1a', name: 'phone' },
      { address: 'fd12:3456::1b', name: 'phone' },
      { address: 'fd12:3456::1a', name: 'phone.lan' },
    ]);
    expect(parsed.problems).toEqual([]);
  });

  it('ISC dhcpd.leases: the last block of an address wins; names, MACs, comments and quoted braces', () => {
    const parsed = parseIscDhcpd(`# The format of this file is documented in the dhcpd.leases(5) manual page.
lease 192.168.1.20 {
  starts 2 2026/12/01 08:00:00;
  binding state active;
  hardware ethernet AA:BB:CC:00:00:20;
  uid "\\001\\252\\273{";
  client-hostname "printer";
}
lease 192.168.1.21 {
  hardware ethernet aa:bb:cc:00:00:21;
  client-hostname "old-name";
}
lease 192.168.1.21 {
  binding state active;
  hardware ethernet aa:bb:cc:00:00:21;
  client-hostname "nas";
}
ia-na "\\000\\001" {
  iaaddr 2001:db8::21 {
    binding state active;
    set ddns-fwd-name = "nas.example.lan";
  }
}`);
    expect(parsed.problems).toEqual([]);
    expect(parsed.records).toEqual([
      { address: '192.168.1.20', name: 'printer', mac: 'aa:bb:cc:00:00:20' },
      { address: '192.168.1.21', name: 'nas', mac: 'aa:bb:cc:00:00:21' },
      { address: '2001:db8::21', name: 'nas.example.lan' },
    ]);
    expect(parseIscDhcpd('lease 192.168.1.30 {\n  client-hostname "cut";\n').problems).toEqual(['the file ends inside a block (the lease of 192.168.1.30 from line 1)']);
  });

  it('Kea memfile CSV (v4 and v6): columns by the header, a later row replaces an earlier one, &#x2c for commas', () => {
    const v4 = parseKeaCsv(
      [
        'address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context,pool_id',
        '192.168.1.40,aa:bb:cc:00:00:40,,4000,1764590400,1,0,0,tv.,0,,0',
        '192.168.1.41,aa:bb:cc:00:00:41,,4000,1764590400,1,0,0,first,0,,0',
        '192.168.1.41,aa:bb:cc:00:00:41,,4000,1764594000,1,0,0,second,0,{ "a"&#x2c "b" },0',
        '192.168.1.42,short,row',
      ].join('\n'),
    );
    expect(v4.records).toEqual([
      { address: '192.168.1.40', name: 'tv', mac: 'aa:bb:cc:00:00:40' },
      { address: '192.168.1.41', name: 'second', mac: 'aa:bb:cc:00:00:41' },
    ]);
    expect(v4.problems).toEqual(['line 5: expected 12 comma-separated values starting with an address']);
    const v6 = parseKeaCsv(
      [
        'address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source,pool_id',
        '2001:db8::40,00:01:00:01,4000,1764590400,1,3000,0,1,128,0,0,tv.lan.,aa:bb:cc:00:00:40,0,,1,2,0',
      ].join('\n'),
    );
    expect(v6.records).toEqual([{ address: '2001:db8::40', name: 'tv.lan', mac: 'aa:bb:cc:00:00:40' }]);
    expect(parseKeaCsv('a,b,c\n1,2,3').problems[0]).toContain('"address" and "hostname"');
  });

  it('/etc/hosts: the first name and its aliases, comments, bad lines reported', () => {
    const parsed = parseHosts('127.0.0.1\tlocalhost\n::1 localhost ip6-localhost # loopback\n\n# a comment\n192.168.1.1 router.lan router\nnot-an-address name\n');
    expect(parsed.records).toEqual([
      { address: '127.0.0.1', name: 'localhost' },
      { address: '::1', name: 'localhost', aliases: ['ip6-localhost'] },
      { address: '192.168.1.1', name: 'router.lan', aliases: ['router'] },
    ]);
    expect(parsed.problems).toEqual(['line 6: expected "address name [alias...]"']);
  });

  it('/etc/services: protocol/port to name, the first name of a port', () => {
    const services = parseServices('https\t\t443/tcp\nhttps\t\t443/udp\t\t\t# HTTP/3\ndomain\t\t53/tcp\ndomain\t\t53/udp\nalias-first 53/udp\n');
    expect(services.get('tcp/443')).toBe('https');
    expect(services.get('udp/53')).toBe('domain');
    expect(services.get('tcp/80')).toBeUndefined();
  });

  it('canonicalAddress gives one spelling per address', () => {
    expect(canonicalAddress('2001:0DB8:0000::0001')).toBe('2001:db8::1');
    expect(canonicalAddress('192.168.1.1')).toBe('192.168.1.1');
    expect(canonicalAddress('fe80::1%eth0')).toBeUndefined();
    expect(canonicalAddress('laptop')).toBeUndefined();
  });
});

describe('Names', () => {
  let dir: string;
  let clock: number;
  const warnings: string[] = [];
  const names = (files: { format: 'dnsmasq' | 'hosts' | 'kea'; path: string }[]) =>
    new Names({ files, servicesFile: join(dir, 'services'), warn: (message) => warnings.push(message), now: () => clock, checkIntervalMs: 1000 });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ctc-names-'));
    clock = 1_000_000;
    warnings.length = 0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('the first file naming an address wins; names and suffixes find addresses; MACs are kept', () => {
    writeFileSync(join(dir, 'hosts'), '192.168.1.10 workstation.lan ws\n');
    writeFileSync(join(dir, 'leases'), '0 aa:bb:cc:00:00:10 192.168.1.10 laptop *\n0 aa:bb:cc:00:00:11 192.168.1.11 phone.lan *\n');
    const n = names([
      { format: 'hosts', path: join(dir, 'hosts') },
      { format: 'dnsmasq', path: join(dir, 'leases') },
      { format: 'kea', path: join(dir, 'missing.csv') },
    ]);
    expect(n.nameOf('192.168.1.10')).toEqual({ name: 'workstation.lan', source: 'hosts', mac: 'aa:bb:cc:00:00:10' });
    expect(n.nameOf('192.168.1.11')).toEqual({ name: 'phone.lan', source: 'dnsmasq', mac: 'aa:bb:cc:00:00:11' });
    expect(n.nameOf('192.168.1.12')).toBeUndefined();
    expect(n.addressesOf('PHONE.lan')).toEqual(['192.168.1.11']);
    expect(n.addressesOf('*.lan').sort()).toEqual(['192.168.1.10', '192.168.1.11']);
    expect(n.addressesOf('lan')).toEqual([]);
    expect(n.addressesOf('ws'), 'an alias').toEqual(['192.168.1.10']);
    expect(n.addressesOf('laptop'), 'a name the hosts file overrides').toEqual([]);
    expect(n.addressesMatching('station')).toEqual(['192.168.1.10']);
    expect(n.status().map((s) => [s.format, s.present, s.names])).toEqual([
      ['hosts', true, 1],
      ['dnsmasq', true, 2],
      ['kea', false, 0],
    ]);
  });

  it('a malformed file is reported once per version, its good lines still count', () => {
    const path = join(dir, 'leases');
    writeFileSync(path, '0 aa:bb:cc:00:00:10 192.168.1.10 laptop *\nthis is not a lease\n');
    const n = names([{ format: 'dnsmasq', path }]);
    expect(n.nameOf('192.168.1.10')?.name).toBe('laptop');
    clock += 5000;
    n.nameOf('192.168.1.10');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('line 2');
    expect(n.status()[0].problems).toEqual(['line 2: expected "expiry mac-or-iaid address name client-id"']);
  });

  it('a changed file is picked up: rewritten in place, or replaced by a rename as dnsmasq does', () => {
    const path = join(dir, 'leases');
    writeFileSync(path, '0 aa:bb:cc:00:00:10 192.168.1.10 laptop *\n');
    const n = names([{ format: 'dnsmasq', path }]);
    expect(n.nameOf('192.168.1.10')?.name).toBe('laptop');
    writeFileSync(path, '0 aa:bb:cc:00:00:10 192.168.1.10 desktop *\n');
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    expect(n.nameOf('192.168.1.10')?.name, 'not re-checked within the interval').toBe('laptop');
    clock += 1000;
    expect(n.nameOf('192.168.1.10')?.name).toBe('desktop');
    writeFileSync(join(dir, 'leases.new'), '0 aa:bb:cc:00:00:20 192.168.1.20 tablet *\n');
    renameSync(join(dir, 'leases.new'), path);
    clock += 1000;
    expect(n.nameOf('192.168.1.10')).toBeUndefined();
    expect(n.nameOf('192.168.1.20')?.name).toBe('tablet');
    rmSync(path);
    clock += 1000;
    expect(n.nameOf('192.168.1.20')).toBeUndefined();
  });

  it('ports get their /etc/services names', () => {
    writeFileSync(join(dir, 'services'), 'https 443/tcp\nntp 123/udp\n');
    const n = names([]);
    expect(n.serviceOf('tcp', 443)).toBe('https');
    expect(n.serviceOf('udp', 123)).toBe('ntp');
    expect(n.serviceOf('udp', 443)).toBeUndefined();
  });
});
