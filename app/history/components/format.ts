// Display helpers of the history page.
import type { ApiEndpoint } from '@/lib/console';

export const endpointText = (e: ApiEndpoint, side: 'src' | 'dst'): string => {
  const address = e[side];
  const port = side === 'src' ? e.sport : e.dport;
  if (port === undefined) return address;
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
};

export function durationText(ms: number | undefined): string {
  if (ms === undefined) return '—';
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export const bytesText = (n: number | undefined): string => {
  if (n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(1)} GiB`;
};

export const timeText = (iso: string | undefined): string => (iso ? new Date(iso).toLocaleString() : '—');
