// The overview: how full the table is, what fills it (the snapshot's top groups), and how it changed over time.
// Everyone reads it; deleting a group is for who may delete connections, the audit markers on the charts for who
// may read the audit log.
import type { Metadata } from 'next';
import { config } from '@/lib/config';
import { consoleService, snapshotSummary } from '@/lib/console';
import { signedIn } from '../components/shell/access';
import { ConsoleShell } from '../components/shell/ConsoleShell';
import { pageTitle } from '../components/shell/pages';
import { OverviewConsole } from './components/OverviewConsole';

export const dynamic = 'force-dynamic';
export const metadata: Metadata = { title: pageTitle('/overview') };

export default async function OverviewPage() {
  const { me } = await signedIn('/overview');
  // The held snapshot is grouped unless it is older than the Connections page would keep showing; then the page takes one.
  const held = consoleService().snapshots.peek();
  const summary = held && snapshotSummary(held);
  const fresh = summary && summary.ageMs <= config().snapshot.maxAgeSeconds * 1000 ? summary : undefined;
  return (
    <ConsoleShell page="/overview" me={me}>
      <OverviewConsole snapshot={fresh} canDelete={me.permissions.includes('delete')} canReadAudit={me.permissions.includes('read-audit')} />
    </ConsoleShell>
  );
}
