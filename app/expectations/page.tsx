// The expectations table: the connections helpers (ftp, sip, ...) announced and the kernel will admit as RELATED.
// Everyone reads it; deleting is for who may delete connections, flushing for who may flush.
import type { Metadata } from 'next';
import { signedIn } from '../components/shell/access';
import { ConsoleShell } from '../components/shell/ConsoleShell';
import { pageTitle } from '../components/shell/pages';
import { ExpectationsConsole } from './components/ExpectationsConsole';
import { expectationsSearch } from './components/url';

export const dynamic = 'force-dynamic';
export const metadata: Metadata = { title: pageTitle('/expectations') };

export default async function ExpectationsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const search = await searchParams;
  const { me } = await signedIn('/expectations', search);
  return (
    <ConsoleShell page="/expectations" me={me}>
      <ExpectationsConsole canDelete={me.permissions.includes('delete')} canFlush={me.permissions.includes('flush')} view={expectationsSearch.read(search)} />
    </ConsoleShell>
  );
}
