// The notices every signed-in page shows in its notice area (the shell polls GET /api/notices): alarms and
// warnings that features raise without the page knowing them - a table nearly full, a stale NAT mapping, a
// policy run. Two ways to contribute, both process-wide (on globalThis: Next bundles every route and
// instrumentation.ts apart, and all of them must see the same registry):
// - a source: a function asked at every poll for its current notices (state that can be read cheaply);
// - raise/clear: a notice set when something happens and kept until cleared or until it expires.
import type { Permission, Principal } from '@/lib/auth';
import { roleAllows } from '@/lib/auth';
import { logger } from '@/lib/observability';

export const NOTICE_LEVELS = ['info', 'warning', 'critical'] as const;
export type NoticeLevel = (typeof NOTICE_LEVELS)[number];

/** One notice as the browser gets it. */
export interface Notice {
  /** Stable while the condition lasts (the browser keys and dismisses by it): "<feature>:<what>". */
  id: string;
  level: NoticeLevel;
  /** One line: what is wrong ("Conntrack table 96% full"). */
  title: string;
  /** What it means and what to do, in a sentence or two. */
  text?: string;
  /** Where to act on it (a page of the console). */
  link?: { href: string; label: string };
  /** Since when (ISO). */
  since?: string;
}

export interface NoticeSource {
  /** Unique per feature; contributing again under the same id replaces the source. */
  id: string;
  /** Who sees its notices (default: anyone signed in). */
  permission?: Permission;
  /** The notices now. Must be cheap: it runs at every poll of every open page (every 15 s each). */
  read: () => Notice[] | Promise<Notice[]>;
}

interface Raised {
  notice: Notice;
  permission: Permission;
  expiresAt?: number;
}

interface Registry {
  sources: Map<string, NoticeSource>;
  raised: Map<string, Raised>;
}

const KEY = Symbol.for('conntrack-console.notices');
type Holder = typeof globalThis & { [KEY]?: Registry };

function registry(): Registry {
  const holder = globalThis as Holder;
  holder[KEY] ??= { sources: new Map(), raised: new Map() };
  return holder[KEY];
}

/** A source asked at every poll; returns the function that withdraws it. */
export function contributeNotices(source: NoticeSource): () => void {
  const { sources } = registry();
  sources.set(source.id, source);
  return () => {
    if (sources.get(source.id) === source) sources.delete(source.id);
  };
}

/** Shows a notice until clearNotice(id), or for ttlMs. Raising the same id again replaces it. */
export function raiseNotice(notice: Notice, options: { permission?: Permission; ttlMs?: number } = {}): void {
  registry().raised.set(notice.id, {
    notice: { ...notice, since: notice.since ?? new Date().toISOString() },
    permission: options.permission ?? 'read',
    expiresAt: options.ttlMs === undefined ? undefined : Date.now() + options.ttlMs,
  });
}

export function clearNotice(id: string): void {
  registry().raised.delete(id);
}

const RANK: Record<NoticeLevel, number> = { critical: 0, warning: 1, info: 2 };
/** A source that does not answer within this long is skipped for this poll (and logged). */
const SOURCE_TIMEOUT_MS = 2_000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** What this principal sees now: critical first, then warnings, then information; one notice per id. */
export async function currentNotices(principal: Principal): Promise<{ notices: Notice[] }> {
  const { sources, raised } = registry();
  const now = Date.now();
  const byId = new Map<string, Notice>();
  for (const [id, entry] of raised) {
    if (entry.expiresAt !== undefined && entry.expiresAt <= now) raised.delete(id);
    else if (roleAllows(principal.role, entry.permission)) byId.set(id, entry.notice);
  }
  const allowed = [...sources.values()].filter((s) => roleAllows(principal.role, s.permission ?? 'read'));
  const answers = await Promise.allSettled(allowed.map((s) => withTimeout(Promise.resolve().then(s.read), SOURCE_TIMEOUT_MS)));
  answers.forEach((answer, i) => {
    // One failing feature must not take the others' alarms with it.
    if (answer.status === 'rejected') logger().warn({ err: answer.reason, source: allowed[i].id }, 'notice source failed');
    else for (const notice of answer.value) byId.set(notice.id, notice);
  });
  return { notices: [...byId.values()].sort((a, b) => RANK[a.level] - RANK[b.level] || a.id.localeCompare(b.id)) };
}
