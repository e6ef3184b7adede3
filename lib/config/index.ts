// The console's one configuration: environment variables over an optional JSON file (CONNTRACK_CONFIG) over
// defaults, every value checked with its zod schema (settings.ts). A bad value is a ConfigError naming the setting
// as the operator wrote it (the variable, or the file key) and the reason; scripts/serve.ts prints its one line.
import { accessSync, constants, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { LOG_LEVELS, SETTINGS, type SettingName, type WanSetting } from './settings';
import { unknownConfiguredWan, type PolicySetting } from './policies';
import { z } from 'zod';
import { processValue, setProcessValue } from '@/lib/process';
import type { NameFormat } from '@/lib/names/parsers';
import { shareErrorClass } from '@/lib/process';

export { LOG_LEVELS, SETTINGS, type Setting, type SettingName, type WanSetting } from './settings';
export { POLICY_TRIGGERS, type PolicySetting, type PolicyTrigger } from './policies';
export { FORBIDDEN_KEYS, forbiddenQueryKey, hostAllowed, SECURITY_HEADERS, type HostRules } from './requests';

type Env = Readonly<Record<string, string | undefined>>;
type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  listen: { host: string; port: number };
  /** Both or neither: HTTPS when set. */
  tls: { cert: string; key: string } | undefined;
  /** Absolute. */
  dataDir: string;
  netns: string | undefined;
  /** connlabel.conf: names of the conntrack label bits (read when labels are shown; absent is allowed). */
  connlabelFile: string;
  /** Configured uplinks; empty: every interface with a default route in any table. */
  wans: WanSetting[];
  /** The demo lab whose uplinks the Router page's demo controls change (lib/console/demo.ts); never on a real router. */
  demo: { lab: string | undefined };
  /** Cleanups the console runs by itself (lib/console/policies.ts). */
  policies: PolicySetting[];
  /**
   * Host names and port names (lib/names); files undefined: the default list of lease and hosts files. Reverse DNS
   * only when reverseDns, through dnsServers (empty: the system's resolvers).
   */
  names: { files: { format: NameFormat; path: string }[] | undefined; servicesFile: string; reverseDns: boolean; dnsServers: string[] };
  history: { retentionDays: number; maxRows: number };
  /** Opening the Connections page takes a new snapshot when the one held is older than this. */
  snapshot: { maxAgeSeconds: number };
  session: { idleSeconds: number; maxSeconds: number };
  login: { freeFailures: number; addressFreeFailures: number; backoffSeconds: number };
  audit: { retentionDays: number };
  trustedProxies: string[];
  allowedOrigins: string[];
  secureCookies: boolean;
  metrics: { enabled: boolean; token: string | undefined; countIntervalSeconds: number; eventLoopResolutionMs: number };
  /** The sampler behind the Overview charts and the alarm (lib/stats); 0: off. */
  stats: { sampleSeconds: number };
  /** When the table alarm warns / turns critical (percent of nf_conntrack_max), and the drop rate that is critical. */
  alarm: { warnPercent: number; critPercent: number; dropsPerSecond: number };
  log: { level: LogLevel };
  shutdown: { timeoutSeconds: number };
  /** The config file read, if any. */
  file: string | undefined;
}

/** A setting with a bad value: `config: NAME: reason (got "value")`. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly setting: string,
    readonly reason: string,
    readonly got?: unknown,
  ) {
    super(`config: ${setting}: ${reason}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}`);
  }
}

const fileSchema = z.record(z.string(), z.unknown());

function readConfigFile(path: string): Record<string, unknown> {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError('CONNTRACK_CONFIG', `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw new ConfigError('CONNTRACK_CONFIG', `${path} is not valid JSON (${(error as Error).message})`);
  }
  const result = fileSchema.safeParse(parsed);
  if (!result.success) throw new ConfigError('CONNTRACK_CONFIG', `${path} must hold a JSON object`);
  return result.data;
}

/** The file's leaves as dotted keys ("listen.port"); arrays are leaves. */
function flatten(object: Record<string, unknown>, prefix = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [key, value] of Object.entries(object)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of flatten(value as Record<string, unknown>, path)) out.set(k, v);
    } else out.set(path, value);
  }
  return out;
}

type Values = { [K in SettingName]: z.output<(typeof SETTINGS)[K]['schema']> };

function readable(setting: string, path: string): void {
  try {
    accessSync(path, constants.R_OK);
  } catch (error) {
    throw new ConfigError(setting, `cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'error'})`, path);
  }
}

/**
 * Reads and checks every setting. `env` is the environment (its CONNTRACK_CONFIG names the file, unless `file`
 * is given); `checkFiles` also checks that the TLS files can be read (the server's start does).
 */
