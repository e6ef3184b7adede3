// The signed-in user's own account: who they are, what their role may do, and changing their password.
import type { Metadata } from 'next';
import { signedIn } from '../components/shell/access';
import { ConsoleShell } from '../components/shell/ConsoleShell';
import { pageTitle } from '../components/shell/pages';
import { LocalTime } from '../components/ui/LocalTime';
import { PasswordForm } from './PasswordForm';

export const metadata: Metadata = { title: pageTitle('/account') };

export default async function AccountPage() {
  const { me } = await signedIn('/account');
  return (
    <ConsoleShell page="/account" me={me}>
      <div className="mx-auto w-full max-w-2xl space-y-6 px-4 py-6 sm:px-6">
        <h1 className="text-xl font-semibold">Account</h1>
        <section aria-labelledby="who" className="rounded-lg border border-slate-200 bg-white p-4 text-sm">
          <h2 id="who" className="mb-2 font-semibold">
            Signed in as {me.name}
          </h2>
          <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1">
            <dt className="text-slate-600">Role</dt>
            <dd data-testid="account-role">{me.role}</dd>
            <dt className="text-slate-600">May</dt>
            <dd>{me.permissions.join(', ')}</dd>
            {me.expiresAt && (
              <>
                <dt className="text-slate-600">Session ends</dt>
                <dd>
                  <LocalTime iso={me.expiresAt} /> at the latest
                </dd>
              </>
            )}
          </dl>
        </section>
        <PasswordForm />
      </div>
    </ConsoleShell>
  );
}
