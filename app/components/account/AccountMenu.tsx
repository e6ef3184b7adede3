'use client';
// Who is logged in, in the page header: name and role, the audit log for those allowed to read it, and log out.
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { apiRequest } from '../api/http';
import type { Me } from '../api/types';
import { buttonClass } from '../ui/buttons';

export function AccountMenu({ me }: { me: Me }) {
  const router = useRouter();
  const [leaving, setLeaving] = useState(false);
  const logout = async () => {
    setLeaving(true);
    // Whatever the answer (a session already ended answers 401), the way on is the login page.
    await apiRequest('/api/auth/logout', { method: 'POST' }).catch(() => undefined);
    router.replace('/login');
    router.refresh();
  };
  return (
    <nav aria-label="Account" className="flex items-center gap-3 text-sm" data-testid="account">
      {me.permissions.includes('read-audit') && (
        <Link href="/audit" className="text-sky-700 hover:underline" data-testid="audit-link">
          Audit log
        </Link>
      )}
      <span className="text-slate-700" data-testid="account-user">
        <strong className="font-medium">{me.name}</strong> <span className="text-slate-500">({me.role})</span>
      </span>
      <button type="button" className={buttonClass.secondary} onClick={logout} disabled={leaving} data-testid="logout">
        {leaving ? 'Logging out…' : 'Log out'}
      </button>
    </nav>
  );
}
