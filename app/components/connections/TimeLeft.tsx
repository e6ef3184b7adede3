'use client';
// A connection's time left, counting down from the snapshot's figure (the kernel's timeout when it was taken).
// Past zero the entry has probably expired, unless a packet renewed it since: "expired?".
import { useNow } from '../ui/clock';
import { formatDuration } from '../format';

export function TimeLeft({ timeout, takenLocalMs, className }: { timeout: number; takenLocalMs: number | undefined; className?: string }) {
  const now = useNow();
  const elapsed = takenLocalMs === undefined || now === 0 ? 0 : Math.max(0, (now - takenLocalMs) / 1000);
  const left = timeout - elapsed;
  const title = `${formatDuration(timeout)} left when the snapshot was taken; counting down since (a packet may have renewed it)`;
  return left > 0 ? (
    <span className={className} title={title} data-testid="time-left">
      {formatDuration(Math.ceil(left))}
    </span>
  ) : (
    <span className={`${className ?? ''} text-amber-800`} title={title} data-testid="time-left">
      expired?
    </span>
  );
}
