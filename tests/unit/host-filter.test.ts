// host= in the filter vocabulary and names in free text: the shape a name may have, what the caller's resolver
// turns it into, and a snapshot's text match widened by the addresses whose names contain the text.
import { describe, expect, it } from 'vitest';
import { parseFilter, parsePrefix, ValidationError, type Prefix } from '@/lib/conntrack';
import { SnapshotBuilder } from '@/lib/conntrack/snapshot';

const resolver = (table: Record<string, string[]>) => ({ hostAddresses: (pattern: string) => table[pattern] ?? [] });
const fieldOf = (run: () => unknown): string | undefined => {
  try {
    run();
  } catch (error) {
    if (error instanceof ValidationError) return `${error.field} | ${error.message}`;
    throw error;
  }
  return undefined;
};

describe('host= in the vocabulary', () => {
  it('takes a name or "*.suffix", lower-cased, a trailing dot dropped, and hands the resolver that spelling', () => {
    const asked: string[] = [];
    const options = { hostAddresses: (pattern: string) => (asked.push(pattern), ['192.0.2.1', '2001:db8::1']) };
    expect(parseFilter({ host: ' Laptop.LAN. ' }, options).host).toMatchObject({ name: 'laptop.lan', addresses: [{ text: '192.0.2.1' }, { text: '2001:db8::1' }] });
    parseFilter({ host: '*.Lan' }, options);
    expect(asked).toEqual(['laptop.lan', '*.lan']);
  });

  it('a name nothing stands for gives an empty host (matches nothing), not an error', () => {
    expect(parseFilter({ host: 'nobody.lan' }, resolver({})).host).toEqual({ name: 'nobody.lan', addresses: [] });
  });

  it.each(['two words', 'a*b', '*', '*.', 'x..y', '-', 'bad/char', 'a'.repeat(64)])('refuses %j, naming the field', (host) => {
    expect(fieldOf(() => parseFilter({ host }, resolver({})))).toMatch(/^host \| host: host must be a host name/);
  });

  it('without a resolver (no name files known) host= is refused, naming the field', () => {
    expect(fieldOf(() => parseFilter({ host: 'laptop' }))).toMatch(/^host \| host: /);
  });
});

describe('free text matching names', () => {
  const builder = new SnapshotBuilder(8);
  const add = (id: number, src: string, dst: string) =>
    builder.addConnection({
      family: src.includes(':') ? 'ipv6' : 'ipv4',
      original: { src, dst, protocol: 17, sport: 5000 + id, dport: 53 },
      reply: { src: dst, dst: src, protocol: 17, sport: 53, dport: 5000 + id },
      status: 0,
      zone: 0,
      id,
    });
  add(1, '10.0.0.1', '192.0.2.53');
  add(2, '10.0.0.2', '192.0.2.53');
  add(3, '2001:db8::7', '2001:db8::53');
  add(4, '10.0.0.3', '198.51.100.9');
  const snapshot = builder.finish({ takenAt: new Date(), tookMs: 0 });
  const prefixes = (...texts: string[]) => texts.map((t) => parsePrefix(t) as Prefix);
  const ids = (text: string, textAddresses: Prefix[], filter = {}) => snapshot.query({ text, textAddresses, filter }).rows.map((row) => snapshot.connection(row).id);

  it('rows with an address whose name contains the text match, as well as the rows whose own text does', () => {
    expect(ids('laptop', [])).toEqual([]);
    expect(ids('laptop', prefixes('10.0.0.2', '2001:db8::7'))).toEqual([2, 3]);
    // "5003" is in row 3's own text (its source port): it still matches beside the named rows.
    expect(ids('5003', prefixes('10.0.0.1'))).toEqual([1, 3]);
  });

  it('the filter still applies to the rows the names add, and the answers of different names are not mixed up', () => {
    expect(ids('laptop', prefixes('10.0.0.2', '2001:db8::7'), { family: 'ipv4' })).toEqual([2]);
    expect(ids('laptop', prefixes('10.0.0.3'))).toEqual([4]);
  });
});
