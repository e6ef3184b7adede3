// The cleanup policies (config `policies`): the console deletes by itself what an uplink change leaves stale.
// One runner per policy collects the WAN events it watches (lib/router's WanTracker) and runs its cleanup
// (policy-actions.ts) through audited(): the intent on record before the kernel is asked, actor kind `policy`.
// A run starts GATHER_MS after the event that makes it due (so the IPv4 and IPv6 halves of one reconnect go
// together), well within the 2 s promise. Events within minIntervalSeconds of a cleanup's start wait for the next run
// and all go into it: merged, never dropped. A run that could not be recorded (storage) or did not finish (kernel)
// keeps its events for the next attempt.
import { authService, type Actor, type AuditEntry } from '@/lib/auth';
import { config, type PolicySetting } from '@/lib/config';
import { onShutdown } from '@/lib/lifecycle';
import { logger } from '@/lib/observability';
import type { WanEvent } from '@/lib/router';
import { audited } from './audited';
import { raiseNotice } from './notices';

/** From the event that makes a run due to its start. */
export const GATHER_MS = 250;
/** A run that could not be recorded or failed is tried again after this (doubling up to RETRY_MAX_MS). */
const RETRY_MS = 5_000;
const RETRY_MAX_MS = 300_000;
/** How long the notice of a run stays in the notice area. */
const NOTICE_TTL_MS = 15 * 60_000;
/** Runs listed per policy on the Router page. */
const LAST_RUNS = 5;

/** What set a run off, as the audit row keeps it. */
export interface PolicyTriggerEvent {
  kind: WanEvent['kind'] | 'schedule';
  wan?: string;
  address?: string;
  family?: string;
  /** When the console saw it (ISO). */
  at: string;
}

/** The events of one run, merged. */
export interface PolicyWork {
  events: PolicyTriggerEvent[];
  /** address-removed: every address that left the WAN, in order, each once. */
  addresses: string[];
}

/** What a run did (or, dry, would have done). */
export interface PolicyResult {
  /** Entries deleted; for a dry run, entries that would have been. */
  count: number;
  matched: number;
  deleted: number;
  alreadyGone: number;
  failed: number;
  /** The WANs whose entries were looked at. */
  wans: string[];
  /** The external addresses cleaned (address-removed). */
  addresses?: string[];
  /** A dry run: the first entries it would have deleted, one line each. */
  sample?: string[];
}

export type PolicyExecutor = (policy: PolicySetting, work: PolicyWork) => Promise<PolicyResult>;

/** Which events a policy reacts to. */
export function watches(policy: PolicySetting, event: WanEvent): boolean {
  if (event.wan !== policy.wan) return false;
  switch (policy.on) {
    case 'address-removed':
      return event.kind === 'address-removed';
    case 'route-lost':
      return event.kind === 'default-route-lost' || event.kind === 'carrier-lost' || event.kind === 'link-down';
    case 'failback':
      return event.kind === 'default-route-gained';
    case 'schedule':
      return false;
  }
}

export function triggerOf(event: WanEvent): PolicyTriggerEvent {
  const trigger: PolicyTriggerEvent = { kind: event.kind, wan: event.wan, at: event.at.toISOString() };
  if ('address' in event) trigger.address = event.address;
  if ('family' in event) trigger.family = event.family;
  return trigger;
}

/** Details listed per kind in a trigger's line; more are counted. */
const LISTED = 4;

/** One line for a run's events: "address-removed on wan2 (203.0.113.2, 2001:db8:2::2)", kinds in order of arrival. */
export function describeTriggers(events: readonly PolicyTriggerEvent[]): string {
  const groups = new Map<string, string[]>();
  for (const e of events) {
    const key = `${e.kind}${e.wan ? ` on ${e.wan}` : ''}`;
    const details = groups.get(key) ?? [];
    const detail = e.address ?? e.family;
    if (detail && !details.includes(detail)) details.push(detail);
    groups.set(key, details);
  }
  return [...groups]
    .map(([key, details]) => {
      if (details.length === 0) return key;
      const more = details.length > LISTED ? `, ${details.length - LISTED} more` : '';
      return `${key} (${details.slice(0, LISTED).join(', ')}${more})`;
    })
    .join('; ');
}

