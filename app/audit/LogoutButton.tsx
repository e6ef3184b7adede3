'use client';
// Ends the session (POST /api/auth/logout with the CSRF header) and goes to the login page.
import { useRouter } from 'next/navigation';
import { csrfHeaders } from '@/lib/auth/client';

export function LogoutButton() {
  const router = useRouter();
  async function logout() {
    await fetch('/api/auth/logout', { method: 'POST', headers: csrfHeaders(), cache: 'no-store' }).catch(() => undefined);
    router.replace('/login');
    router.refresh();
  }
  return (
    <button type="button" onClick={logout} className="rounded border border-slate-300 px-3 py-1.5 text-sm" data-testid="logout">
      Log out
    </button>
  );
}
