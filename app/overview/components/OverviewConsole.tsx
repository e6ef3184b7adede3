'use client';
// The Overview page: usage now, what fills the table (top groups of one snapshot, every card reading the same
// one), and the table over time. Deleting a group goes through the Connections page's delete flow; afterwards
// a new snapshot is taken so the groups show what is left.
import { useCallback, useEffect, useState } from 'react';
import type { GroupMetric } from '@/lib/conntrack/vocabulary';
import { ApiError, apiRequest } from '../../components/api/http';
import type { ApiSnapshot, RefreshResponse } from '../../components/api/types';
import { DeleteFlow, type DeleteOutcome } from '../../components/connections/DeleteFlow';
import { formatCount } from '../../components/format';
import { buttonClass } from '../../components/ui/buttons';
import { Dialog } from '../../components/ui/Dialog';
import { ErrorPanel } from '../../components/ui/ErrorPanel';
import { LocalTime } from '../../components/ui/LocalTime';
import { useToast } from '../../components/ui/Toast';
import { TopGroups, type Group } from './TopGroups';
import { Trends } from './Trends';
import { Usage } from './Usage';

export interface OverviewConsoleProps {
  /** The snapshot the server holds, when it is recent enough to group; otherwise the page takes one. */
  snapshot: ApiSnapshot | undefined;
  canDelete: boolean;
  canReadAudit: boolean;
}

const METRICS: { metric: GroupMetric; label: string }[] = [
  { metric: 'count', label: 'Entries' },
  { metric: 'bytes', label: 'Bytes' },
];

export function OverviewConsole({ snapshot: held, canDelete, canReadAudit }: OverviewConsoleProps) {
  const toast = useToast();
  const [snapshot, setSnapshot] = useState<ApiSnapshot | undefined>(held);
  const [taking, setTaking] = useState(!held);
  const [refreshError, setRefreshError] = useState<ApiError>();
  const [metric, setMetric] = useState<GroupMetric>('count');
  const [deleting, setDeleting] = useState<Group | null>(null);

  const take = useCallback(
    () =>
      apiRequest<RefreshResponse>('/api/connections/refresh', { method: 'POST' })
        .then(
          (answer) => setSnapshot(answer.snapshot),
          (error: unknown) => setRefreshError(error instanceof ApiError ? error : new ApiError(0, 'client', String(error))),
        )
        .finally(() => setTaking(false)),
    [],
  );
  const refresh = useCallback(() => {
    setTaking(true);
    setRefreshError(undefined);
    void take();
  }, [take]);

  // No recent snapshot held: the page takes one (`taking` starts true).
  useEffect(() => {
    if (!held) void take();
  }, [held, take]);

  const deleted = (outcome: DeleteOutcome) => {
    setDeleting(null);
    toast.show(`Deleted ${outcome.what}.`);
    refresh();
  };

  return (
    <div className="w-full space-y-6 px-4 py-4 sm:px-6">
      <h1 className="text-xl font-semibold text-slate-900">Overview</h1>
      <Usage />

      <section aria-labelledby="groups-title" className="space-y-3">
        <div className="flex flex-wrap items-center gap-x-4 gap-y-2">
          <h2 id="groups-title" className="text-base font-semibold text-slate-900">
            What fills the table
          </h2>
          <span className="text-sm text-slate-600" data-testid="overview-snapshot">
            {snapshot ? (
              <>
                {formatCount(snapshot.total)} entries in the snapshot of <LocalTime iso={snapshot.takenAt} />
              </>
            ) : (
              'Taking a snapshot…'
            )}
          </span>
          <button type="button" className={buttonClass.secondary} onClick={refresh} disabled={taking} data-testid="overview-refresh">
            {taking ? 'Taking a snapshot…' : 'New snapshot'}
          </button>
          <div role="group" aria-label="Order groups by" className="flex items-center gap-1 text-sm">
            <span className="text-slate-600" aria-hidden>
              Order by
            </span>
            {METRICS.map((m) => (
              <button
                key={m.metric}
                type="button"
                aria-pressed={metric === m.metric}
                onClick={() => setMetric(m.metric)}
                data-testid={`metric-${m.metric}`}
                className={`rounded border px-2 py-1 ${metric === m.metric ? 'border-sky-700 bg-sky-50 font-semibold text-sky-900' : 'border-slate-300 bg-white text-slate-700 hover:bg-slate-100'}`}
              >
                {m.label}
              </button>
            ))}
          </div>
        </div>
        {refreshError && <ErrorPanel title="Could not take a snapshot" error={refreshError} />}
        {snapshot && <TopGroups snapshot={snapshot.id} metric={metric} canDelete={canDelete} onDelete={setDeleting} onStale={refresh} />}
      </section>

      <Trends canReadAudit={canReadAudit} />

      {deleting && (
        <Dialog title="Delete a group of connections" onClose={() => setDeleting(null)} wide testId="delete-dialog">
          <DeleteFlow plan={{ kind: 'filter', filter: deleting.filter }} snapshot={snapshot?.id} onDone={deleted} onCancel={() => setDeleting(null)} />
        </Dialog>
      )}
    </div>
  );
}
