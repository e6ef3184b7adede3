// Server-side only (it pulls in node:net through the shared filter vocabulary): checks the console's URL with
// the same zod pieces the API uses, so a bad shared link is explained before any request is made.
import { filterShape } from '@/lib/conntrack/filter';
import { uplinkShape } from '@/lib/console/schemas';
import { SORT_KEYS, type SortKey } from '@/lib/conntrack/vocabulary';
import { FILTER_KEYS, readQuery, type ConsoleQuery, type FilterKey } from './query';

export type UrlProblems = Partial<Record<FilterKey | 'sort', string>>;

// Whether a WAN name exists is the API's to say (it asks the router); the URL check is its shape.
const shapes = { ...filterShape, ...uplinkShape };

const isSortKey = (value: string): value is SortKey => (SORT_KEYS as readonly string[]).includes(value);

export function parseConsoleUrl(params: Record<string, string | string[] | undefined>): { query: ConsoleQuery; problems: UrlProblems } {
  const query = readQuery(params);
  const problems: UrlProblems = {};
  for (const key of FILTER_KEYS) {
    const value = query.filters[key];
    if (value === undefined || key === 'q') continue;
    const result = shapes[key].safeParse(value);
    if (!result.success) problems[key] = result.error.issues[0]?.message ?? 'invalid value';
  }
  const sort = params.sort;
  if (typeof sort === 'string' && !isSortKey(sort)) problems.sort = `cannot sort by "${sort}"`;
  return { query, problems };
}
