'use client';
// Who is logged in (a link to their Account page) and Log out.
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import type { Me } from '@/lib/auth/login';
import { apiRequest } from '../api/http';
import { buttonClass } from '../ui/buttons';

export function UserMenu({ me, current }: { me: Me; current: boolean }) {
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
    <div className="flex items-center gap-3 text-sm" data-testid="account">
      <Link
        href="/account"
        prefetch={false}
        aria-current={current ? 'page' : undefined}
        title="Your account: change your password"
        className="rounded-md px-1.5 py-1 text-slate-700 hover:bg-slate-100"
        data-testid="account-user"
      >
        <strong className="font-medium text-slate-900">{me.name}</strong> <span>({me.role})</span>
      </Link>
      <button type="button" className={buttonClass.secondary} onClick={logout} disabled={leaving} data-testid="logout">
        {leaving ? 'Logging out…' : 'Log out'}
      </button>
    </div>
  );
}
