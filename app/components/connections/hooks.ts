'use client';
// Query hooks of the console: one page of connections, the header's counts, the table statistics.
// Every read names the snapshot it reads, so paging and counts agree until the administrator refreshes.
import { ApiError, apiRequest } from '../api/http';
import type { ApiSnapshot, ListResponse, StatsResponse, SummaryResponse } from '../api/types';
import { useApi } from '../api/useApi';
import { listUrl, type ConsoleQuery } from './query';

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

/** The header's counts by protocol, TCP state and family: one request, counted in one pass on the server. */
export function useTableSummary(snapshot: string | undefined) {
  return useApi<SummaryResponse>(snapshot ? `summary#${snapshot}` : null, (signal) =>
    apiRequest<SummaryResponse>(`/api/connections/summary?snapshot=${encodeURIComponent(snapshot ?? '')}`, { signal }),
  );
}

/** The table's usage and counters now; the counters' baseline is the reading of the snapshot before `snapshot`. */
export function useStats(generation: number, snapshot: string | undefined) {
  const url = snapshot ? `/api/stats?snapshot=${encodeURIComponent(snapshot)}` : '/api/stats';
  return useApi<StatsResponse>(`stats#${generation}#${url}`, (signal) => apiRequest<StatsResponse>(url, { signal }));
}
