'use client';
// Emptying the table is the one action without a filter: it needs the word typed, not just a click.
import { useState } from 'react';
import { ApiError, apiRequest } from '../api/http';
import type { FlushResponse } from '../api/types';
import { buttonClass } from '../ui/buttons';
import { FLUSH_WORD, typedMatches } from '../ui/confirm-word';
import { Dialog } from '../ui/Dialog';
import { ErrorPanel } from '../ui/ErrorPanel';
import { TypeToConfirm } from '../ui/TypeToConfirm';
import { formatCount } from '../format';

export interface FlushDialogProps {
  total: number | undefined;
  onClose: () => void;
  onDone: (what: string, deleted: number) => void;
}

export function FlushDialog({ total, onClose, onDone }: FlushDialogProps) {
  const [family, setFamily] = useState<'' | 'ipv4' | 'ipv6'>('');
  const [typed, setTyped] = useState('');
  const [running, setRunning] = useState(false);
  const [failure, setFailure] = useState<ApiError>();
  const scope = family === '' ? 'every connection (IPv4 and IPv6)' : `every ${family === 'ipv4' ? 'IPv4' : 'IPv6'} connection`;

  const flush = async () => {
    setRunning(true);
    setFailure(undefined);
    try {
      const result = await apiRequest<FlushResponse>('/api/connections/flush', { method: 'POST', body: family ? { family } : {} });
      onDone(`${formatCount(result.deleted)} connections: flushed ${scope}${result.audit === 'pending' ? ' (its audit entry is still pending)' : ''}`, result.deleted);
    } catch (error) {
      setFailure(error instanceof ApiError ? error : new ApiError(0, 'client', String(error)));
      setRunning(false);
    }
  };

  return (
    <Dialog title="Flush the connection table" onClose={onClose} testId="flush-dialog">
      <div className="space-y-3 text-sm">
        <p className="text-base font-semibold" data-testid="flush-summary">
          Delete {scope}
          {total !== undefined && family === '' ? ` — ${formatCount(total)} in the last snapshot` : ''}.
        </p>
        <p className="text-slate-600">
          Established sessions lose their state: NAT’ed flows break until they reconnect, and stateful rules may drop their packets. Use a filtered
          delete if you only mean some of them.
        </p>
        <label className="flex items-center gap-2">
          Family
          <select className="rounded border border-slate-300 px-2 py-1" value={family} onChange={(e) => setFamily(e.target.value as '' | 'ipv4' | 'ipv6')}>
            <option value="">IPv4 and IPv6</option>
            <option value="ipv4">IPv4 only</option>
            <option value="ipv6">IPv6 only</option>
          </select>
        </label>
        <TypeToConfirm word={FLUSH_WORD} value={typed} onChange={setTyped} onConfirm={() => running || void flush()} />
        {failure && <ErrorPanel title="The flush failed" error={failure} />}
        <div className="flex justify-end gap-2 pt-2">
          <button type="button" className={buttonClass.secondary} onClick={onClose}>
            Cancel
          </button>
          <button type="button" className={buttonClass.danger} disabled={!typedMatches(FLUSH_WORD, typed) || running} onClick={flush} data-testid="confirm-flush">
            {running ? 'Flushing…' : 'Flush'}
          </button>
        </div>
      </div>
    </Dialog>
  );
}
