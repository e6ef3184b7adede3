'use client';
// MultiWAN: after an uplink changes its address, NAT’ed entries still carry the old one as their reply
// destination and keep traffic pinned to a dead path. Pick that address, see what goes, delete it.
import { useState, type FormEvent } from 'react';
import { apiRequest } from '../api/http';
import type { ExternalAddressesResponse } from '../api/types';
import { useApi } from '../api/useApi';
import { buttonClass } from '../ui/buttons';
import { Dialog } from '../ui/Dialog';
import { ErrorPanel } from '../ui/ErrorPanel';
import { DeleteFlow, type DeleteOutcome } from './DeleteFlow';
import { formatCount } from './format';

// Light check only: the server validates addresses with the shared filter vocabulary and says what is wrong.
const looksLikeAddress = (text: string): boolean => /^[0-9a-f:.]+(\/\d{1,3})?$/i.test(text) && (text.includes('.') || text.includes(':'));

export interface ExternalAddressCleanupProps {
  snapshot: string | undefined;
  onClose: () => void;
  onDone: (outcome: DeleteOutcome) => void;
}

export function ExternalAddressCleanup({ snapshot, onClose, onDone }: ExternalAddressCleanupProps) {
  const suggestions = useApi<ExternalAddressesResponse>(`external#${snapshot ?? ''}`, (signal) =>
    apiRequest<ExternalAddressesResponse>(`/api/connections/external-addresses${snapshot ? `?snapshot=${encodeURIComponent(snapshot)}` : ''}`, { signal }),
  );
  const [address, setAddress] = useState('');
  const [chosen, setChosen] = useState<string>();
  const [hint, setHint] = useState<string>();

  const preview = (event: FormEvent) => {
    event.preventDefault();
    const text = address.trim();
    if (!looksLikeAddress(text)) {
      setHint('Enter an IPv4 or IPv6 address, e.g. 203.0.113.7');
      return;
    }
    setHint(undefined);
    setChosen(text);
  };

  return (
    <Dialog title="Clean up an old external address" onClose={onClose} wide testId="multiwan-dialog">
      {chosen ? (
        <div className="space-y-2">
          <p className="text-sm text-slate-600">
            NAT’ed connections whose reply goes to <span className="font-mono">{chosen}</span> (filter replyDst={chosen}):
          </p>
          <DeleteFlow plan={{ kind: 'filter', filter: { replyDst: chosen } }} snapshot={snapshot} onDone={onDone} onCancel={() => setChosen(undefined)} />
        </div>
      ) : (
        <form onSubmit={preview} className="space-y-3 text-sm">
          <p className="text-slate-600">
            When an uplink gets a new address, connections NAT’ed to the old one stay in the table and keep traffic on a dead path until they time
            out. Pick the old external address to remove exactly those entries; connections through the other uplinks are not touched.
          </p>
          <div>
            <p className="mb-1 font-medium">External addresses in use (reply destination of SNAT’ed connections)</p>
            {suggestions.loading && <p className="text-slate-500">Looking up external addresses…</p>}
            {suggestions.error && <ErrorPanel title="Could not list external addresses" error={suggestions.error} />}
            {suggestions.data && suggestions.data.items.length === 0 && <p className="text-slate-500">No SNAT’ed connections in the snapshot. You can still type an address.</p>}
            <ul className="flex flex-wrap gap-2" aria-label="External addresses">
              {suggestions.data?.items.map((item) => (
                <li key={item.address}>
                  <button
                    type="button"
                    onClick={() => setAddress(item.address)}
                    data-testid="external-address"
                    data-address={item.address}
                    className={`rounded border px-2 py-1 font-mono ${address === item.address ? 'border-sky-600 bg-sky-50' : 'border-slate-300 hover:bg-slate-50'}`}
                  >
                    {item.address} <span className="text-slate-500">· {formatCount(item.count)}</span>
                  </button>
                </li>
              ))}
            </ul>
          </div>
          <label className="block">
            Old external address
            <input
              data-autofocus
              className="mt-1 block w-full rounded border border-slate-300 px-2 py-1 font-mono"
              value={address}
              onChange={(e) => setAddress(e.target.value)}
              placeholder="203.0.113.7"
              aria-label="Old external address"
              aria-invalid={hint !== undefined}
            />
          </label>
          {hint && <p className="text-red-700">{hint}</p>}
          <div className="flex justify-end gap-2">
            <button type="button" className={buttonClass.secondary} onClick={onClose}>
              Cancel
            </button>
            <button type="submit" className={buttonClass.primary} disabled={!address.trim()} data-testid="multiwan-preview">
              Preview
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
