// Each audit entry in words, for the Audit page: what was asked (the filter in the URL's words, the ids, the
// setting), what came of it (counts, which ids went and which were already gone, the first entries a filter
// delete removed) and how it ended. Read from the stored details only, so older entries read too; a detail this
// does not know is listed as "name: value" rather than dropped.
//
// Client-safe (it imports types only): the Audit page's action filter reads its labels from here.
import type { AuditAction, AuditEntry } from '@/lib/auth';

/** Each action in the words the pages use, for the action filter (the URL and the API keep the code). */
export const AUDIT_ACTION_LABELS: Readonly<Record<AuditAction, string>> = {
  'connection.delete': 'Delete one connection',
  'connections.delete': 'Delete selected connections',
  'connections.delete-matching': 'Delete the connections matching a filter',
  'connections.flush': 'Flush the connection table',
  'connections.cleanup': 'Clean up an old external address (MultiWAN)',
  'policy.run': 'Cleanup policy run',
  'expectation.delete': 'Delete one expectation',
  'expectations.delete-master': "Delete a connection's expectations",
  'expectations.flush': 'Flush the expectations',
  'history.clear': 'Clear connection history',
  'settings.change': 'Change a conntrack setting',
  'demo.uplink': 'Demo: switch the uplink',
  login: 'Log in',
  'login.failed': 'Failed login',
  logout: 'Log out',
  'user.add': 'Add a user',
  'user.passwd': 'Change a password',
  'user.role': "Change a user's role",
  'user.del': 'Delete a user',
  'token.create': 'Create an API token',
  'token.revoke': 'Revoke an API token',
  'audit.prune': 'Prune the audit log',
};

/** The label of an action code; an older code the list no longer has reads as itself. */
export const auditActionLabel = (action: string): string => (AUDIT_ACTION_LABELS as Record<string, string | undefined>)[action] ?? action;

/** An audit entry as GET /api/audit returns it. */
export interface ApiAuditEntry extends AuditEntry {
  /** The entry in words (several sentences; the first says what was done). */
  description: string;
}

/** Ids listed in a description; the rest are counted. */
const LISTED_IDS = 20;

type Details = Record<string, unknown>;

const plural = (n: number, one: string, many = `${one}s`): string => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
const numbers = (value: unknown): number[] => (Array.isArray(value) ? value.filter((v): v is number => typeof v === 'number') : []);
const text = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

function idList(ids: number[], total = ids.length): string {
  const shown = ids.slice(0, LISTED_IDS).join(', ');
  return total > LISTED_IDS ? `${shown} and ${(total - LISTED_IDS).toLocaleString('en-US')} more` : shown;
}

/** A filter as the URL writes it: "protocol=udp, replyDst=203.0.113.7" (lists joined by commas). */
export function filterWords(filter: unknown): string {
  if (!filter || typeof filter !== 'object') return 'no filter';
  const parts = Object.entries(filter as Details)
    .filter(([, value]) => value !== undefined && value !== null && value !== '')
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join(',') : text(value)}`);
  return parts.length ? parts.join(', ') : 'no filter';
}

const hostPort = (address: string, port: unknown): string => (typeof port === 'number' ? (address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`) : address);

/** "tcp 192.168.1.10:40000 -> 198.51.100.1:443 (id 123)" for a stored ApiEntryRef. */
function tupleWords(value: unknown): string {
  if (!value || typeof value !== 'object') return text(value);
  const ref = value as { id?: unknown; protocol?: unknown; original?: { src?: unknown; dst?: unknown; sport?: unknown; dport?: unknown } };
  const o = ref.original ?? {};
  const id = typeof ref.id === 'number' ? ` (id ${ref.id})` : '';
  return `${text(ref.protocol)} ${hostPort(text(o.src), o.sport)} -> ${hostPort(text(o.dst), o.dport)}${id}`;
}

function wentWords(details: Details, deleted: number | null): string {
  const went = Array.isArray(details.went) ? details.went : [];
  if (went.length === 0) return '';
  const head = deleted !== null && deleted > went.length ? `The first ${went.length} of the ${deleted.toLocaleString('en-US')} that went` : 'What went';
  return `${head}: ${went.map(tupleWords).join('; ')}.`;
}

