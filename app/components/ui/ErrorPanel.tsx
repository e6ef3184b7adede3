// An error the administrator can act on: what failed, why, and what to do next.
import type { ReactNode } from 'react';
import type { ApiError } from '../api/http';

export function ErrorPanel({ title, error, action }: { title: string; error: ApiError; action?: ReactNode }) {
  return (
    <div role="alert" data-testid="error-panel" data-error-code={error.code} className="rounded-md border border-red-200 bg-red-50 p-4 text-sm text-red-900">
      <p className="font-semibold">{title}</p>
      <p className="mt-1">{error.message}</p>
      <p className="mt-1 text-red-800">{error.advice}</p>
      {error.details.command && (
        <pre className="mt-2 overflow-x-auto rounded bg-slate-900 p-2 font-mono text-xs text-slate-100" data-testid="error-command">
          {error.details.command}
        </pre>
      )}
      {action && <div className="mt-3">{action}</div>}
    </div>
  );
}
