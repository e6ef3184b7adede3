// The expectations table: the connections helpers (ftp, sip, ...) announced and the kernel will admit as RELATED.
// Everyone reads it; deleting is for who may delete connections, flushing for who may flush.
import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { authService, pageAccessFromHeaders, roleAllows } from '@/lib/auth';
import { ExpectationsConsole, type ExpectationsSearch } from './components/ExpectationsConsole';

export const dynamic = 'force-dynamic';

export default async function ExpectationsPage({ searchParams }: { searchParams: Promise<ExpectationsSearch> }) {
  const access = pageAccessFromHeaders(await headers(), authService(), 'read');
  if (access.kind === 'login' || access.kind === 'setup') redirect('/login?next=/expectations');
  if (access.kind === 'forbidden') redirect('/');
  const role = access.principal.role;
  return <ExpectationsConsole canDelete={roleAllows(role, 'delete')} canFlush={roleAllows(role, 'flush')} user={access.principal.name} search={await searchParams} />;
}
