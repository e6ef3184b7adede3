'use client';
// One clock for every ticking figure on a page (a snapshot's age, time left): a single timer, started while
// something shows it, re-rendering its subscribers once a second.
import { useSyncExternalStore } from 'react';

const TICK_MS = 1000;
const listeners = new Set<() => void>();
let timer: ReturnType<typeof setInterval> | undefined;
let now = Date.now();

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  if (!timer) {
    now = Date.now();
    timer = setInterval(() => {
      now = Date.now();
      for (const l of listeners) l();
    }, TICK_MS);
  }
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}

/** The time now (ms), updated every second; 0 while rendering on the server (nothing ticks there). */
export function useNow(): number {
  return useSyncExternalStore(subscribe, () => now, () => 0);
}
