// The Expectations page's URL on the shared URL-state helper: the filters (sent to GET /api/expectations as they
// are: the API names a bad one), the sort and the page (both applied in the browser: the kernel's expectation
// table is small, nf_conntrack_expect_max, and is listed whole).
import { DEFAULT_PAGE_SIZE, optionalOneOf, PAGE_SIZES, text, urlState, wholeNumber } from '@/app/components/url-state';

export const EXPECTATION_FILTERS = ['helper', 'master', 'address', 'port'] as const;
export const EXPECTATION_SORT_KEYS = ['id', 'protocol', 'master', 'helper', 'timeout'] as const;
export type ExpectationSortKey = (typeof EXPECTATION_SORT_KEYS)[number];

export const expectationsSearch = urlState({
  helper: text(),
  master: text(),
  address: text(),
  port: text(),
  sort: optionalOneOf(EXPECTATION_SORT_KEYS),
  order: optionalOneOf(['asc', 'desc']),
  page: wholeNumber({ fallback: 1, min: 1 }),
  size: wholeNumber({ fallback: DEFAULT_PAGE_SIZE, allowed: PAGE_SIZES }),
});

export type ExpectationsView = ReturnType<typeof expectationsSearch.read>;

/** The filters as GET /api/expectations takes them. */
export function expectationFilterParams(view: ExpectationsView): URLSearchParams {
  const params = new URLSearchParams();
  for (const key of EXPECTATION_FILTERS) if (view[key]) params.set(key, view[key] ?? '');
  return params;
}
