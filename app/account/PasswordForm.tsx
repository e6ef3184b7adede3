'use client';
// Change one's own password: the current one, the new one twice. A wrong current password counts toward the
// login throttle (the server says so, and how long to wait once it locks). Every other session ends.
import { useId, useRef, useState, type FormEvent } from 'react';
import { PASSWORD_MIN } from '@/lib/auth/roles';
import { ApiError, apiRequest } from '../components/api/http';
import { buttonClass } from '../components/ui/buttons';

type Field = 'currentPassword' | 'newPassword' | 'confirmPassword';
const FIELDS: { name: Field; label: string; autoComplete: string }[] = [
  { name: 'currentPassword', label: 'Current password', autoComplete: 'current-password' },
  { name: 'newPassword', label: 'New password', autoComplete: 'new-password' },
  { name: 'confirmPassword', label: 'New password again', autoComplete: 'new-password' },
];

export function PasswordForm() {
  const id = useId();
  const form = useRef<HTMLFormElement>(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<{ field?: Field; message: string }>();
  const [done, setDone] = useState<string>();

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const body = Object.fromEntries(FIELDS.map((f) => [f.name, String(data.get(f.name) ?? '')]));
    setBusy(true);
    setProblem(undefined);
    setDone(undefined);
    try {
      const { endedSessions } = await apiRequest<{ endedSessions: number }>('/api/auth/password', { method: 'POST', body });
      form.current?.reset();
      setDone(`Password changed. ${endedSessions === 0 ? 'You had no other session.' : `${endedSessions} other session${endedSessions === 1 ? '' : 's'} ended.`}`);
    } catch (error) {
      const field = error instanceof ApiError ? (FIELDS.find((f) => f.name === error.field)?.name ?? undefined) : undefined;
      setProblem({ field, message: error instanceof Error ? error.message : String(error) });
      form.current?.querySelector<HTMLInputElement>(`[name="${field ?? 'currentPassword'}"]`)?.focus();
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby={`${id}-title`} className="rounded-lg border border-slate-200 bg-white p-4">
      <h2 id={`${id}-title`} className="mb-1 font-semibold">
        Change password
      </h2>
      <p className="mb-3 text-sm text-slate-600">
        At least {PASSWORD_MIN} characters. Your other sessions (other browsers, other devices) end; this one stays.
      </p>
      <form ref={form} onSubmit={submit} className="space-y-3" data-testid="password-form" noValidate>
        {FIELDS.map((f) => {
          const wrong = problem?.field === f.name;
          return (
            <div key={f.name} className="flex flex-col gap-1 text-sm">
              <label htmlFor={`${id}-${f.name}`}>{f.label}</label>
              <input
                id={`${id}-${f.name}`}
                name={f.name}
                type="password"
                required
                autoComplete={f.autoComplete}
                aria-invalid={wrong || undefined}
                aria-describedby={wrong ? `${id}-problem` : undefined}
                className={`w-full max-w-sm rounded-md border px-2 py-1.5 ${wrong ? 'border-red-600' : 'border-slate-300'} bg-white`}
              />
            </div>
          );
        })}
        {problem && (
          <p id={`${id}-problem`} role="alert" className="text-sm text-red-800" data-testid="password-problem">
            {problem.message}
          </p>
        )}
        {done && (
          <p role="status" className="text-sm text-emerald-800" data-testid="password-done">
            {done}
          </p>
        )}
        <button type="submit" className={buttonClass.primary} disabled={busy} data-testid="password-submit">
          {busy ? 'Changing…' : 'Change password'}
        </button>
      </form>
    </section>
  );
}
