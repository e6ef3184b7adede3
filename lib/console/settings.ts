// The Settings API: every net.netfilter sysctl of the managed namespace with what it means, and a validated,
// audited change of one of them. lib/conntrack reads and writes the kernel; this decides what may be changed here,
// and says how to keep a change across a reboot (the console never edits /etc).
import {
  fixedReasonText,
  readNetfilterSysctls,
  SETTING_GROUPS,
  settingInfo,
  settingRange,
  validateSettingValue,
  ValidationError,
  writeNetfilterSysctl,
  type NetfilterSysctls,
  type SettingGroup,
  type SysctlValue,
} from '@/lib/conntrack';
import type { AuditSpec } from './audit';
import { SettingReadOnlyError } from './errors';
import type { SettingChangeBody } from './schemas';
import { consoleService } from './service';

/** Why a setting cannot be changed from the console here. */
export type ReadOnlyReason = 'statistic' | 'global' | 'unmanaged' | 'kernel-read-only' | 'read-only-mount' | 'no-privilege';

export interface ApiSetting {
  /** Relative to net.netfilter: "nf_conntrack_udp_timeout", "nf_log.2". */
  name: string;
  /** The full sysctl key: "net.netfilter.nf_conntrack_udp_timeout". */
  key: string;
  value: string;
  /** The kernel's value in a fresh namespace; null when it depends on the machine (see defaultNote) or is unknown. */
  kernelDefault: string | null;
  defaultNote?: string;
  unit: string;
  meaning: string;
  takesEffect: string;
  /** False for settings this console version does not know (a newer kernel's). */
  known: boolean;
  /** Whether an administrator can change it from the console here. */
  writable: boolean;
  readOnly?: { reason: ReadOnlyReason; message: string };
  /** What a change may be (for writable settings). */
  range?: { min: number; max: number; choices?: Record<number, string> };
}

export interface Persistence {
  /** sysctl.d: a line for /etc/sysctl.d (the initial namespace); command: what to run where the namespace is created. */
  kind: 'sysctl.d' | 'command';
  /** The text to copy. */
  text: string;
  /** Where it goes and why. */
  hint: string;
}

export interface ApiSettings {
  /** The managed namespace: its CONNTRACK_NETNS name (null: the console's own), and whether it is the initial one. */
  namespace: { name: string | null; initial: boolean | null };
  /** Set when nothing can be changed from the console here, with the reason and the remedy. */
  readOnlyHere: { reason: 'read-only-mount' | 'no-privilege'; message: string } | null;
  groups: { id: SettingGroup; title: string; description: string; settings: ApiSetting[] }[];
}

export interface SettingChange {
  setting: ApiSetting;
  before: string;
  after: string;
  persistence: Persistence;
}

const PREFIX = 'net.netfilter.';
const SYSCTL_D_FILE = '/etc/sysctl.d/90-conntrack-console.conf';

function managedNetns(): string | undefined {
  return consoleService().conntrack.netns;
}

const BLOCK_TEXT: Record<'kernel-read-only' | 'read-only-mount' | 'no-privilege', (key: string) => string> = {
  'kernel-read-only': (key) => `the kernel shows ${key} read-only in this namespace`,
  'read-only-mount': () =>
    "the console's /proc/sys is mounted read-only (systemd ProtectKernelTunables=yes): add ReadWritePaths=/proc/sys/net/netfilter to its unit to change settings here (docs/operations.md)",
  'no-privilege': () => 'the console lacks CAP_NET_ADMIN over the managed namespace',
};

function readOnlyOf(entry: SysctlValue, initial: boolean | null): ApiSetting['readOnly'] {
  const info = settingInfo(entry.name);
  if (info.fixed) return { reason: info.fixed, message: fixedReasonText(info.fixed, entry.name) };
  if (info.initialNamespaceOnly && initial === false) return { reason: 'global', message: fixedReasonText('global', entry.name) };
  if (entry.blocked) return { reason: entry.blocked, message: BLOCK_TEXT[entry.blocked](`${PREFIX}${entry.name}`) };
  return undefined;
}

function toApiSetting(entry: SysctlValue, sysctls: NetfilterSysctls): ApiSetting {
  const info = settingInfo(entry.name);
  const readOnly = readOnlyOf(entry, sysctls.initial);
  const current = (name: string) => sysctls.values.find((v) => v.name === name)?.value;
  const range = readOnly ? undefined : settingRange(entry.name, current);
  return {
    name: entry.name,
    key: `${PREFIX}${entry.name}`,
    value: entry.value,
    kernelDefault: 'value' in info.kernelDefault ? info.kernelDefault.value : null,
    ...('derived' in info.kernelDefault ? { defaultNote: info.kernelDefault.derived } : {}),
    unit: info.unit,
    meaning: info.meaning,
    takesEffect: info.takesEffect,
    known: info.known,
    writable: !readOnly,
    ...(readOnly ? { readOnly } : {}),
    ...(range ? { range } : {}),
  };
}

