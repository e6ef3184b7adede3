// The conntrack settings of the managed namespace: every reader sees them, administrators change them.
import type { Metadata } from 'next';
import { signedIn } from '../components/shell/access';
import { ConsoleShell } from '../components/shell/ConsoleShell';
import { pageTitle } from '../components/shell/pages';
import { SettingsConsole } from './components/SettingsConsole';

export const dynamic = 'force-dynamic';
export const metadata: Metadata = { title: pageTitle('/settings') };

export default async function SettingsPage() {
  const { me } = await signedIn('/settings');
  return (
    <ConsoleShell page="/settings" me={me}>
      <SettingsConsole me={me} />
    </ConsoleShell>
  );
}
