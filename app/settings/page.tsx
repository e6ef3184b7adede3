// The conntrack settings of the managed namespace: every reader sees them, administrators change them.
import type { Metadata } from 'next';
import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { authService, describePrincipal, pageAccessFromHeaders } from '@/lib/auth';
import { SettingsConsole } from './components/SettingsConsole';

export const dynamic = 'force-dynamic';
export const metadata: Metadata = { title: 'Settings · Conntrack Console' };

export default async function SettingsPage() {
  const access = pageAccessFromHeaders(await headers(), authService(), 'read');
  if (access.kind === 'login' || access.kind === 'setup') redirect('/login?next=/settings');
  if (access.kind === 'forbidden') redirect('/');
  return <SettingsConsole me={describePrincipal(access.principal)} />;
}
