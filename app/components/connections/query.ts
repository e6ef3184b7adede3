// The console's URL state - filters, sort, page, the connection whose details are open - and how it turns
// into API requests, declared on the shared URL-state helper. Plain strings here: the URL is validated on the
// server (url-validation.ts) with the shared filter vocabulary, and the API validates again.
import { SORT_KEYS, type SortKey } from '@/lib/conntrack/vocabulary';
import { DEFAULT_PAGE_SIZE, optionalOneOf, optionalWholeNumber, PAGE_SIZES, text, urlState, wholeNumber, type Codec, type RawSearch } from '../url-state';

/** Filter fields of GET /api/connections, in the order the filter chips show them. */
export const FILTER_KEYS = ['family', 'protocol', 'state', 'status', 'ip', 'src', 'dst', 'replySrc', 'replyDst', 'port', 'sport', 'dport', 'mark', 'zone', 'helper', 'label', 'host', 'wan', 'stale', 'q'] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];
export type Filters = Partial<Record<FilterKey, string>>;

export const FILTER_LABELS: Record<FilterKey, string> = {
  family: 'family',
  protocol: 'protocol',
  state: 'state',
  status: 'flags',
  ip: 'any IP',
  src: 'source IP',
  dst: 'destination IP',
  replySrc: 'reply source',
  replyDst: 'external/NAT IP',
  port: 'any port',
  sport: 'source port',
  dport: 'destination port',
  mark: 'mark',
  zone: 'zone',
  helper: 'helper',
  label: 'label',
  host: 'host',
  wan: 'WAN',
  stale: 'stale',
  q: 'text',
};

export { DEFAULT_PAGE_SIZE, PAGE_SIZES } from '../url-state';

export type SortOrder = 'asc' | 'desc';

export interface ConsoleQuery {
  filters: Filters;
  sort?: SortKey;
  order: SortOrder;
  /** 1-based. */
  page: number;
  size: number;
  /** The connection whose details panel is open (?id=N). */
  details?: number;
}

/** The console's URL, declared once for the server (page.tsx) and the browser (navigation). */
const consoleUrl = urlState({
  ...(Object.fromEntries(FILTER_KEYS.map((key) => [key, text()])) as Record<FilterKey, Codec<string | undefined>>),
  sort: optionalOneOf(SORT_KEYS),
  // Written with every sort (links say which way), left out without one.
  order: optionalOneOf(['asc', 'desc']),
  page: wholeNumber({ fallback: 1, min: 1 }),
  size: wholeNumber({ fallback: DEFAULT_PAGE_SIZE, allowed: PAGE_SIZES }),
  id: optionalWholeNumber(),
});

/** Reads the URL leniently; validation is separate so a bad value can be shown, not dropped. */
export function readQuery(params: RawSearch): ConsoleQuery {
  const values = consoleUrl.read(params);
  const filters: Filters = {};
  for (const key of FILTER_KEYS) {
    const value = values[key];
    if (value) filters[key] = value;
  }
  return { filters, sort: values.sort, order: values.order ?? 'asc', page: values.page, size: values.size, details: values.id };
}

/** The URL query string for a console state (defaults left out, so links stay short). */
export function toSearch(query: ConsoleQuery): string {
  return consoleUrl.search({
    ...query.filters,
    sort: query.sort,
    order: query.sort ? query.order : undefined,
    page: query.page,
    size: query.size,
    id: query.details,
  } as Parameters<typeof consoleUrl.search>[0]);
}

export function filterParams(filters: Filters): URLSearchParams {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    const value = filters[key];
    if (value) params.set(key, value);
  }
  return params;
}

/** GET /api/connections for one page of the query, read from the given snapshot (latest when undefined). */
export function listUrl(query: ConsoleQuery, snapshot: string | undefined): string {
  const params = filterParams(query.filters);
  if (query.sort) {
    params.set('sort', query.sort);
    params.set('order', query.order);
  }
  params.set('limit', String(query.size));
  params.set('offset', String((query.page - 1) * query.size));
  if (snapshot) params.set('snapshot', snapshot);
  return `/api/connections?${params}`;
}

/**
 * The filter as POST /api/connections/delete takes it. Free text (q) is a console search, not part of the
 * shared filter vocabulary, so a filter with q cannot be deleted by filter.
 */
export function deleteFilter(filters: Filters): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of FILTER_KEYS) {
    const value = filters[key];
    if (value && key !== 'q') out[key] = value;
  }
  return out;
}

export const hasFilters = (filters: Filters): boolean => FILTER_KEYS.some((key) => filters[key]);

/** "replyDst=203.0.113.7, protocol=tcp" - how a filter is named in confirmations and results. */
export function describeFilters(filters: Filters | Record<string, string>): string {
  return Object.entries(filters)
    .filter(([, value]) => value)
    .map(([key, value]) => `${key}=${value}`)
    .join(', ');
}
