'use client';
// The query hook every data view is built on: runs a request when its key changes, cancels the previous one,
// and reports loading / data / error. No cache and no polling: the console only refreshes when asked.
// While a new key loads, the previous data stays (the grid dims it rather than blanking).
import { useCallback, useEffect, useState } from 'react';
import { ApiError, isAbort } from './http';

export interface ApiState<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  /** Runs the request again with the same key. */
  reload: () => void;
}

interface Settled<T> {
  token?: string;
  data?: T;
  error?: ApiError;
}

export function useApi<T>(key: string | null, load: (signal: AbortSignal) => Promise<T>): ApiState<T> {
  const [attempt, setAttempt] = useState(0);
  const [settled, setSettled] = useState<Settled<T>>({});
  const token = key === null ? null : `${attempt}:${key}`;

  useEffect(() => {
    if (token === null) return;
    const controller = new AbortController();
    load(controller.signal).then(
      (data) => setSettled({ token, data }),
      (reason: unknown) => {
        if (isAbort(reason)) return;
        const error = reason instanceof ApiError ? reason : new ApiError(0, 'client', reason instanceof Error ? reason.message : String(reason));
        setSettled((prev) => ({ token, data: prev.data, error }));
      },
    );
    return () => controller.abort();
    // The key stands for everything load depends on.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [token]);

  const reload = useCallback(() => setAttempt((n) => n + 1), []);
  const current = settled.token === token;
  return { data: settled.data, error: current ? settled.error : undefined, loading: token !== null && !current, reload };
}
