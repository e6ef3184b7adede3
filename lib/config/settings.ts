// Every setting of the console: where it comes from (environment variables, a key of the JSON config file), how
// it is validated (zod) and its default. One table, so the README, the loader and the errors cannot disagree.
import { isIP } from 'node:net';
import { z } from 'zod';
import { NAME_FORMATS } from '@/lib/names/parsers';
import { policies, type PolicySetting } from './policies';

/** A value as it arrives: a string from the environment, any JSON value from the config file. */
const WHOLE = /^\s*-?\d+\s*$/;
const DECIMAL = /^\s*-?(\d+\.?\d*|\.\d+)\s*$/;

const numberFrom = (pattern: RegExp) => (value: unknown) => (typeof value === 'string' && pattern.test(value) ? Number(value) : value);

function wholeNumber(min: number, max: number) {
  const message = `must be a whole number ${min}..${max}`;
  return z.preprocess(numberFrom(WHOLE), z.number({ error: message }).int({ error: message }).min(min, { error: message }).max(max, { error: message }));
}

function seconds(options: { max: number; zero?: boolean }) {
  const message = `must be a number of seconds ${options.zero ? 'from 0 (off)' : 'above 0'} to ${options.max}`;
  const base = z.number({ error: message }).max(options.max, { error: message });
  return z.preprocess(numberFrom(DECIMAL), options.zero ? base.min(0, { error: message }) : base.gt(0, { error: message }));
}

function decimal(min: number, max: number) {
  const message = `must be a number ${min}..${max}`;
  return z.preprocess(numberFrom(DECIMAL), z.number({ error: message }).min(min, { error: message }).max(max, { error: message }));
}

const TRUE = ['1', 'true', 'yes', 'on'];
const FALSE = ['0', 'false', 'no', 'off'];
const flag = z.preprocess(
  (value) => {
    if (typeof value !== 'string') return value;
    const v = value.trim().toLowerCase();
    return TRUE.includes(v) ? true : FALSE.includes(v) ? false : value;
  },
  z.boolean({ error: 'must be 1/true/yes/on or 0/false/no/off' }),
);

/** A comma-separated list in the environment, a list of strings (or one such string) in the file. */
function list<T extends z.ZodType>(item: T) {
  return z.preprocess(
    (value) =>
      typeof value === 'string'
        ? value
            .split(',')
            .map((v) => v.trim())
            .filter(Boolean)
        : value,
    z.array(item, { error: 'must be a comma-separated list (or a JSON array of strings)' }),
  );
}

const text = (what: string) => z.string({ error: `must be ${what}` }).trim().min(1, { error: `must be ${what}` });

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const host = text('an IP address or a host name').refine((v) => isIP(v) !== 0 || HOSTNAME.test(v), { error: 'must be an IP address (0.0.0.0 or :: for all) or a host name' });

const ipAddress = text('an IP address').refine((v) => isIP(v.replace(/^::ffff:(?=\d+\.)/, '')) !== 0, { error: 'each entry must be an IP address (the peer address of the proxy)' });

