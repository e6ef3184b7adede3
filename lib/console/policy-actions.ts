// What a cleanup policy deletes, through the one cleanup-by-uplink code (cleanup.ts, uplink-queries.ts) the
// Router page's dialog uses, and how the runners start: on the console's router service, when the server starts
// (instrumentation.ts), again after a while when the managed namespace cannot be read yet.
import { toFilter, type Filter } from '@/lib/conntrack';
import { config, type PolicySetting } from '@/lib/config';
import { logger, registerHealthCheck, type CheckResult } from '@/lib/observability';
import { processValue } from '@/lib/process';
import { cleanupByUplink } from './cleanup';
import type { ApiConnection } from './connection';
import { deleteConnections, type DeleteOutcome } from './connections';
import { labelFilterOptions } from './labels';
import { startPolicyRunners, type PolicyExecutor, type PolicyResult, type PolicyRuntime } from './policies';
import { uplinkService } from './uplinks';

/** A dry run's audit entry lists this many of the entries it would have deleted. */
const SAMPLE_ROWS = 10;
const START_RETRY_MS = 5_000;

const endpoint = (e: ApiConnection['original']): string => (e.sport === undefined ? e.src : `${e.src.includes(':') ? `[${e.src}]` : e.src}:${e.sport}`);
const target = (e: ApiConnection['original']): string => (e.dport === undefined ? e.dst : `${e.dst.includes(':') ? `[${e.dst}]` : e.dst}:${e.dport}`);
/** "udp 192.168.1.10:5060 -> 203.0.113.5:5060 (id 1234)". */
const line = (c: ApiConnection): string => `${c.protocol} ${endpoint(c.original)} -> ${target(c.original)} (id ${c.id})`;

function sum(parts: DeleteOutcome[], dryRun: boolean, wans: string[]): PolicyResult {
  const total = (key: 'matched' | 'deleted' | 'alreadyGone' | 'failed') => parts.reduce((n, p) => n + p[key], 0);
  const result: PolicyResult = { count: dryRun ? total('matched') : total('deleted'), matched: total('matched'), deleted: total('deleted'), alreadyGone: total('alreadyGone'), failed: total('failed'), wans };
  if (dryRun) result.sample = parts.flatMap((p) => p.preview ?? []).slice(0, SAMPLE_ROWS).map(line);
  return result;
}

/** Delete-matching with the policy's filter and wan= (the Connections page's delete, the WAN column's meaning). */
const deleteMatching = (policy: PolicySetting, wan: string | undefined, user: string): Promise<DeleteOutcome> =>
  deleteConnections({ filter: { ...policy.filter?.fields, ...(wan === undefined ? {} : { wan }) }, dryRun: policy.dryRun }, user);

/** Runs one policy's cleanup for the events it collected. */
export const executePolicy: PolicyExecutor = async (policy, work) => {
  const user = `policy:${policy.name}`;
  const { dryRun } = policy;
  switch (policy.on) {
    case 'address-removed': {
      // Exactly the entries NATed to the addresses that left: not the WAN's other (current or older) ones.
      const narrow: Filter = policy.filter ? toFilter(policy.filter.fields, labelFilterOptions()) : {};
      const outcome = await cleanupByUplink({ addresses: work.addresses, inbound: false, dryRun }, user, { narrow });
      const part = outcome.outbound;
      return {
        count: dryRun ? part.matched : part.deleted,
        matched: part.matched,
        deleted: part.deleted,
        alreadyGone: part.alreadyGone,
        failed: part.failed,
        wans: [policy.wan!],
        addresses: outcome.addresses.map((a) => a.address),
        ...(dryRun ? { sample: (part.preview ?? []).slice(0, SAMPLE_ROWS).map(line) } : {}),
      };
    }
    case 'route-lost':
      // The entries of that WAN, as its WAN column says: NATed to its addresses, port forwards to them, routed out of it.
      return sum([await deleteMatching(policy, policy.wan, user)], dryRun, [policy.wan!]);
    case 'failback': {
      // The flows the other uplinks carried meanwhile: deleted, so they come back through this one.
      const others = (await uplinkService()).wans
        .wans()
        .map((w) => w.name)
        .filter((name) => name !== policy.wan);
      const parts: DeleteOutcome[] = [];
      for (const wan of others) parts.push(await deleteMatching(policy, wan, user));
      return sum(parts, dryRun, others);
    }
    case 'schedule':
      return sum([await deleteMatching(policy, policy.wan, user)], dryRun, policy.wan === undefined ? [] : [policy.wan]);
  }
};

interface PolicyStart {
  runtime: PolicyRuntime | undefined;
  /** Resolves once the runners follow the WANs. */
  started: Promise<void>;
  /** Why the last attempt could not start them. */
  failure?: string;
}

/**
 * Starts the configured policies once per process (the router service opens with them); idempotent. The health
 * check "policies" says whether they follow the WANs yet: a WAN event before that moves nothing.
 */
export function startPolicies(policies: readonly PolicySetting[] = config().policies): void {
  if (policies.length === 0) return;
  processValue<PolicyStart>('policies', () => {
    let markStarted = () => {};
    const state: PolicyStart = { runtime: undefined, started: new Promise((resolve) => (markStarted = resolve)) };
    const attempt = () => {
      uplinkService()
        .then((service) => {
          state.runtime = startPolicyRunners(policies, service.wans, executePolicy);
          state.failure = undefined;
          markStarted();
        })
        .catch((error: unknown) => {
          state.failure = error instanceof Error ? error.message : String(error);
          logger().error({ err: error, retryInMs: START_RETRY_MS }, 'cleanup policies wait for the router view of the managed namespace');
          setTimeout(attempt, START_RETRY_MS).unref();
        });
    };
    attempt();
    registerHealthCheck('policies', () => policiesCheck(state, policies));
    return state;
  });
}

/** How long the health check waits for a start in progress (the router view opens in well under a second). */
const CHECK_WAIT_MS = 2_000;

async function policiesCheck(state: PolicyStart, policies: readonly PolicySetting[]): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([state.started, new Promise((resolve) => (timer = setTimeout(resolve, CHECK_WAIT_MS)))]);
  clearTimeout(timer);
  const names = policies.map((p) => p.name).join(', ');
  if (state.runtime) return { status: 'ok', detail: `${policies.length} cleanup ${policies.length === 1 ? 'policy follows' : 'policies follow'} the WANs: ${names}` };
  const why = state.failure ? `the router view cannot be read: ${state.failure}; tried again every ${START_RETRY_MS / 1000} s` : 'the router view is still opening';
  return { status: 'fail', detail: `the cleanup policies (${names}) do not run yet, a WAN event now moves nothing: ${why}` };
}
