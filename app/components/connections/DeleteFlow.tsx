'use client';
// What a delete will do, before it does it: a dry run reports how many live entries match and previews them;
// only then can the administrator confirm. Used for a selection, a filter and the MultiWAN cleanup.
import { useState } from 'react';
import { ApiError, apiRequest } from '../api/http';
import type { ApiConnection, DeleteResponse } from '../api/types';
import { useApi } from '../api/useApi';
import { buttonClass } from '../ui/buttons';
import { ErrorPanel } from '../ui/ErrorPanel';
import { describeFilters } from './query';
import { endpointText, formatCount, idList, natText } from '../format';

export type DeletePlan =
  | { kind: 'ids'; ids: number[]; rows: ApiConnection[] }
  | { kind: 'filter'; filter: Record<string, string> };

export interface DeleteOutcome {
  /** "3,412 connections matching replyDst=203.0.113.7", "2 connections (ids 5, 6)" */
  what: string;
  plan: DeletePlan;
  result: DeleteResponse;
}

function requestBody(plan: DeletePlan, snapshot: string | undefined, dryRun: boolean) {
  return plan.kind === 'ids' ? { ids: plan.ids, snapshot, dryRun } : { filter: plan.filter, dryRun };
}

export const planSubject = (plan: DeletePlan): string =>
  plan.kind === 'ids' ? `selected (id ${plan.ids.slice(0, 5).join(', ')}${plan.ids.length > 5 ? ', …' : ''})` : `matching ${describeFilters(plan.filter)}`;

const plural = (n: number): string => `${formatCount(n)} connection${n === 1 ? '' : 's'}`;

function PreviewTable({ rows }: { rows: ApiConnection[] }) {
  return (
    <table className="w-full table-fixed text-xs" data-testid="delete-preview">
      <thead className="text-left text-slate-500">
        <tr>
          <th className="w-20 py-1">ID</th>
          <th className="w-14">Proto</th>
          <th>Source</th>
          <th>Destination</th>
          <th>NAT</th>
          <th className="w-24">State</th>
        </tr>
      </thead>
      <tbody className="font-mono">
        {rows.map((c) => (
          <tr key={c.id} className="border-t border-slate-100" data-testid="preview-row">
            <td className="py-1">{c.id}</td>
            <td>{c.protocol}</td>
            <td className="truncate">{endpointText(c, c.original, 'src')}</td>
            <td className="truncate">{endpointText(c, c.original, 'dst')}</td>
            <td className="truncate">{natText(c).join(' ') || '—'}</td>
            <td>{c.state ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export interface DeleteFlowProps {
  plan: DeletePlan;
  snapshot: string | undefined;
  onDone: (outcome: DeleteOutcome) => void;
  onCancel: () => void;
}

export function DeleteFlow({ plan, snapshot, onDone, onCancel }: DeleteFlowProps) {
  const key = JSON.stringify(requestBody(plan, snapshot, true));
  const preview = useApi<DeleteResponse>(key, (signal) => apiRequest<DeleteResponse>('/api/connections/delete', { method: 'POST', body: requestBody(plan, snapshot, true), signal }));
  const [running, setRunning] = useState(false);
  const [failure, setFailure] = useState<ApiError>();
  const subject = planSubject(plan);

  const confirm = async () => {
    setRunning(true);
    setFailure(undefined);
    try {
      const result = await apiRequest<DeleteResponse>('/api/connections/delete', { method: 'POST', body: requestBody(plan, snapshot, false) });
      const what = plan.kind === 'ids' && result.deletedIds ? `${plural(result.deleted)}${result.deletedIds.length ? ` (${idList(result.deletedIds)})` : ''}` : `${plural(result.deleted)} ${subject}`;
      onDone({ what, result, plan });
    } catch (error) {
      setFailure(error instanceof ApiError ? error : new ApiError(0, 'client', String(error)));
      setRunning(false);
    }
  };

  const matched = preview.data?.matched;
  // Ids: the dry run asked the kernel which of the chosen rows still exist.
  const goneIds = plan.kind === 'ids' ? (preview.data?.goneIds ?? []) : [];
  const rows = preview.data?.preview ?? (plan.kind === 'ids' ? plan.rows : []);
  return (
    <div className="space-y-3" data-testid="delete-flow">
      {preview.loading && <p className="text-sm text-slate-600">Checking what {subject} would delete…</p>}
      {preview.error && <ErrorPanel title="Could not preview the delete" error={preview.error} />}
      {matched !== undefined && (
        <>
          <p className="text-base font-semibold" data-testid="delete-summary">
            {matched === 0
              ? `Nothing to delete: no live connection ${plan.kind === 'ids' ? 'of the selection is left' : subject}.`
              : goneIds.length
                ? `${formatCount(goneIds.length)} of the ${formatCount(goneIds.length + matched)} no longer exist; delete the remaining ${formatCount(matched)}?`
                : `Delete ${plural(matched)} ${subject}`}
          </p>
          {goneIds.length > 0 && (
            <p className="text-sm text-slate-600" data-testid="delete-gone">
              Gone from the kernel since the snapshot: {idList(goneIds)}.
            </p>
          )}
          {matched > 0 && (
            <p className="text-sm text-slate-600">
              Connections are removed from the kernel table; packets of a removed flow that keep arriving create a new entry (or are dropped by a
              stateful rule). This cannot be undone.
            </p>
          )}
          {rows.length > 0 && (
            <div className="rounded border border-slate-200 p-2">
              <PreviewTable rows={rows} />
              {matched > rows.length && <p className="mt-1 text-xs text-slate-500">…and {formatCount(matched - rows.length)} more.</p>}
            </div>
          )}
        </>
      )}
      {failure && <ErrorPanel title="The delete failed" error={failure} />}
      <div className="flex justify-end gap-2 pt-2">
        <button type="button" className={buttonClass.secondary} onClick={onCancel}>
          Cancel
        </button>
        <button type="button" className={buttonClass.danger} disabled={!matched || running} onClick={confirm} data-testid="confirm-delete">
          {running ? 'Deleting…' : matched ? `Delete ${goneIds.length ? 'the remaining ' : ''}${plural(matched)}` : 'Delete'}
        </button>
      </div>
    </div>
  );
}
