// The URL-state helper and the pages' declarations on it: what a page writes it reads back unchanged, defaults
// stay out of the URL, and a value the page cannot use reads as the default instead of breaking the page.
import { describe, expect, it } from 'vitest';
import { instant, oneOf, optionalOneOf, optionalWholeNumber, text, urlState, wholeNumber } from '../../app/components/url-state';
import { readQuery, toSearch, type ConsoleQuery } from '../../app/components/connections/query';

const state = urlState({
  q: text(),
  kind: oneOf(['all', 'some', 'none'], 'all'),
  sort: optionalOneOf(['id', 'name']),
  page: wholeNumber({ fallback: 1, min: 1 }),
  size: wholeNumber({ fallback: 100, allowed: [50, 100, 250] }),
  id: optionalWholeNumber(),
  since: instant(),
});
type Values = ReturnType<typeof state.read>;

const roundTrips: Values[] = [
  { q: undefined, kind: 'all', sort: undefined, page: 1, size: 100, id: undefined, since: undefined },
  { q: '10.0.0.1 ssh', kind: 'none', sort: 'name', page: 7, size: 250, id: 0, since: '2026-12-01T12:00:00.000Z' },
  { q: 'a&b=c?d#e %41', kind: 'some', sort: 'id', page: 2, size: 50, id: 4294967295, since: undefined },
];

describe('urlState', () => {
  it.each(roundTrips)('reads back what it writes: %j', (values) => {
    const search = state.search(values);
    expect(state.read(new URLSearchParams(search))).toEqual(values);
    // The server's searchParams object reads the same as the browser's URLSearchParams.
    expect(state.read(Object.fromEntries(new URLSearchParams(search)))).toEqual(values);
    // Writing what was read gives the same URL again.
    expect(state.search(state.read(new URLSearchParams(search)))).toBe(search);
  });

  it('leaves defaults out of the URL', () => {
    expect(state.search(roundTrips[0])).toBe('');
    expect(state.search({ ...roundTrips[0], page: 3 })).toBe('?page=3');
  });

  it('reads a value it cannot use as the default', () => {
    const read = state.read({ q: '   ', kind: 'ALL', sort: 'drop table', page: '0', size: '99', id: '-3', since: 'yesterday' });
    expect(read).toEqual(roundTrips[0]);
    expect(state.read({ page: ['4', '5'], id: '12' })).toMatchObject({ page: 4, id: 12 });
    expect(state.read({ page: '1e3' }).page).toBe(1);
  });

  it('writes an instant as the ISO text the API takes', () => {
    expect(state.read({ since: '2026-12-01T13:00:00+01:00' }).since).toBe('2026-12-01T12:00:00.000Z');
  });
});

describe('the Connections page URL', () => {
  const queries: ConsoleQuery[] = [
    { filters: {}, order: 'asc', page: 1, size: 100 },
    { filters: { protocol: 'tcp', replyDst: '203.0.113.7', q: 'ssh host' }, sort: 'timeout', order: 'desc', page: 3, size: 250, details: 4011 },
    { filters: { ip: '2001:db8::/32', port: '443' }, sort: 'src', order: 'asc', page: 1, size: 50 },
  ];
  it.each(queries)('reads back what it writes: %j', (query) => {
    const search = toSearch(query);
    expect(readQuery(Object.fromEntries(new URLSearchParams(search)))).toEqual(query);
  });
  it('keeps the sort direction only with a sort', () => {
    expect(toSearch({ filters: {}, order: 'desc', page: 1, size: 100 })).toBe('');
  });
});
