// The History page's URL on the shared URL-state helper: filters, sort (newest end first by default), page.
// Filter values stay text: the API names a bad one (400), and the page shows it.
import { HISTORY_SORT_KEYS } from '@/lib/history/cause-names';
import { DEFAULT_PAGE_SIZE, instant, optionalOneOf, PAGE_SIZES, text, urlState, wholeNumber } from '@/app/components/url-state';

export const HISTORY_FILTERS = ['id', 'ip', 'host', 'port', 'external', 'protocol', 'cause'] as const;

export const historySearch = urlState({
  id: text(),
  ip: text(),
  host: text(),
  port: text(),
  external: text(),
  protocol: text(),
  cause: text(),
  from: instant(),
  to: instant(),
  // Written together, and only when not the default (ended, newest first).
  sort: optionalOneOf(HISTORY_SORT_KEYS),
  order: optionalOneOf(['asc', 'desc']),
  page: wholeNumber({ fallback: 1, min: 1 }),
  size: wholeNumber({ fallback: DEFAULT_PAGE_SIZE, allowed: PAGE_SIZES }),
});

export type HistoryView = ReturnType<typeof historySearch.read>;

export const sortOf = (view: HistoryView) => ({ sort: view.sort ?? 'ended', order: view.order ?? 'desc' });

/** The view's URL, with the sort left out when it is the default. */
export function historyHref(view: HistoryView): string {
  const { sort, order } = sortOf(view);
  const plain = sort === 'ended' && order === 'desc';
  return `/history${historySearch.search({ ...view, sort: plain ? undefined : sort, order: plain ? undefined : order })}`;
}

/** The filters as GET /api/history and the export take them. */
export function historyFilterParams(view: HistoryView): URLSearchParams {
  const params = new URLSearchParams();
  for (const key of HISTORY_FILTERS) if (view[key]) params.set(key, view[key] ?? '');
  if (view.from) params.set('from', view.from);
  if (view.to) params.set('to', view.to);
  return params;
}
