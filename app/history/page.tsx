// Connection history: ended connections with their cause, for every reader; clearing is for administrators.
import type { Metadata } from 'next';
import { signedIn } from '../components/shell/access';
import { ConsoleShell } from '../components/shell/ConsoleShell';
import { pageTitle } from '../components/shell/pages';
import { HistoryConsole, type HistorySearch } from './components/HistoryConsole';

export const dynamic = 'force-dynamic';
export const metadata: Metadata = { title: pageTitle('/history') };

export default async function HistoryPage({ searchParams }: { searchParams: Promise<HistorySearch> }) {
  const search = await searchParams;
  const { me } = await signedIn('/history', search);
  return (
    <ConsoleShell page="/history" me={me}>
      <HistoryConsole canClear={me.permissions.includes('clear-history')} search={search} />
    </ConsoleShell>
  );
}
