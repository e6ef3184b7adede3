'use client';
// A time as every page shows it: in the browser's zone with its UTC offset (formatTime). The server renders a page
// before the browser's zone is known, so the server's HTML says UTC and the browser shows its own zone.
import { useSyncExternalStore } from 'react';
import { formatTime } from '../format';

const noSubscription = (): (() => void) => () => undefined;

/** A value only the browser knows (its zone, its offset), `server` while the server renders. */
export function useBrowserValue<T>(browser: () => T, server: T): T {
  return useSyncExternalStore(noSubscription, browser, () => server);
}

export function LocalTime({ iso, testId }: { iso: string; testId?: string }) {
  const text = useBrowserValue(() => formatTime(iso), `${iso.replace('T', ' ').slice(0, 19)} UTC`);
  return (
    <time dateTime={iso} data-testid={testId}>
      {text}
    </time>
  );
}
