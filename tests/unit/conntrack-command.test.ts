// The "Copy as conntrack -D" command builder (app/components/format.ts): for every captured entry that
// `conntrack -I` made, the copied -D command names the same entry as the -I command did (protocol, addresses,
// ports or ICMP type/code/id, zone, a zone bound to one direction), whether the row came from a snapshot (the
// grid) or from the kernel's answer for one entry (the details). The e2e test (connections.spec.ts) runs copied
// commands in the lab's kernel.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { conntrackDeleteCommand } from '@/app/components/format';
import { decodeConnection } from '@/lib/conntrack/codec/connection';
import { toApiConnection } from '@/lib/console/connection';
import { SnapshotBuilder } from '@/lib/conntrack/snapshot';
import { ATTRS_START, attrsOf, connectionFixtures, fixtureDir } from './codec/fixtures';

/** The options of a conntrack command line that name an entry's tuple, as option -> value. */
const TUPLE_OPTIONS = ['-p', '-s', '-d', '--sport', '--dport', '--srckey', '--dstkey', '--icmp-type', '--icmp-code', '--icmp-id', '--icmpv6-type', '--icmpv6-code', '--icmpv6-id', '-w', '--orig-zone', '--reply-zone'];

function tupleOptions(args: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) if (TUPLE_OPTIONS.includes(args[i])) out[args[i]] = args[++i];
  return out;
}

// The fixtures made by `conntrack -I`.
const inserted = connectionFixtures()
  .map((f) => ({ f, source: (JSON.parse(readFileSync(join(fixtureDir, `${f.name}.json`), 'utf8')) as { source: string }).source }))
  .filter(({ source }) => source.startsWith('conntrack -I '));

/** The entry as the grid has it: one row of a snapshot built from the captured dump bytes. */
function snapshotRow(f: (typeof inserted)[number]['f']) {
  const builder = new SnapshotBuilder();
  const bytes = attrsOf(f);
  builder.add(bytes, 0, bytes.length, f.family);
  return builder.finish({ takenAt: new Date(), tookMs: 0 }).connection(0);
}

describe('conntrack -D command', () => {
  it('has cases of every kind it writes', () => {
    const sources = inserted.map((i) => i.source).join('\n');
    for (const option of ['-p tcp', '-p udp', '-p sctp', '-p gre', '-p 99', '--srckey', '--icmp-type', '--icmpv6-type', '-w ', '--orig-zone ']) expect(sources).toContain(option);
  });

  it.each(inserted.map((i) => [i.f.name, i] as const))('%s: names the entry conntrack -I made', (_name, { f, source }) => {
    const connection = decodeConnection(f.message, ATTRS_START, f.end, f.family === 10 ? 'ipv6' : 'ipv4');
    const command = conntrackDeleteCommand(toApiConnection(connection)).split(' ');
    expect(conntrackDeleteCommand(toApiConnection(snapshotRow(f)))).toBe(command.join(' '));
    expect(command.slice(0, 2)).toEqual(['conntrack', '-D']);
    const insert = source.split(' ');
    const ipv6 = insert[insert.indexOf('-s') + 1].includes(':');
    expect(command.includes('-f') && command[command.indexOf('-f') + 1] === 'ipv6').toBe(ipv6);
    const want = tupleOptions(insert);
    // The addresses as the console writes them (canonical), the rest as given.
    for (const side of ['-s', '-d']) want[side] = toApiConnection(connection).original[side === '-s' ? 'src' : 'dst'];
    expect(tupleOptions(command)).toEqual(want);
  });
});
