// The login page. Before the first administrator exists it shows the command that creates one instead.
import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { authService, pageAccessFromHeaders, safeNextPath } from '@/lib/auth';
import { LoginForm } from './LoginForm';

export default async function LoginPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  // Only local paths: a login link must not be able to send the browser elsewhere.
  const next = safeNextPath((await searchParams).next);
  const service = authService();
  const access = pageAccessFromHeaders(await headers(), service, 'read');
  if (access.kind === 'allowed') redirect(next);
  return (
    <main className="mx-auto mt-24 max-w-md rounded-lg border border-slate-200 bg-white p-8 shadow-sm">
      <h1 className="mb-6 text-xl font-semibold">Conntrack Console</h1>
      {access.kind === 'setup' ? (
        <section data-testid="setup-required">
          <p className="mb-3">No administrator exists yet. Create the first one on the server, then reload this page:</p>
          <pre className="overflow-x-auto rounded bg-slate-900 p-3 text-sm text-slate-100" data-testid="setup-command">
            {service.setupCommand}
          </pre>
          <p className="mt-3 text-sm text-slate-600">It asks for the password (or reads it from standard input).</p>
        </section>
      ) : (
        <LoginForm next={next} />
      )}
    </main>
  );
}
