// The console's own notice sources (features elsewhere contribute theirs through notices.ts the same way).
import { config } from '@/lib/config';
import { readEventsSysctl } from '@/lib/conntrack';
import { contributeNotices, currentNotices, type Notice } from './notices';
import type { Principal } from './auth';
import { staleNotices } from './router-overview';

const EVENTS_FIX = 'sysctl -w net.netfilter.nf_conntrack_events=1';

/**
 * Conntrack events off (0) or "auto" (2) in the managed namespace: History then misses connections (all of
 * them, or those created while nobody listened) and Live shows no changes. A sysctl anyone can change at any
 * time, so it is read at every poll (one small /proc read).
 */
function eventsNotices(): Notice[] {
  const value = readEventsSysctl(config().netns);
  if (value === null || value === 1) return [];
  const missed = value === 0 ? 'History records no connection and Live shows no change' : 'History misses connections created while the console was not listening';
  return [
    {
      id: 'conntrack:events',
      level: 'warning',
      title: `Conntrack events are ${value === 0 ? 'off' : 'on "auto"'} (net.netfilter.nf_conntrack_events=${value})`,
      text: `${missed}. Turn them on with ${EVENTS_FIX}.`,
    },
  ];
}

/** GET /api/notices: the built-in sources are contributed on first use (idempotent: same ids replace). */
export function noticesFor(principal: Principal): Promise<{ notices: Notice[] }> {
  contributeNotices({ id: 'conntrack:events', read: eventsNotices });
  contributeNotices({ id: 'router:stale', read: staleNotices });
  return currentNotices(principal);
}
