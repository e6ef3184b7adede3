// The `policies` setting: cleanups the console runs by itself when an uplink changes (or on a schedule). Checked
// here like every other setting, so a bad policy stops the start with one line naming it; what a policy does is
// lib/console/policies.ts. The WAN it names is checked against the configured WANs here, and against the managed
// namespace's interfaces at start (scripts/serve.ts), since without `wans` the WANs are found by their routes.
import { z } from 'zod';
import { filterSchema, filterShape, type FilterInput } from '@/lib/conntrack/filter';

export const POLICY_TRIGGERS = ['address-removed', 'route-lost', 'failback', 'schedule'] as const;
export type PolicyTrigger = (typeof POLICY_TRIGGERS)[number];

export interface PolicySetting {
  name: string;
  on: PolicyTrigger;
  /** The WAN (its configured name, or its interface name); optional only for `schedule`. */
  wan?: string;
  /** The narrowing filter in the filter vocabulary, as written ("protocol=udp dport=5060"), or undefined. */
  filter?: { text: string; fields: z.output<typeof filterSchema> };
  /** Delete nothing; audit what would have gone. */
  dryRun: boolean;
  /** Events within this many seconds of a run's start merge into the next run (0: every event runs). */
  minIntervalSeconds: number;
  /** `schedule` only: seconds between runs. */
  everySeconds?: number;
}

const POLICY_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const MAX_INTERVAL_SECONDS = 86_400;
const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
const FILTER_KEYS = Object.keys(filterShape);

/** "protocol=udp dport=5060": whitespace-separated key=value pairs, the keys of the filter vocabulary. */
function filterFromText(text: string, ctx: z.RefinementCtx): FilterInput | typeof z.NEVER {
  const fields: Record<string, string> = {};
  for (const pair of text.trim().split(/\s+/).filter(Boolean)) {
    const at = pair.indexOf('=');
    const key = pair.slice(0, at);
    if (at <= 0 || !FILTER_KEYS.includes(key)) {
      ctx.addIssue({ code: 'custom', message: `"${pair}" is not key=value with a filter key (${FILTER_KEYS.join(', ')})` });
      return z.NEVER;
    }
    if (key in fields) {
      ctx.addIssue({ code: 'custom', message: `${key} is given twice` });
      return z.NEVER;
    }
    fields[key] = pair.slice(at + 1);
  }
  return fields;
}

const filter = z.union([z.string(), z.record(z.string(), z.unknown())], { error: 'must be a filter such as "protocol=udp dport=5060" (or an object of filter fields)' }).transform((value, ctx) => {
  const input = typeof value === 'string' ? filterFromText(value, ctx) : value;
  if (input === z.NEVER) return z.NEVER;
  const result = filterSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    ctx.addIssue({ code: 'custom', message: issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message });
    return z.NEVER;
  }
  const text = typeof value === 'string' ? value.trim().split(/\s+/).join(' ') : Object.entries(value).map(([k, v]) => `${k}=${String(v)}`).join(' ');
  return { text, fields: result.data };
});

const every = z.union([z.number(), z.string()], { error: 'must be an interval such as "30s", "15m", "6h" or "1d" (or a number of seconds)' }).transform((value, ctx) => {
  const match = typeof value === 'string' ? /^\s*(\d+)\s*([smhd])\s*$/.exec(value) : null;
  const seconds = typeof value === 'number' ? value : match ? Number(match[1]) * UNITS[match[2]] : NaN;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 366 * 86_400) {
    ctx.addIssue({ code: 'custom', message: 'must be an interval such as "30s", "15m", "6h" or "1d" (1 s to 366 d)' });
    return z.NEVER;
  }
  return seconds;
});

const policyObject = z.strictObject(
  {
    name: z.string({ error: 'must be a name' }).regex(POLICY_NAME, { error: "must be letters, digits, '.', '_' or '-' (at most 64)" }),
    on: z.enum(POLICY_TRIGGERS, { error: `must be one of ${POLICY_TRIGGERS.join(', ')}` }),
    wan: z.string({ error: 'must be a WAN name' }).trim().min(1, { error: 'must be a WAN name' }).optional(),
    filter: filter.optional(),
    dryRun: z.boolean({ error: 'must be true or false' }).default(false),
    minIntervalSeconds: z.number({ error: `must be a number of seconds 0..${MAX_INTERVAL_SECONDS}` }).min(0, { error: `must be a number of seconds 0..${MAX_INTERVAL_SECONDS}` }).max(MAX_INTERVAL_SECONDS, { error: `must be a number of seconds 0..${MAX_INTERVAL_SECONDS}` }).default(0),
    every: every.optional(),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown key ${issue.keys.map((k) => `"${k}"`).join(', ')} (known: name, on, wan, filter, dryRun, minIntervalSeconds, every)` : 'must be an object { name, on, wan, filter?, dryRun?, minIntervalSeconds?, every? }') },
);

/** How a policy is named in an error: by its name when it has one, else by its place. */
function label(item: unknown, index: number): string {
  const name = item !== null && typeof item === 'object' && 'name' in item ? item.name : undefined;
  return typeof name === 'string' && name ? `policy "${name}"` : `policy #${index + 1}`;
}

/** The file's list of policies (in the environment, CONNTRACK_POLICIES holds the same list as JSON). */
export const policies = z
  .preprocess(
    (value) => {
      if (typeof value !== 'string') return value;
      try {
        return JSON.parse(value) as unknown;
      } catch {
        return value;
      }
    },
    z.array(z.unknown(), { error: 'must be a JSON list of policies [{ "name": ..., "on": ..., "wan": ... }]' }),
  )
  .transform((items, ctx): PolicySetting[] => {
    const out: PolicySetting[] = [];
    for (const [index, item] of items.entries()) {
      const fail = (message: string) => {
        ctx.addIssue({ code: 'custom', message: `${label(item, index)}: ${message}` });
        return z.NEVER;
      };
      const result = policyObject.safeParse(item);
      if (!result.success) {
        const issue = result.error.issues[0];
        const field = issue.path.length ? `${issue.path.join('.')}: ` : '';
        return fail(issue.path[0] === 'on' && item && typeof item === 'object' && 'on' in item ? `on: unknown trigger ${JSON.stringify(item.on)} (${issue.message})` : `${field}${issue.message}`);
      }
      const { every: everySeconds, ...policy } = result.data;
      if (out.some((p) => p.name === policy.name)) return fail('the name is given twice');
      if (policy.on === 'schedule') {
        if (everySeconds === undefined) return fail('every: a schedule needs an interval such as "15m"');
        if (!policy.wan && !policy.filter) return fail('a schedule needs a filter or a wan (it would delete every connection)');
      } else {
        if (everySeconds !== undefined) return fail(`every: only a schedule has an interval (this one runs on ${policy.on})`);
        if (!policy.wan) return fail(`wan: ${policy.on} needs the WAN it watches`);
      }
      out.push(everySeconds === undefined ? policy : { ...policy, everySeconds });
    }
    return out;
  });

/** A policy naming a WAN that is not among the configured ones, as the error line's reason; undefined when all are. */
export function unknownConfiguredWan(list: readonly PolicySetting[], wanNames: readonly string[]): string | undefined {
  if (wanNames.length === 0) return undefined;
  const bad = list.find((p) => p.wan !== undefined && !wanNames.includes(p.wan));
  return bad && `policy "${bad.name}": wan "${bad.wan}" is not a configured WAN (wans: ${wanNames.join(', ')})`;
}