/** What the action was asked to do. */
function asked(entry: AuditEntry, d: Details): string {
  switch (entry.action) {
    case 'connection.delete':
      return `Delete connection ${text(d.id)}.`;
    case 'connections.delete': {
      const ids = numbers(d.ids);
      const count = typeof d.idCount === 'number' ? d.idCount : ids.length;
      const from = typeof d.snapshot === 'string' ? ` read from snapshot ${d.snapshot}` : '';
      return `Delete ${plural(count, 'selected connection')} (ids ${idList(ids, count)})${from}.`;
    }
    case 'connections.delete-matching':
      return `Delete the connections matching ${filterWords(d.filter)}.`;
    case 'connections.cleanup': {
      const addresses = Array.isArray(d.addresses) ? d.addresses.map(text).join(', ') : undefined;
      const uplink = typeof d.wan === 'string' ? `uplink ${d.wan}` : undefined;
      const what = [uplink, addresses && `addresses ${addresses}`].filter(Boolean).join(', ');
      const inbound = typeof d.inboundDeleted === 'number' && d.inboundDeleted > 0 ? `; ${d.inboundDeleted.toLocaleString('en-US')} of them port forwards` : '';
      const active = d.activeUplink === true ? ' (the active uplink: its live connections were cut)' : '';
      return `Clean up the connections NAT'ed to an old external address${what ? ` (${what})` : ''}${d.inbound === true ? ', port forwards included' : ''}${active}${inbound}.`;
    }
    case 'connections.flush':
      return d.family === 'ipv4' || d.family === 'ipv6' ? `Flush the ${d.family === 'ipv4' ? 'IPv4' : 'IPv6'} connections.` : 'Flush the whole connection table.';
    case 'expectation.delete':
      return `Delete expectation ${text(d.id)}.`;
    case 'expectations.delete-master':
      return `Delete the expectations of connection ${text(d.master)}.`;
    case 'expectations.flush':
      return 'Flush every expectation.';
    case 'history.clear':
      return d.scope === 'all' ? 'Clear the whole connection history.' : `Clear ${plural(typeof d.keyCount === 'number' ? d.keyCount : numbers(d.keys).length, 'history row')}.`;
    case 'settings.change':
      return `Change ${text(d.setting ?? entry.target)} from ${text(d.before)} to ${text(d.after)}${typeof d.namespace === 'string' ? ` (namespace: ${d.namespace})` : ''}.`;
    case 'login':
      return `Log in${entry.target ? ` as ${entry.target.replace(/^user /, '')}` : ''}.`;
    case 'login.failed':
      return `Failed login${typeof d.reason === 'string' ? `: ${d.reason}` : ''}${typeof d.lockedForSeconds === 'number' && d.lockedForSeconds > 0 ? `; locked for ${d.lockedForSeconds} s` : ''}.`;
    case 'logout':
      return 'Log out.';
    case 'user.add':
      return `Add ${entry.target ?? 'a user'} with the role ${text(d.role)}.`;
    case 'user.passwd':
      return `Change the password of ${entry.target === 'own password' ? 'their own account' : (entry.target ?? 'a user')}.`;
    case 'user.role':
      return `Give ${entry.target ?? 'a user'} the role ${text(d.role)}.`;
    case 'user.del':
      return `Delete ${entry.target ?? 'a user'}.`;
    case 'token.create':
      return `Create the API ${entry.target ?? 'token'} with the role ${text(d.role)}.`;
    case 'token.revoke':
      return `Revoke the API ${entry.target ?? 'token'}.`;
    default:
      return `${entry.action}${entry.target ? ` ${entry.target}` : ''}.`;
  }
}

/** Keys the sentences above and below already say. */
const SAID = new Set([
  'id', 'ids', 'idCount', 'idsTruncated', 'snapshot', 'filter', 'expectedFrom', 'family', 'master', 'scope', 'keys', 'keyCount', 'keysTruncated',
  'setting', 'before', 'after', 'namespace', 'reason', 'lockedForSeconds', 'wan', 'addresses', 'inbound', 'matched', 'alreadyGone', 'failed',
  'method', 'outbound', 'inboundDeleted', 'activeUplink', 'role', 'sessionsEnded', 'endedSessions', 'deletedIds', 'goneIds', 'failedIds', 'went', 'error', 'interruptedAt', 'remaining', 'affectedEstimated',
]);

/** What came of it. */
function result(entry: AuditEntry, d: Details): string {
  const parts: string[] = [];
  const deletes = entry.action.startsWith('connection') || entry.action.startsWith('expectation');
  switch (entry.outcome) {
    case 'pending':
      parts.push('Pending: the intent is on record, the result not (yet).');
      break;
    case 'failed':
      parts.push(`Failed${typeof d.error === 'string' ? ` (${d.error})` : ''}${deletes ? '; nothing more was done' : ''}.`);
      break;
    case 'denied':
      parts.push('Denied.');
      break;
    case 'interrupted': {
      const remaining = typeof d.remaining === 'number' ? `${plural(d.remaining, 'entry', 'entries')} of it still in the table at the next start` : 'what was left is unknown';
      const went = entry.affected !== null ? `; about ${entry.affected.toLocaleString('en-US')} went` : '';
      parts.push(`Interrupted: the console stopped before the result was written (${remaining}${went}).`);
      break;
    }
    case 'ok': {
      const counts: string[] = [];
      if (typeof d.matched === 'number') counts.push(`${d.matched.toLocaleString('en-US')} matched`);
      if (entry.affected !== null) counts.push(`${entry.affected.toLocaleString('en-US')} ${deletes ? 'deleted' : 'affected'}`);
      if (typeof d.alreadyGone === 'number' && d.alreadyGone > 0) counts.push(`${d.alreadyGone.toLocaleString('en-US')} already gone`);
      if (typeof d.failed === 'number' && d.failed > 0) counts.push(`${d.failed.toLocaleString('en-US')} refused by the kernel`);
      if (typeof d.method === 'string') counts.push(`by ${d.method === 'kernel-flush' ? "the kernel's filtered flush" : 'dump and delete by id'}`);
      parts.push(counts.length ? `Done: ${counts.join(', ')}.` : 'Done.');
      break;
    }
  }
  const deleted = numbers(d.deletedIds);
  const gone = numbers(d.goneIds);
  const refused = numbers(d.failedIds);
  if (deleted.length) parts.push(`Went: ${plural(deleted.length, 'id')} ${idList(deleted)}.`);
  if (gone.length) parts.push(`Already gone: ${plural(gone.length, 'id')} ${idList(gone)}.`);
  if (refused.length) parts.push(`Refused: ${plural(refused.length, 'id')} ${idList(refused)}.`);
  const went = wentWords(d, entry.affected);
  if (went) parts.push(went);
  const rest = Object.entries(d).filter(([key]) => !SAID.has(key));
  if (rest.length) parts.push(rest.map(([key, value]) => `${key}: ${text(value)}`).join('; ') + '.');
  return parts.join(' ');
}

export function describeAudit(entry: AuditEntry): string {
  const d = entry.details ?? {};
  return `${asked(entry, d)} ${result(entry, d)}`.trim();
}

export const withDescription = (entry: AuditEntry): ApiAuditEntry => ({ ...entry, description: describeAudit(entry) });
