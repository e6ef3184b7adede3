// The console's URL state - filters, sort, page, the connection whose details are open - and how it turns
// into API requests. Plain strings here: the URL is validated on the server (url-validation.ts) with the
// shared filter vocabulary, and the API validates again.
import type { SortKey } from '@/lib/conntrack/vocabulary';

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

export const PAGE_SIZES = [50, 100, 250, 500] as const;
export const DEFAULT_PAGE_SIZE = 100;

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

type RawParams = Record<string, string | string[] | undefined>;

const first = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

/** Reads the URL leniently; validation is separate so a bad value can be shown, not dropped. */
export function readQuery(params: RawParams, isSortKey: (value: string) => value is SortKey): ConsoleQuery {
  const filters: Filters = {};
  for (const key of FILTER_KEYS) {
    const value = first(params[key])?.trim();
    if (value) filters[key] = value;
  }
  const sort = first(params.sort);
  const page = Number(first(params.page) ?? '1');
  const size = Number(first(params.size) ?? DEFAULT_PAGE_SIZE);
  const details = first(params.id);
  return {
    filters,
    sort: sort && isSortKey(sort) ? sort : undefined,
    order: first(params.order) === 'desc' ? 'desc' : 'asc',
    page: Number.isInteger(page) && page >= 1 ? page : 1,
    size: (PAGE_SIZES as readonly number[]).includes(size) ? size : DEFAULT_PAGE_SIZE,
    details: details && /^\d+$/.test(details) ? Number(details) : undefined,
  };
}

/** The URL query string for a console state (defaults left out, so links stay short). */
export function toSearch(query: ConsoleQuery): string {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    const value = query.filters[key];
    if (value) params.set(key, value);
  }
  if (query.sort) {
    params.set('sort', query.sort);
    params.set('order', query.order);
  }
  if (query.page > 1) params.set('page', String(query.page));
  if (query.size !== DEFAULT_PAGE_SIZE) params.set('size', String(query.size));
  if (query.details !== undefined) params.set('id', String(query.details));
  const text = params.toString();
  return text ? `?${text}` : '';
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