export function loadConfig(options: { env?: Env; file?: string | null; checkFiles?: boolean } = {}): Config {
  const env = options.env ?? process.env;
  const file = options.file === null ? undefined : (options.file ?? (env.CONNTRACK_CONFIG || undefined));
  const fileValues = file ? flatten(readConfigFile(file)) : new Map<string, unknown>();
  const known = new Set(Object.values(SETTINGS).map((s) => s.key));
  for (const key of fileValues.keys()) {
    if (!known.has(key)) throw new ConfigError(`${key} in ${file}`, `unknown setting (known: ${[...known].join(', ')})`);
  }

  const values = {} as Record<SettingName, unknown>;
  const labels = {} as Record<SettingName, string>;
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const spec = SETTINGS[name];
    const fromEnv = spec.env.find((variable) => env[variable] !== undefined && env[variable] !== '');
    const [label, raw] = fromEnv ? [fromEnv, env[fromEnv]] : fileValues.has(spec.key) ? [`${spec.key} in ${file}`, fileValues.get(spec.key)] : [undefined, undefined];
    if (label === undefined) {
      values[name] = spec.default;
      continue;
    }
    const result = (spec.schema as z.ZodType).safeParse(raw);
    if (!result.success) throw new ConfigError(label, result.error.issues[0]?.message ?? 'invalid value', 'quiet' in spec && spec.quiet ? undefined : raw);
    values[name] = result.data;
    labels[name] = label;
  }
  const v = values as Values;

  if (Boolean(v.tlsCert) !== Boolean(v.tlsKey)) {
    throw new ConfigError(v.tlsCert ? 'CONNTRACK_TLS_KEY' : 'CONNTRACK_TLS_CERT', 'set both CONNTRACK_TLS_CERT and CONNTRACK_TLS_KEY (PEM files), or neither');
  }
  const unknownWan = unknownConfiguredWan(v.policies, v.wans.map((w) => w.name));
  if (unknownWan) throw new ConfigError(labels.policies, unknownWan);
  if (v.alarmCritPercent < v.alarmWarnPercent) {
    throw new ConfigError('CONNTRACK_ALARM_CRIT_PERCENT', `must be at least CONNTRACK_ALARM_WARN_PERCENT (${v.alarmWarnPercent})`, v.alarmCritPercent);
  }
  const tls = v.tlsCert && v.tlsKey ? { cert: v.tlsCert, key: v.tlsKey } : undefined;
  if (tls && options.checkFiles) {
    readable('CONNTRACK_TLS_CERT', tls.cert);
    readable('CONNTRACK_TLS_KEY', tls.key);
  }
  return {
    listen: { host: v.host, port: v.port },
    tls,
    dataDir: resolve(/*turbopackIgnore: true*/ v.dataDir),
    netns: v.netns,
    connlabelFile: v.connlabelFile,
    wans: v.wans,
    demo: { lab: v.demoLab },
    policies: v.policies,
    names: { files: v.nameFiles, servicesFile: v.servicesFile, reverseDns: v.reverseDns, dnsServers: v.dnsServers },
    history: { retentionDays: v.historyRetentionDays, maxRows: v.historyMaxRows },
    snapshot: { maxAgeSeconds: v.snapshotMaxAgeSeconds },
    session: { idleSeconds: v.sessionIdleSeconds, maxSeconds: v.sessionMaxSeconds },
    login: { freeFailures: v.loginFreeFailures, addressFreeFailures: v.loginAddressFreeFailures, backoffSeconds: v.loginBackoffSeconds },
    audit: { retentionDays: v.auditRetentionDays },
    trustedProxies: v.trustedProxies,
    allowedOrigins: v.allowedOrigins,
    secureCookies: v.secureCookies,
    metrics: { enabled: v.metricsEnabled, token: v.metricsToken, countIntervalSeconds: v.metricsCountIntervalSeconds, eventLoopResolutionMs: v.metricsEventLoopResolutionMs },
    stats: { sampleSeconds: v.statsSampleSeconds },
    alarm: { warnPercent: v.alarmWarnPercent, critPercent: v.alarmCritPercent, dropsPerSecond: v.alarmDropsPerSecond },
    log: { level: v.logLevel },
    shutdown: { timeoutSeconds: v.shutdownTimeoutSeconds },
    file,
  };
}

// scripts/serve.ts loads the configuration once at start; every route finds the same one.
/** The configuration of this process (loaded from process.env and CONNTRACK_CONFIG on first use). */
export function config(): Config {
  return processValue('config', loadConfig);
}

/** Makes `value` the configuration of this process (the server's start). */
export function setProcessConfig(value: Config): void {
  setProcessValue('config', value);
}

// Recognised whichever bundle threw them (see shareErrorClass).
shareErrorClass(ConfigError, 'ConfigError');
