'use client';
// Query hooks of the console: one page of connections, the header's counts, the table statistics.
// Every read names the snapshot it reads, so paging and counts agree until the administrator refreshes.
import { TCP_STATES } from '@/lib/conntrack/constants';
import { ApiError, apiRequest } from '../api/http';
import type { ApiSnapshot, ListResponse, StatsResponse } from '../api/types';
import { useApi } from '../api/useApi';
import { filterParams, listUrl, type ConsoleQuery } from './query';

const isSnapshotGone = (error: unknown): boolean => error instanceof ApiError && (error.code === 'snapshot_expired' || error.code === 'snapshot_not_found');

/**
 * One page of the query, read from the given snapshot (the latest when undefined). Reports the snapshot each
 * answer came from, so the caller can pin it; the id is not part of the key, so pinning does not fetch again.
 */
export function useConnections(query: ConsoleQuery, snapshot: string | undefined, generation: number, enabled: boolean, onSnapshot: (snapshot: ApiSnapshot) => void) {
  return useApi<ListResponse>(enabled ? `${listUrl(query, undefined)}#${generation}` : null, async (signal) => {
    let response: ListResponse;
    try {
      response = await apiRequest<ListResponse>(listUrl(query, snapshot), { signal });
    } catch (error) {
      // The server replaced the pinned snapshot (it keeps only a few): read the latest one instead.
      if (!snapshot || !isSnapshotGone(error)) throw error;
      response = await apiRequest<ListResponse>(listUrl(query, undefined), { signal });
    }
    onSnapshot(response.snapshot);
    return response;
  });
}

const SUMMARY_PROTOCOLS = ['tcp', 'udp', 'icmp', 'icmpv6'] as const;

export interface TableSummary {
  protocols: { name: string; count: number }[];
  states: { name: string; count: number }[];
}

async function countOf(params: Record<string, string>, snapshot: string, signal: AbortSignal): Promise<number> {
  const search = filterParams(params);
  search.set('limit', '1');
  search.set('snapshot', snapshot);
  return (await apiRequest<ListResponse>(`/api/connections?${search}`, { signal })).matched;
}

/** Counts by protocol and by TCP state, from one-row queries against the snapshot (their `matched`). */
export function useTableSummary(snapshot: string | undefined) {
  return useApi<TableSummary>(snapshot ? `summary#${snapshot}` : null, async (signal) => {
    const id = snapshot as string;
    const [protocols, states] = await Promise.all([
      Promise.all(SUMMARY_PROTOCOLS.map(async (name) => ({ name, count: await countOf({ protocol: name }, id, signal) }))),
      Promise.all(TCP_STATES.map(async (name) => ({ name, count: await countOf({ state: name }, id, signal) }))),
    ]);
    return { protocols, states: states.filter((s) => s.count > 0) };
  });
}

export function useStats(generation: number) {
  return useApi<StatsResponse>(`stats#${generation}`, (signal) => apiRequest<StatsResponse>('/api/stats', { signal }));
}
