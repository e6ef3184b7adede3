// The Audit page's URL, on the shared URL-state helper: read on the server (page.tsx) and written by the page.
// Action and outcome stay plain text here: the API names a bad one (400), and the page shows that.
import { DEFAULT_PAGE_SIZE, instant, PAGE_SIZES, text, urlState, wholeNumber } from '../components/url-state';

export const auditSearch = urlState({
  action: text(),
  actor: text(),
  outcome: text(),
  since: instant(),
  until: instant(),
  page: wholeNumber({ fallback: 1, min: 1 }),
  size: wholeNumber({ fallback: DEFAULT_PAGE_SIZE, allowed: PAGE_SIZES }),
});

export type AuditView = ReturnType<typeof auditSearch.read>;
