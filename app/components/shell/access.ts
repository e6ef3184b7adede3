// The first thing a signed-in page does on the server: who is asking, and may they see this page? proxy.ts has
// already sent anyone without a session to /login; this checks again at render (the page needs the principal
// anyway) and answers the same way, coming back to the exact URL after login.
import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { authService, describePrincipal, pageAccessFromHeaders, type Me, type Principal } from '@/lib/auth';
import { consolePage } from './pages';

export type Search = Record<string, string | string[] | undefined>;

/** The page's path and query for /login?next= (only the first value of a repeated key). */
export function pathWithQuery(href: string, search: Search = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(search)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) params.set(key, first);
  }
  const query = params.toString();
  return query ? `${href}?${query}` : href;
}

/** The principal allowed to see the page at href (an entry of CONSOLE_PAGES); redirects otherwise. */
export async function signedIn(href: string, search?: Search): Promise<{ principal: Principal; me: Me }> {
  const page = consolePage(href);
  const access = pageAccessFromHeaders(await headers(), authService(), page.permission);
  if (access.kind === 'login' || access.kind === 'setup') redirect(`/login?next=${encodeURIComponent(pathWithQuery(href, search))}`);
  if (access.kind === 'forbidden') redirect('/');
  return { principal: access.principal, me: describePrincipal(access.principal) };
}