const origin = text('an origin').transform((v, ctx) => {
  const trimmed = v.replace(/\/+$/, '');
  if (/^https?:\/\/[^/?#@\s]+$/i.test(trimmed)) {
    try {
      return new URL(trimmed).origin;
    } catch {
      // reported below
    }
  }
  ctx.addIssue({ code: 'custom', message: 'each entry must be an origin such as https://router.example.net (scheme, host and optional port, no path)' });
  return z.NEVER;
});

/** One uplink named by the administrator: `name=ifname` (a WAN is its interface name, never its index). */
export interface WanSetting {
  name: string;
  interface: string;
}

const WAN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
// IFNAMSIZ is 16 with the terminating NUL; '/' and whitespace are never part of an interface name.
const IFNAME = /^[^/\s:]{1,15}$/;
const WANS_MESSAGE = 'must be name=interface pairs separated by commas (e.g. "fiber=pppoe0,lte=wwan0")';

/** CONNTRACK_WANS="fiber=pppoe0,lte=wwan0"; in the file the same string or a list of such pairs. */
const wans = z
  .preprocess(
    (value) => (typeof value === 'string' ? value.split(',').map((v) => v.trim()).filter(Boolean) : value),
    z.array(z.string({ error: WANS_MESSAGE }), { error: WANS_MESSAGE }),
  )
  .transform((pairs, ctx): WanSetting[] => {
    const result: WanSetting[] = [];
    for (const pair of pairs) {
      const [name, ifname, extra] = pair.split('=').map((v) => v.trim());
      if (extra !== undefined || !name || !ifname) {
        ctx.addIssue({ code: 'custom', message: `${WANS_MESSAGE}; got "${pair}"` });
        return z.NEVER;
      }
      if (!WAN_NAME.test(name)) {
        ctx.addIssue({ code: 'custom', message: `WAN name "${name}" must be letters, digits, '.', '_' or '-' (at most 32)` });
        return z.NEVER;
      }
      if (!IFNAME.test(ifname)) {
        ctx.addIssue({ code: 'custom', message: `"${ifname}" is not an interface name (1..15 characters, no '/', ':' or spaces)` });
        return z.NEVER;
      }
      if (result.some((w) => w.name === name)) {
        ctx.addIssue({ code: 'custom', message: `WAN name "${name}" is given twice` });
        return z.NEVER;
      }
      result.push({ name, interface: ifname });
    }
    return result;
  });
const nameFile = text('FORMAT:PATH').transform((v, ctx) => {
  const at = v.indexOf(':');
  const format = v.slice(0, at) as (typeof NAME_FORMATS)[number];
  const path = v.slice(at + 1).trim();
  if (at > 0 && NAME_FORMATS.includes(format) && path.startsWith('/')) return { format, path };
  ctx.addIssue({ code: 'custom', message: `each entry must be FORMAT:/absolute/path with FORMAT one of ${NAME_FORMATS.join(', ')}` });
  return z.NEVER;
});

/** A resolver as node's dns.setServers takes it: "192.0.2.53", "192.0.2.53:5353", "2001:db8::53" or "[2001:db8::53]:5353". */
const dnsServer = text('a resolver address').refine(
  (v) => {
    const bracketed = /^\[([^\]]+)\]:(\d{1,5})$/.exec(v);
    const v4port = /^([\d.]+):(\d{1,5})$/.exec(v);
    const [address, port] = bracketed ? [bracketed[1], bracketed[2]] : v4port ? [v4port[1], v4port[2]] : [v, '53'];
    return (bracketed ? isIP(address) === 6 : isIP(address) !== 0) && Number(port) >= 1 && Number(port) <= 65535;
  },
  { error: 'each entry must be a resolver address, optionally with a port (192.0.2.53, 192.0.2.53:5353, [2001:db8::53]:5353)' },
);

const token = z.string({ error: 'must be a string of at least 16 characters' }).min(16, { error: 'must be at least 16 characters long' });

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** One setting: its environment names (the first is the documented one; the rest still work), its file key, schema and default. */
export interface Setting<T> {
  env: readonly string[];
  key: string;
  schema: z.ZodType<T>;
  default: T;
  description: string;
  /** Leave the value out of the error line (a long list whose message already names the bad part). */
  quiet?: boolean;
}

const setting = <T>(s: Setting<T>): Setting<T> => s;

