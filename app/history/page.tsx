// Connection history: ended connections with their cause, for every reader; clearing is for administrators.
import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { authService, pageAccessFromHeaders, roleAllows } from '@/lib/auth';
import { HistoryConsole, type HistorySearch } from './components/HistoryConsole';

export const dynamic = 'force-dynamic';

export default async function HistoryPage({ searchParams }: { searchParams: Promise<HistorySearch> }) {
  const access = pageAccessFromHeaders(await headers(), authService(), 'read');
  if (access.kind === 'login' || access.kind === 'setup') redirect('/login?next=/history');
  if (access.kind === 'forbidden') redirect('/');
  return <HistoryConsole canClear={roleAllows(access.principal.role, 'clear-history')} user={access.principal.name} search={await searchParams} />;
}
