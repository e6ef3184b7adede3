// The audit log (administrators): the URL is read here with the page's URL-state declaration, the entries are
// read by the page through GET /api/audit (the same route scripts use).
import type { Metadata } from 'next';
import { AUDIT_ACTIONS, AUDIT_OUTCOMES } from '@/lib/auth';
import { signedIn, type Search } from '../components/shell/access';
import { ConsoleShell } from '../components/shell/ConsoleShell';
import { pageTitle } from '../components/shell/pages';
import { AuditConsole } from './AuditConsole';
import { auditSearch } from './url';

export const metadata: Metadata = { title: pageTitle('/audit') };

export default async function AuditPage({ searchParams }: { searchParams: Promise<Search> }) {
  const search = await searchParams;
  const { me } = await signedIn('/audit', search);
  return (
    <ConsoleShell page="/audit" me={me}>
      <AuditConsole view={auditSearch.read(search)} actions={AUDIT_ACTIONS} outcomes={AUDIT_OUTCOMES} />
    </ConsoleShell>
  );
}
