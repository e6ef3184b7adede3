'use client';
// Reverse DNS for one view (Connections, History): off until the user turns it on (remembered per view in this
// browser), offered only when the server has it (CONNTRACK_REVERSE_DNS). The page's own answer never waits for DNS:
// the PTR names of the addresses the name files left unnamed are asked for afterwards, at most one page's worth,
// and merged under the files' names.
import { useEffect, useMemo, useState } from 'react';
import { apiRequest } from '../api/http';
import type { NamesStatusResponse, PageNames, ReverseNamesResponse } from '../api/types';
import { useApi } from '../api/useApi';

export interface ReverseNamesState {
  /** The server offers reverse DNS. */
  offered: boolean;
  on: boolean;
  setOn: (on: boolean) => void;
  /** Lookups under way. */
  looking: boolean;
  /** Names found by reverse DNS on this page. */
  found: number;
}

const storageKey = (view: string) => `ctc.reverse-dns.${view}`;

/** The page's names with PTR names added (files first), and the switch's state. */
export function useReverseNames(view: string, page: PageNames | undefined, addresses: readonly string[]): { names: PageNames | undefined; reverse: ReverseNamesState } {
  const status = useApi<NamesStatusResponse>('names-status', (signal) => apiRequest<NamesStatusResponse>('/api/names', { signal }));
  const offered = status.data?.reverseDns.enabled === true;
  const perPage = status.data?.reverseDns.perPage ?? 0;
  // Read at once: nothing renders from it before the server's answer says reverse DNS is offered (client-side only).
  const [on, setOnState] = useState(() => typeof window !== 'undefined' && window.localStorage.getItem(storageKey(view)) === 'on');
  const setOn = (next: boolean) => {
    window.localStorage.setItem(storageKey(view), next ? 'on' : 'off');
    setOnState(next);
  };
  const unnamed = useMemo(() => [...new Set(addresses)].filter((a) => !page?.names[a]).slice(0, perPage), [addresses, page, perPage]);
  const key = on && offered && unnamed.length ? unnamed.join(',') : null;
  const lookup = useApi<ReverseNamesResponse>(key === null ? null : `reverse#${key}`, (signal) =>
    apiRequest<ReverseNamesResponse>(`/api/names/reverse?addresses=${encodeURIComponent(key ?? '')}`, { signal }),
  );
  // Addresses the server had no room for yet (other pages' lookups running): ask again shortly.
  const pending = lookup.data?.pending.length ?? 0;
  const { reload } = lookup;
  useEffect(() => {
    if (!pending) return;
    const timer = setTimeout(reload, 2000);
    return () => clearTimeout(timer);
  }, [pending, reload]);
  const names = useMemo(() => {
    if (!page || !key || !lookup.data) return page;
    return { ...page, names: { ...lookup.data.names, ...page.names } };
  }, [page, key, lookup.data]);
  const found = key && lookup.data ? Object.keys(lookup.data.names).filter((a) => !page?.names[a]).length : 0;
  return { names, reverse: { offered, on, setOn, looking: key !== null && lookup.loading, found } };
}

/** Every address a page of connections shows (both directions), for useReverseNames. */
export function rowAddresses(rows: readonly { original: { src: string; dst: string }; reply: { src: string; dst: string } }[]): string[] {
  const out = new Set<string>();
  for (const row of rows) for (const address of [row.original.src, row.original.dst, row.reply.src, row.reply.dst]) out.add(address);
  return [...out];
}
