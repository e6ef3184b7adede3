'use client';
// One line for the details panel: is this connection id still in the table, or did it end (when, and why)?
// Reads GET /api/connections/{id}/status; links to the other page for the same id.
import Link from 'next/link';
import { useEffect, useState } from 'react';
import { apiRequest } from '@/app/components/api/http';
import { formatTime } from '@/app/components/format';
import { CAUSE_LABELS } from '@/lib/history/cause-names';
import type { ApiConnectionStatus } from '@/lib/console/history-types';

export function ConnectionStatusLine({ id, refreshKey }: { id: number; refreshKey?: unknown }) {
  const [status, setStatus] = useState<ApiConnectionStatus | null>(null);
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    const controller = new AbortController();
    apiRequest<ApiConnectionStatus>(`/api/connections/${id}/status`, { signal: controller.signal }).then(
      (answer) => {
        setStatus(answer);
        setFailed(false);
      },
      () => {
        if (!controller.signal.aborted) setFailed(true);
      },
    );
    return () => controller.abort();
  }, [id, refreshKey]);

  if (failed) return <p className="text-sm text-slate-500" data-testid="connection-status">Status unavailable.</p>;
  if (!status) return <p className="text-sm text-slate-500" data-testid="connection-status">Checking…</p>;
  if (status.state === 'active') {
    return (
      <p className="text-sm text-emerald-700" data-testid="connection-status" data-state="active">
        Active{status.connection.state ? ` (${status.connection.state})` : ''}.
      </p>
    );
  }
  if (status.state === 'ended') {
    const { entry } = status;
    return (
      <p className="text-sm text-slate-700" data-testid="connection-status" data-state="ended">
        Disconnected {formatTime(entry.endedAt)}: {CAUSE_LABELS[entry.cause]}.{' '}
        <Link href={`/history?id=${id}`} className="underline">
          See in history
        </Link>
      </p>
    );
  }
  return (
    <p className="text-sm text-slate-500" data-testid="connection-status" data-state="unknown">
      Not in the table and not in the history.
    </p>
  );
}
