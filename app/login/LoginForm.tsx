'use client';
// Name and password to POST /api/auth/login; on success the session cookie is set and we go where we were sent.
import { useState, type FormEvent } from 'react';

interface ErrorBody {
  error?: { message?: string; retryAfterSeconds?: number };
}

export function LoginForm({ next }: { next: string }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      const response = await fetch('/api/auth/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: String(form.get('name') ?? ''), password: String(form.get('password') ?? '') }),
        cache: 'no-store',
      });
      if (response.ok) {
        window.location.assign(next);
        return;
      }
      const body = (await response.json().catch(() => ({}))) as ErrorBody;
      setError(body.error?.message ?? `login failed (${response.status})`);
    } catch {
      setError('The console server could not be reached.');
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} className="flex flex-col gap-4" aria-label="Log in">
      <label className="flex flex-col gap-1 text-sm">
        User name
        <input name="name" autoComplete="username" required maxLength={64} className="rounded border border-slate-300 px-2 py-1.5" data-testid="login-name" />
      </label>
      <label className="flex flex-col gap-1 text-sm">
        Password
        <input name="password" type="password" autoComplete="current-password" required maxLength={1024} className="rounded border border-slate-300 px-2 py-1.5" data-testid="login-password" />
      </label>
      {error && (
        <p role="alert" className="rounded bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="login-error">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy} className="rounded bg-slate-900 px-3 py-2 text-white disabled:opacity-50" data-testid="login-submit">
        {busy ? 'Logging in…' : 'Log in'}
      </button>
    </form>
  );
}
