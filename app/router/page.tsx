// The Router page: the interfaces and uplinks around the conntrack table, what each uplink carries, and the
// cleanup by uplink (`?cleanup=WAN` opens it, as the stale notice's link does). Everyone reads it; the cleanup is
// for who may delete connections.
import type { Metadata } from 'next';
import { signedIn, type Search } from '../components/shell/access';
import { ConsoleShell } from '../components/shell/ConsoleShell';
import { pageTitle } from '../components/shell/pages';
import { RouterView } from './RouterView';

export const dynamic = 'force-dynamic';
export const metadata: Metadata = { title: pageTitle('/router') };

export default async function RouterPage({ searchParams }: { searchParams: Promise<Search> }) {
  const search = await searchParams;
  const { me } = await signedIn('/router', search);
  const cleanup = Array.isArray(search.cleanup) ? search.cleanup[0] : search.cleanup;
  const canDelete = me.permissions.includes('delete');
  return (
    <ConsoleShell page="/router" me={me}>
      <RouterView
        canDelete={canDelete}
        canAudit={me.permissions.includes('read-audit')}
        canConfigure={me.permissions.includes('configure')}
        openCleanup={canDelete ? cleanup : undefined}
      />
    </ConsoleShell>
  );
}
