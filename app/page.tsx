// The console lives at /. The URL is checked here, on the server, with the shared filter vocabulary, and so is
// who is asking: the page offers only what the role permits. The console itself is a client component because
// everything on it is interactive.
import type { Metadata } from 'next';
import { config } from '@/lib/config';
import { signedIn, type Search } from './components/shell/access';
import { ConsoleShell } from './components/shell/ConsoleShell';
import { pageTitle } from './components/shell/pages';
import { ConnectionsConsole } from './components/connections/ConnectionsConsole';
import { parseConsoleUrl } from './components/connections/url-validation';

export const metadata: Metadata = { title: pageTitle('/') };

export default async function Home({ searchParams }: { searchParams: Promise<Search> }) {
  const search = await searchParams;
  const { me } = await signedIn('/', search);
  const { query, problems } = parseConsoleUrl(search);
  return (
    <ConsoleShell page="/" me={me}>
      <ConnectionsConsole query={query} urlProblems={problems} me={me} maxAgeSeconds={config().snapshot.maxAgeSeconds} />
    </ConsoleShell>
  );
}