/** The "read-only here" state: no setting the console could change is writable, for one reason that applies to all. */
function readOnlyHere(settings: ApiSetting[]): ApiSettings['readOnlyHere'] {
  const changeable = settings.filter((s) => s.writable || s.readOnly?.reason === 'read-only-mount' || s.readOnly?.reason === 'no-privilege');
  if (changeable.length === 0 || changeable.some((s) => s.writable)) return null;
  const reason = changeable.some((s) => s.readOnly?.reason === 'read-only-mount') ? 'read-only-mount' : 'no-privilege';
  const message =
    reason === 'read-only-mount'
      ? "Read-only here: the console's /proc/sys is mounted read-only (systemd ProtectKernelTunables=yes). Settings are shown; to change them from the console, add ReadWritePaths=/proc/sys/net/netfilter to its unit (docs/operations.md)."
      : 'Read-only here: the console lacks CAP_NET_ADMIN over the managed namespace. Settings are shown; run it with the capability to change them.';
  return { reason, message };
}

/** GET /api/settings */
export function listSettings(): ApiSettings {
  const netns = managedNetns();
  const sysctls = readNetfilterSysctls(netns);
  const settings = sysctls.values.map((entry) => toApiSetting(entry, sysctls));
  const groups = SETTING_GROUPS.map((group) => ({ ...group, settings: settings.filter((s) => settingInfo(s.name).group === group.id) })).filter((g) => g.settings.length > 0);
  return { namespace: { name: netns ?? null, initial: sysctls.initial }, readOnlyHere: readOnlyHere(settings), groups };
}

const shellWord = (word: string) => (/^[A-Za-z0-9._/@:=-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`);

/** The line that keeps a value across a reboot: the console changes the running kernel only. */
export function persistenceFor(namespace: { name: string | null; initial: boolean | null }, key: string, value: string): Persistence {
  const assignment = `${key}=${value}`;
  if (namespace.name !== null) {
    const command = namespace.name.includes('/') ? `nsenter --net=${shellWord(namespace.name)} sysctl -w ${assignment}` : `ip netns exec ${shellWord(namespace.name)} sysctl -w ${assignment}`;
    return { kind: 'command', text: command, hint: `A new namespace starts with the kernel defaults: run this each time ${namespace.name} is created, right after creating it.` };
  }
  if (namespace.initial === false) {
    return { kind: 'command', text: `sysctl -w ${assignment}`, hint: "The console's own namespace is not the initial one (a container): run this inside it each time it is created." };
  }
  return {
    kind: 'sysctl.d',
    text: `${key} = ${value}`,
    hint: `Add this line to ${SYSCTL_D_FILE}; it is applied at boot once nf_conntrack is loaded (list nf_conntrack in /etc/modules-load.d/ so it is).`,
  };
}

interface Plan {
  name: string;
  key: string;
  before: string;
  after: string;
}

/** Checks a change without making it: the setting exists, may be changed here, and the value is in range. */
function plan(input: SettingChangeBody): Plan {
  const name = input.name.startsWith(PREFIX) ? input.name.slice(PREFIX.length) : input.name;
  const sysctls = readNetfilterSysctls(managedNetns());
  const entry = sysctls.values.find((v) => v.name === name);
  if (!entry) throw new ValidationError('name', `there is no setting ${PREFIX}${name} in the managed namespace`);
  const readOnly = readOnlyOf(entry, sysctls.initial);
  if (readOnly) throw new SettingReadOnlyError(`${PREFIX}${name}`, readOnly.reason, readOnly.message);
  const after = validateSettingValue(name, input.value, (other) => sysctls.values.find((v) => v.name === other)?.value);
  return { name, key: `${PREFIX}${name}`, before: entry.value, after };
}

/** POST /api/settings: changes one setting in the managed namespace (never the console's own by mistake). */
export function changeSetting(input: SettingChangeBody): SettingChange {
  const { name, after } = plan(input);
  const netns = managedNetns();
  const written = writeNetfilterSysctl({ netns, name, value: after });
  const sysctls = readNetfilterSysctls(netns);
  const entry = sysctls.values.find((v) => v.name === name);
  if (!entry) throw new ValidationError('name', `${PREFIX}${name} disappeared while it was changed`);
  const setting = toApiSetting(entry, sysctls);
  return { setting, before: written.before, after: written.after, persistence: persistenceFor({ name: netns ?? null, initial: sysctls.initial }, setting.key, written.after) };
}

/** The audit entry of a change: the setting with both values, recorded as the intent before the kernel is asked. */
export const settingChangeAudit: AuditSpec<SettingChangeBody, unknown, SettingChange> = {
  intent: ({ input }) => {
    const { key, before, after } = plan(input);
    return { action: 'settings.change', target: key, details: { setting: key, before, after, namespace: managedNetns() ?? 'own' } };
  },
  result: (change) => ({ affected: 1, details: { before: change.before, after: change.after } }),
};