export const SETTINGS = {
  host: setting({ env: ['CONNTRACK_HOST'], key: 'listen.host', schema: host, default: '127.0.0.1', description: 'address to listen on (0.0.0.0 or :: for every interface)' }),
  port: setting({ env: ['CONNTRACK_PORT', 'PORT'], key: 'listen.port', schema: wholeNumber(1, 65535), default: 3000, description: 'TCP port' }),
  tlsCert: setting<string | undefined>({ env: ['CONNTRACK_TLS_CERT'], key: 'tls.cert', schema: text('a file path').optional(), default: undefined, description: 'PEM certificate (chain): serve HTTPS' }),
  tlsKey: setting<string | undefined>({ env: ['CONNTRACK_TLS_KEY'], key: 'tls.key', schema: text('a file path').optional(), default: undefined, description: 'PEM private key' }),
  dataDir: setting({ env: ['CONNTRACK_DATA_DIR'], key: 'dataDir', schema: text('a directory path'), default: 'data', description: 'users, sessions, tokens, audit log, history (SQLite)' }),
  netns: setting<string | undefined>({ env: ['CONNTRACK_NETNS'], key: 'netns', schema: text('a namespace name or path').optional(), default: undefined, description: 'network namespace whose table to manage (default: our own)' }),
  connlabelFile: setting({ env: ['CONNTRACK_CONNLABEL_FILE'], key: 'connlabelFile', schema: text('a file path'), default: '/etc/xtables/connlabel.conf', description: 'names of the conntrack label bits (absent file: labels show as bit numbers)' }),
  demoLab: setting<string | undefined>({
    env: ['CONNTRACK_DEMO_LAB'],
    key: 'demo.lab',
    schema: text('a demo lab name').refine((v) => /^ctc-\d+-[0-9a-f]{4}$/.test(v), { error: 'must be a lab name such as ctc-1234-0abc (set by npm run demo)' }).optional(),
    default: undefined,
    description: 'the demo lab whose uplinks the Router page may change (npm run demo sets it; never on a real router)',
  }),
  wans: setting({ env: ['CONNTRACK_WANS'], key: 'wans', schema: wans, default: [] as WanSetting[], description: 'the uplinks by name=interface (default: every interface with a default route in any table)' }),
  policies: setting({
    env: ['CONNTRACK_POLICIES'],
    key: 'policies',
    schema: policies,
    default: [] as PolicySetting[],
    description: 'cleanups the console runs itself: [{ name, on: address-removed|route-lost|failback|schedule, wan, filter?, dryRun?, minIntervalSeconds?, every? }]',
    quiet: true,
  }),
  nameFiles: setting<{ format: (typeof NAME_FORMATS)[number]; path: string }[] | undefined>({
    env: ['CONNTRACK_NAME_FILES'],
    key: 'names.files',
    schema: list(nameFile).optional(),
    default: undefined,
    description: 'files that name hosts (DHCP leases, hosts files), in precedence order; replaces the default list',
  }),
  reverseDns: setting({ env: ['CONNTRACK_REVERSE_DNS'], key: 'names.reverseDns', schema: flag, default: false, description: 'offer reverse DNS names (a per-view toggle; off: no PTR lookups at all)' }),
  dnsServers: setting({ env: ['CONNTRACK_DNS_SERVERS'], key: 'names.dnsServers', schema: list(dnsServer), default: [] as string[], description: 'resolvers for reverse DNS, ADDRESS or ADDRESS:PORT (default: /etc/resolv.conf)' }),
  servicesFile: setting({ env: ['CONNTRACK_SERVICES_FILE'], key: 'names.servicesFile', schema: text('a file path'), default: '/etc/services', description: 'port names (443 -> https)' }),
  snapshotMaxAgeSeconds: setting({ env: ['CONNTRACK_SNAPSHOT_MAX_AGE_SECONDS'], key: 'snapshot.maxAgeSeconds', schema: seconds({ max: 86400 }), default: 30, description: 'opening the Connections page takes a new snapshot when the one held is older' }),
  historyRetentionDays: setting({ env: ['CONNTRACK_HISTORY_RETENTION_DAYS'], key: 'history.retentionDays', schema: wholeNumber(1, 3650), default: 7, description: 'connection history kept this many days' }),
  historyMaxRows: setting({ env: ['CONNTRACK_HISTORY_MAX_ROWS'], key: 'history.maxRows', schema: wholeNumber(1000, 1_000_000_000), default: 5_000_000, description: 'and at most this many rows' }),
  sessionIdleSeconds: setting({ env: ['CONNTRACK_SESSION_IDLE_SECONDS'], key: 'session.idleSeconds', schema: seconds({ max: 31 * 86400 }), default: 1800, description: 'a session unused this long ends' }),
  sessionMaxSeconds: setting({ env: ['CONNTRACK_SESSION_MAX_SECONDS'], key: 'session.maxSeconds', schema: seconds({ max: 366 * 86400 }), default: 43200, description: 'a session ends this long after login' }),
  loginFreeFailures: setting({ env: ['CONNTRACK_LOGIN_FREE_FAILURES'], key: 'login.freeFailures', schema: wholeNumber(1, 1000), default: 5, description: 'failed logins for one name from one address before it is locked (and before the name is slowed down)' }),
  loginAddressFreeFailures: setting({ env: ['CONNTRACK_LOGIN_ADDRESS_FREE_FAILURES'], key: 'login.addressFreeFailures', schema: wholeNumber(1, 100000), default: 20, description: 'failed logins from one address (any names) before it is locked' }),
  loginBackoffSeconds: setting({ env: ['CONNTRACK_LOGIN_BACKOFF_SECONDS'], key: 'login.backoffSeconds', schema: seconds({ max: 900 }), default: 2, description: 'first back-off, doubling up to 15 min' }),
  auditRetentionDays: setting({ env: ['CONNTRACK_AUDIT_RETENTION_DAYS'], key: 'audit.retentionDays', schema: wholeNumber(1, 36500), default: 365, description: 'audit entries kept this many days (pending intents always)' }),
  trustedProxies: setting({ env: ['CONNTRACK_TRUSTED_PROXIES'], key: 'trustedProxies', schema: list(ipAddress), default: [] as string[], description: 'peer addresses of reverse proxies whose X-Forwarded-For/-Proto are believed' }),
  allowedOrigins: setting({ env: ['CONNTRACK_ALLOWED_ORIGINS'], key: 'allowedOrigins', schema: list(origin), default: [] as string[], description: 'other origins browsers may send state-changing requests from' }),
  secureCookies: setting({ env: ['CONNTRACK_SECURE_COOKIES'], key: 'secureCookies', schema: flag, default: false, description: 'Secure cookies even over plain HTTP (TLS-terminating proxy)' }),
  metricsEnabled: setting({ env: ['CONNTRACK_METRICS'], key: 'metrics.enabled', schema: flag, default: true, description: 'serve GET /metrics' }),
  metricsToken: setting<string | undefined>({ env: ['CONNTRACK_METRICS_TOKEN'], key: 'metrics.token', schema: token.optional(), default: undefined, description: 'bearer token for /metrics (a viewer API token works too)' }),
  metricsEventLoopResolutionMs: setting({ env: ['CONNTRACK_METRICS_EVENT_LOOP_RESOLUTION_MS'], key: 'metrics.eventLoopResolutionMs', schema: wholeNumber(1, 1000), default: 10, description: 'sampling step of the event-loop delay metrics (nodejs_eventloop_lag_*): the max reads up to this much above the longest real stall' }),
  metricsCountIntervalSeconds: setting({ env: ['CONNTRACK_METRICS_COUNT_INTERVAL_SECONDS'], key: 'metrics.countIntervalSeconds', schema: seconds({ max: 86400, zero: true }), default: 60, description: 'background count by protocol and TCP state (0: off)' }),
  statsSampleSeconds: setting({ env: ['CONNTRACK_STATS_SAMPLE_SECONDS'], key: 'stats.sampleSeconds', schema: seconds({ max: 300, zero: true }), default: 10, description: 'table usage and counters sampled this often for the Overview charts and the alarm (0: off)' }),
  alarmWarnPercent: setting({ env: ['CONNTRACK_ALARM_WARN_PERCENT'], key: 'alarm.warnPercent', schema: decimal(1, 100), default: 90, description: 'table usage (% of nf_conntrack_max) that raises the warning' }),
  alarmCritPercent: setting({ env: ['CONNTRACK_ALARM_CRIT_PERCENT'], key: 'alarm.critPercent', schema: decimal(1, 100), default: 95, description: 'table usage that makes the alarm critical' }),
  alarmDropsPerSecond: setting({ env: ['CONNTRACK_ALARM_DROPS_PER_SECOND'], key: 'alarm.dropsPerSecond', schema: decimal(0, 1_000_000), default: 1, description: 'drop or early_drop per second over the last sample above this is critical' }),
  logLevel: setting({ env: ['CONNTRACK_LOG_LEVEL'], key: 'log.level', schema: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }), default: 'info' as (typeof LOG_LEVELS)[number], description: 'JSON log level' }),
  shutdownTimeoutSeconds: setting({ env: ['CONNTRACK_SHUTDOWN_TIMEOUT_SECONDS'], key: 'shutdown.timeoutSeconds', schema: seconds({ max: 3600 }), default: 30, description: 'SIGTERM: finish in-flight work within this, else exit 1' }),
} as const;

export type SettingName = keyof typeof SETTINGS;
