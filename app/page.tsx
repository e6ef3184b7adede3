// The console lives at /. The URL is checked here, on the server, with the shared filter vocabulary; the
// console itself is a client component because everything on it is interactive.
import { ConnectionsConsole } from './components/connections/ConnectionsConsole';
import { parseConsoleUrl } from './components/connections/url-validation';

export default async function Home({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const { query, problems } = parseConsoleUrl(await searchParams);
  return <ConnectionsConsole query={query} urlProblems={problems} />;
}
