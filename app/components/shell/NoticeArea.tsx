'use client';
// The one notice area of every signed-in page: polls GET /api/notices every 15 s, so an alarm raised anywhere in
// the server (lib/console/notices.ts) shows without a table refresh. A notice can be dismissed for this page
// view; it comes back on the next page if its condition lasts. The poll also notices a session that ended and
// sends the browser to log in again, back to exactly this URL.
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';
import type { Notice, NoticeLevel } from '@/lib/console/notices';
import { apiRequest, whenSessionEnds } from '../api/http';
import { useApi } from '../api/useApi';

export const NOTICE_POLL_MS = 15_000;
const ASK_AGAIN = 'console:notices';

/** Asks the notice area to poll now: after an action that may have ended a notice's condition (a cleanup). */
export function refreshNotices(): void {
  window.dispatchEvent(new Event(ASK_AGAIN));
}

const LOOK: Record<NoticeLevel, string> = {
  critical: 'border-red-300 bg-red-50 text-red-900',
  warning: 'border-amber-300 bg-amber-50 text-amber-900',
  info: 'border-sky-200 bg-sky-50 text-sky-900',
};
const WORD: Record<NoticeLevel, string> = { critical: 'Critical', warning: 'Warning', info: 'Note' };

export function NoticeArea() {
  const router = useRouter();
  const [tick, setTick] = useState(0);
  const [dismissed, setDismissed] = useState<ReadonlySet<string>>(new Set());
  const notices = useApi<{ notices: Notice[] }>(`notices#${tick}`, (signal) => apiRequest('/api/notices', { signal }));

  useEffect(() => whenSessionEnds(() => router.replace(`/login?next=${encodeURIComponent(window.location.pathname + window.location.search)}`)), [router]);
  useEffect(() => {
    const timer = setInterval(() => {
      // A hidden tab need not ask; it asks again as soon as it is shown.
      if (document.visibilityState === 'visible') setTick((t) => t + 1);
    }, NOTICE_POLL_MS);
    const shown = () => document.visibilityState === 'visible' && setTick((t) => t + 1);
    const now = () => setTick((t) => t + 1);
    document.addEventListener('visibilitychange', shown);
    window.addEventListener(ASK_AGAIN, now);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', shown);
      window.removeEventListener(ASK_AGAIN, now);
    };
  }, []);

  const shown = (notices.data?.notices ?? []).filter((n) => !dismissed.has(n.id));
  return (
    // The live region exists from the start, so a notice that appears later is announced.
    <section aria-label="Notices" aria-live="polite" className={shown.length ? 'space-y-2 px-4 pt-3 sm:px-6' : ''} data-testid="notices">
      {shown.map((notice) => (
        <div key={notice.id} className={`flex flex-wrap items-start gap-x-3 gap-y-1 rounded-md border px-3 py-2 text-sm ${LOOK[notice.level]}`} data-testid="notice" data-notice-id={notice.id} data-level={notice.level}>
          <p className="min-w-0 flex-1">
            <strong>
              {WORD[notice.level]}: {notice.title}
            </strong>
            {notice.text && <span className="ml-1">{notice.text}</span>}
            {notice.link && (
              <Link href={notice.link.href} className="ml-1 font-medium underline">
                {notice.link.label}
              </Link>
            )}
          </p>
          <button
            type="button"
            className="rounded px-1.5 text-sm underline-offset-2 hover:underline"
            onClick={() => setDismissed((prev) => new Set([...prev, notice.id]))}
            aria-label={`Dismiss: ${notice.title}`}
          >
            Dismiss
          </button>
        </div>
      ))}
    </section>
  );
}
