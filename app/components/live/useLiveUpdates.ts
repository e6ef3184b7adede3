'use client';
// Live changes for the rows on screen, from GET /api/connections/live (Server-Sent Events): rows updated (state,
// counters), rows gone (with the cause), and new connections matching the page's filter. Reconnects when the ids
// change; the browser's EventSource retries by itself after a network error, but not after an "ended" event.
import { useEffect, useMemo, useState } from 'react';
import type { ApiConnection } from '@/lib/console';
import type { ApiHistoryStatus, LiveChanges } from '@/lib/console/history-types';

export interface LiveState {
  connected: boolean;
  /** Latest version of each updated row on screen, by id. */
  updated: ReadonlyMap<number, ApiConnection>;
  /** Rows on screen that ended, by id. */
  gone: ReadonlyMap<number, { cause: string; endedAt: string }>;
  /** New connections matching the filter since the toggle went on (newest first, at most 200). */
  added: readonly ApiConnection[];
  /** New connections seen beyond `added`. */
  addedMore: number;
  /** Set when the kernel dropped events: the view may be stale until the next refresh. */
  overflowAt: string | null;
  status: ApiHistoryStatus | null;
}

const EMPTY: LiveState = { connected: false, updated: new Map(), gone: new Map(), added: [], addedMore: 0, overflowAt: null, status: null };
const MAX_ADDED = 200;

/**
 * @param ids the connection ids on screen
 * @param options.enabled the live toggle
 * @param options.filter the page's filter as query parameters (for new connections); omit to skip new ones
 */
export function useLiveUpdates(ids: readonly number[], options: { enabled: boolean; filter?: Record<string, string> }): LiveState {
  const [state, setState] = useState<LiveState>(EMPTY);
  const idsKey = useMemo(() => [...ids].sort((a, b) => a - b).join(','), [ids]);
  const filterKey = options.filter ? new URLSearchParams(options.filter).toString() : null;

  useEffect(() => {
    if (!options.enabled || (!idsKey && filterKey === null)) return;
    const params = new URLSearchParams(filterKey ?? '');
    if (idsKey) params.set('ids', idsKey);
    if (filterKey !== null) params.set('new', '1');
    const source = new EventSource(`/api/connections/live?${params.toString()}`);
    source.onopen = () => setState((s) => ({ ...s, connected: true }));
    source.onerror = () => setState((s) => ({ ...s, connected: false }));
    // The server ends the feed when the session or token is no longer valid: reconnecting would only be refused.
    source.addEventListener('ended', () => {
      source.close();
      setState((s) => ({ ...s, connected: false }));
    });
    source.addEventListener('status', (event) => {
      const status = JSON.parse((event as MessageEvent<string>).data) as ApiHistoryStatus;
      setState((s) => ({ ...s, status }));
    });
    source.addEventListener('overflow', (event) => {
      const { at } = JSON.parse((event as MessageEvent<string>).data) as { at: string };
      setState((s) => ({ ...s, overflowAt: at }));
    });
    source.addEventListener('changes', (event) => {
      const changes = JSON.parse((event as MessageEvent<string>).data) as LiveChanges;
      setState((s) => {
        const updated = new Map(s.updated);
        for (const c of changes.updated) updated.set(c.id, c);
        const gone = new Map(s.gone);
        for (const g of changes.gone) gone.set(g.id, { cause: g.cause, endedAt: g.endedAt });
        const added = [...changes.added.reverse(), ...s.added];
        return { ...s, updated, gone, added: added.slice(0, MAX_ADDED), addedMore: s.addedMore + changes.addedMore + Math.max(0, added.length - MAX_ADDED) };
      });
    });
    return () => {
      source.close();
      setState(EMPTY);
    };
  }, [options.enabled, idsKey, filterKey]);

  return options.enabled ? state : EMPTY;
}