export interface PolicyRunnerOptions {
  policy: PolicySetting;
  execute: PolicyExecutor;
  now?: () => number;
}

/** One policy: its pending events, its timer, its runs one at a time. */
export class PolicyRunner {
  readonly policy: PolicySetting;
  private readonly execute: PolicyExecutor;
  private readonly now: () => number;
  private pending: PolicyWork = { events: [], addresses: [] };
  private timer: NodeJS.Timeout | undefined;
  private schedule: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastStart = Number.NEGATIVE_INFINITY;
  private retryMs = 0;
  private stopped = false;

  constructor(options: PolicyRunnerOptions) {
    this.policy = options.policy;
    this.execute = options.execute;
    this.now = options.now ?? Date.now;
    if (this.policy.on === 'schedule' && this.policy.everySeconds !== undefined) {
      this.schedule = setInterval(() => this.add({ kind: 'schedule', at: new Date(this.now()).toISOString() }), this.policy.everySeconds * 1000);
      this.schedule.unref();
    }
  }

  /** Takes a WAN event if the policy watches it. */
  notify(event: WanEvent): void {
    if (watches(this.policy, event)) this.add(triggerOf(event));
  }

  add(trigger: PolicyTriggerEvent): void {
    if (this.stopped) return;
    this.pending.events.push(trigger);
    if (trigger.kind === 'address-removed' && trigger.address && !this.pending.addresses.includes(trigger.address)) this.pending.addresses.push(trigger.address);
    this.arm();
  }

  /** Runs (in the background) once the merge window allows; a run in progress arms again when it ends. */
  private arm(): void {
    if (this.timer || this.running || this.pending.events.length === 0 || this.stopped) return;
    const due = Math.max(this.now() + GATHER_MS, this.lastStart + this.policy.minIntervalSeconds * 1000, this.now() + this.retryMs);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // A timer may fire a millisecond early by the wall clock: the interval is a promise, so wait out the rest.
      if (this.now() < due) return this.arm();
      this.running = this.run().finally(() => {
        this.running = undefined;
        this.arm();
      });
    }, due - this.now());
    this.timer.unref();
  }

  private async run(): Promise<void> {
    const work = this.pending;
    this.pending = { events: [], addresses: [] };
    this.lastStart = this.now();
    const { policy } = this;
    const actor: Actor = { kind: 'policy', name: policy.name, source: 'console' };
    const intentDetails = {
      policy: policy.name,
      on: policy.on,
      wan: policy.wan ?? null,
      filter: policy.filter?.text ?? null,
      dryRun: policy.dryRun,
      trigger: describeTriggers(work.events),
      events: work.events,
      ...(policy.on === 'address-removed' ? { addresses: work.addresses } : {}),
    };
    try {
      const { value: result } = await audited(
        {
          actor,
          intent: { action: 'policy.run', target: `policy ${policy.name}`, details: intentDetails },
          result: (r: PolicyResult) => ({
            // A dry run deletes nothing: its count is what it would have deleted.
            affected: r.deleted,
            details: { count: r.count, matched: r.matched, deleted: r.deleted, alreadyGone: r.alreadyGone, failed: r.failed, wans: r.wans, ...(r.sample ? { sample: r.sample } : {}) },
          }),
        },
        () => {
          // The interval separates cleanups: it runs from the moment this one has begun, after its intent is on
          // record (writing it can take a while on a loaded machine), so the next intent and the next cleanup come
          // at least the interval after this one's.
          const cleanup = this.execute(policy, work);
          this.lastStart = this.now();
          return cleanup;
        },
      );
      this.retryMs = 0;
      const what = policy.dryRun ? `would have deleted ${result.count}` : `deleted ${result.count}`;
      raiseNotice(
        {
          id: `policy:${policy.name}`,
          level: result.failed > 0 ? 'warning' : 'info',
          title: `Policy ${policy.name} ${what} connection${result.count === 1 ? '' : 's'}${policy.dryRun ? ' (dry run)' : ''}`,
          text: `After ${intentDetails.trigger}${policy.filter ? `; filter ${policy.filter.text}` : ''}.${result.failed > 0 ? ` The kernel refused ${result.failed}.` : ''}`,
          link: { href: '/router', label: 'Router' },
        },
        { ttlMs: NOTICE_TTL_MS },
      );
    } catch (error) {
      // Not recorded (storage) or not finished (kernel, shutdown): the events wait for the next attempt.
      this.pending = { events: [...work.events, ...this.pending.events], addresses: [...new Set([...work.addresses, ...this.pending.addresses])] };
      this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs ? this.retryMs * 2 : RETRY_MS);
      logger().error({ err: error, policy: policy.name, retryInMs: this.retryMs, events: work.events.length }, 'policy run failed: its events are kept for the next attempt');
      raiseNotice(
        { id: `policy:${policy.name}`, level: 'warning', title: `Policy ${policy.name} could not run`, text: `${error instanceof Error ? error.message : String(error)}. It tries again in ${Math.round(this.retryMs / 1000)} s.`, link: { href: '/router', label: 'Router' } },
        { ttlMs: NOTICE_TTL_MS },
      );
    }
  }

  /** Whether nothing is waiting or running (tests wait for this). */
  get idle(): boolean {
    return !this.timer && !this.running && this.pending.events.length === 0;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.schedule);
  }
}

