// The console lives at /. The URL is checked here, on the server, with the shared filter vocabulary, and so is
// who is asking (proxy.ts has already sent anyone without a session to /login): the page offers only what the
// role permits. The console itself is a client component because everything on it is interactive.
import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { authService, describePrincipal, pageAccessFromHeaders } from '@/lib/auth';
import { ConnectionsConsole } from './components/connections/ConnectionsConsole';
import { parseConsoleUrl } from './components/connections/url-validation';

type Search = Record<string, string | string[] | undefined>;

/** The page's own path and query, for /login?next= (only the first value of a repeated key). */
function here(search: Search): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(search)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) params.set(key, first);
  }
  const query = params.toString();
  return query ? `/?${query}` : '/';
}

export default async function Home({ searchParams }: { searchParams: Promise<Search> }) {
  const search = await searchParams;
  const access = pageAccessFromHeaders(await headers(), authService(), 'read');
  if (access.kind !== 'allowed') redirect(`/login?next=${encodeURIComponent(here(search))}`);
  const { query, problems } = parseConsoleUrl(search);
  return <ConnectionsConsole query={query} urlProblems={problems} me={describePrincipal(access.principal)} />;
}
