// Connection history: ended connections with their cause, for every reader; clearing is for administrators.
import type { Metadata } from 'next';
import { signedIn } from '../components/shell/access';
import { ConsoleShell } from '../components/shell/ConsoleShell';
import { pageTitle } from '../components/shell/pages';
import { HistoryConsole } from './components/HistoryConsole';
import { historySearch } from './components/url';

export const dynamic = 'force-dynamic';
export const metadata: Metadata = { title: pageTitle('/history') };

export default async function HistoryPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const search = await searchParams;
  const { me } = await signedIn('/history', search);
  return (
    <ConsoleShell page="/history" me={me}>
      <HistoryConsole canClear={me.permissions.includes('clear-history')} view={historySearch.read(search)} />
    </ConsoleShell>
  );
}
