// Audit entries in words: what was asked, what came of it, for the entries the console writes (and older ones).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AUDIT_ACTIONS, type AuditEntry } from '@/lib/auth';
import { auditActionLabel, describeAudit, filterWords } from '@/lib/console/audit-text';

const entry = (fields: Partial<AuditEntry>): AuditEntry => ({
  id: 1,
  at: '2026-12-01T12:00:00.000Z',
  actor: 'admin',
  actorKind: 'user',
  role: 'admin',
  source: '127.0.0.1',
  action: 'connections.delete',
  target: null,
  details: null,
  expected: null,
  affected: null,
  outcome: 'ok',
  finishedAt: '2026-12-01T12:00:01.000Z',
  ...fields,
});

const went = (id: number, sport: number) => ({ id, family: 'ipv4', protocol: 'tcp', zone: 0, original: { src: '192.168.1.10', dst: '198.51.100.1', sport, dport: 443 } });

describe('describeAudit', () => {
  it('ids deletes name the ids that went and those already gone', () => {
    const text = describeAudit(
      entry({
        details: { ids: [11, 12, 13], idCount: 3, snapshot: 's-1', matched: 2, alreadyGone: 1, failed: 0, deletedIds: [11, 12], goneIds: [13], failedIds: [] },
        affected: 2,
      }),
    );
    expect(text).toBe('Delete 3 selected connections (ids 11, 12, 13) read from snapshot s-1. Done: 2 matched, 2 deleted, 1 already gone. Went: 2 ids 11, 12. Already gone: 1 id 13.');
  });

  it('filter deletes give the filter in the URL\'s words and the first tuples that went', () => {
    const text = describeAudit(
      entry({ action: 'connections.delete-matching', details: { filter: { protocol: 'tcp', replyDst: '203.0.113.7' }, matched: 30, alreadyGone: 0, failed: 0, method: 'kernel-flush', went: [went(5, 40000), went(6, 40001)] }, affected: 30 }),
    );
    expect(text).toContain('Delete the connections matching protocol=tcp, replyDst=203.0.113.7.');
    expect(text).toContain("Done: 30 matched, 30 deleted, by the kernel's filtered flush.");
    expect(text).toContain('The first 2 of the 30 that went: tcp 192.168.1.10:40000 -> 198.51.100.1:443 (id 5); tcp 192.168.1.10:40001 -> 198.51.100.1:443 (id 6).');
  });

  it('an older delete-matching row without tuples still reads; pending, failed and interrupted entries say so', () => {
    expect(describeAudit(entry({ action: 'connections.delete-matching', details: { filter: { src: '10.9.0.0/24' }, matched: 7 }, affected: 7 }))).toBe(
      'Delete the connections matching src=10.9.0.0/24. Done: 7 matched, 7 deleted.',
    );
    expect(describeAudit(entry({ action: 'connections.flush', details: { family: 'all' }, outcome: 'pending', affected: null, finishedAt: null }))).toBe(
      'Flush the whole connection table. Pending: the intent is on record, the result not (yet).',
    );
    expect(describeAudit(entry({ action: 'connection.delete', details: { id: 9, error: 'NetlinkError' }, outcome: 'failed' }))).toBe('Delete connection 9. Failed (NetlinkError); nothing more was done.');
    expect(describeAudit(entry({ action: 'connections.flush', details: { family: 'ipv6', remaining: 3, interruptedAt: 'x', affectedEstimated: true }, outcome: 'interrupted', affected: 7 }))).toBe(
      'Flush the IPv6 connections. Interrupted: the console stopped before the result was written (3 entries of it still in the table at the next start; about 7 went).',
    );
  });

  it('a cleanup names the uplink and addresses and lists what went', () => {
    const text = describeAudit(
      entry({
        action: 'connections.cleanup',
        details: { wan: 'wan1', addresses: ['203.0.113.7'], inbound: false, filter: { externalAddressIn: ['203.0.113.7'] }, outbound: 1, inboundDeleted: 0, matched: 1, activeUplink: false, went: [went(7, 40007)] },
        affected: 1,
      }),
    );
    expect(text).toBe("Clean up the connections NAT'ed to an old external address (uplink wan1, addresses 203.0.113.7). Done: 1 matched, 1 deleted. What went: tcp 192.168.1.10:40007 -> 198.51.100.1:443 (id 7).");
  });

  it('settings and logins read as sentences; unknown details are listed, not dropped', () => {
    expect(describeAudit(entry({ action: 'settings.change', target: 'nf_conntrack_acct', details: { setting: 'nf_conntrack_acct', before: 0, after: 1, namespace: 'own' }, affected: 1 }))).toBe(
      'Change nf_conntrack_acct from 0 to 1 (namespace: own). Done: 1 affected.',
    );
    expect(describeAudit(entry({ action: 'login.failed', details: { reason: 'wrong name or password', lockedForSeconds: 0 }, outcome: 'failed' }))).toBe('Failed login: wrong name or password. Failed.');
    expect(describeAudit(entry({ action: 'user.add', target: 'user bob', details: { role: 'viewer' } }))).toBe('Add user bob with the role viewer. Done.');
    expect(describeAudit(entry({ action: 'audit.prune', details: { olderThanDays: 365 }, affected: 4 }))).toBe('audit.prune. Done: 4 affected. olderThanDays: 365.');
  });

  it('filterWords joins lists with commas and says when there is no filter', () => {
    expect(filterWords({ state: ['ESTABLISHED', 'SYN_SENT'], dport: '443' })).toBe('state=ESTABLISHED,SYN_SENT, dport=443');
    expect(filterWords(undefined)).toBe('no filter');
  });
});

describe('action labels', () => {
  it('name every action the log records in words, each its own, never its code', () => {
    const labels = AUDIT_ACTIONS.map((action) => auditActionLabel(action));
    expect(new Set(labels).size).toBe(AUDIT_ACTIONS.length);
    for (const [i, action] of AUDIT_ACTIONS.entries()) {
      expect(labels[i]).not.toBe(action);
      expect(labels[i]).toMatch(/^[A-Z]/);
    }
    // An older code the vocabulary no longer has reads as itself.
    expect(auditActionLabel('connections.purge')).toBe('connections.purge');
  });

  it('come from a module a browser bundle can load (its imports are types only)', () => {
    const source = readFileSync(join(process.cwd(), 'lib/console/audit-text.ts'), 'utf8');
    const imports = source.split('\n').filter((line) => /^import\s/.test(line));
    expect(imports.length).toBeGreaterThan(0);
    expect(imports.filter((line) => !/^import type\s/.test(line))).toEqual([]);
  });
});