/** A policy as the Router page lists it, with its last runs (newest first) from the audit log. */
export interface ApiPolicy {
  name: string;
  on: PolicySetting['on'];
  wan: string | null;
  filter: string | null;
  dryRun: boolean;
  minIntervalSeconds: number;
  everySeconds: number | null;
  lastRuns: ApiPolicyRun[];
}

export interface ApiPolicyRun {
  auditId: number;
  at: string;
  finishedAt: string | null;
  outcome: AuditEntry['outcome'];
  trigger: string;
  count: number | null;
  dryRun: boolean;
}

function runOf(entry: AuditEntry): ApiPolicyRun {
  const details = entry.details ?? {};
  return {
    auditId: entry.id,
    at: entry.at,
    finishedAt: entry.finishedAt,
    outcome: entry.outcome,
    trigger: typeof details.trigger === 'string' ? details.trigger : '',
    count: typeof details.count === 'number' ? details.count : null,
    dryRun: details.dryRun === true,
  };
}

/** The configured policies with their last runs; read-only (they change only through the configuration). */
export function listPolicies(): ApiPolicy[] {
  const { audit } = authService();
  return config().policies.map((p) => ({
    name: p.name,
    on: p.on,
    wan: p.wan ?? null,
    filter: p.filter?.text ?? null,
    dryRun: p.dryRun,
    minIntervalSeconds: p.minIntervalSeconds,
    everySeconds: p.everySeconds ?? null,
    lastRuns: audit
      .query({ action: 'policy.run', actor: p.name, limit: LAST_RUNS, offset: 0 })
      .items.filter((e) => e.actorKind === 'policy')
      .map(runOf),
  }));
}

/** The process's runners, fed by a WAN event source (the console's WanTracker). */
export interface PolicyRuntime {
  runners: PolicyRunner[];
  stop(): void;
}

export interface WanEventSource {
  on(event: 'event', listener: (event: WanEvent) => void): unknown;
  off(event: 'event', listener: (event: WanEvent) => void): unknown;
}

/** Starts one runner per policy on `source`; stopped at shutdown. */
export function startPolicyRunners(policies: readonly PolicySetting[], source: WanEventSource, execute: PolicyExecutor): PolicyRuntime {
  const runners = policies.map((policy) => new PolicyRunner({ policy, execute }));
  const listener = (event: WanEvent) => {
    for (const runner of runners) runner.notify(event);
  };
  source.on('event', listener);
  const runtime: PolicyRuntime = {
    runners,
    stop: () => {
      source.off('event', listener);
      for (const runner of runners) runner.stop();
    },
  };
  onShutdown('policies', () => runtime.stop());
  logger().info({ policies: policies.map((p) => p.name) }, 'cleanup policies started');
  return runtime;
}
