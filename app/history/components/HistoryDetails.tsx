'use client';
// One ended connection in full: both tuples, NAT and the external address, counters, times, the cause, who sent
// the first FIN, and for an administrator's delete or flush the user, with a link to the audit log around that time.
import Link from 'next/link';
import type { ReactNode } from 'react';
import { formatBytes, formatCount, formatDuration, formatTime, hostPort } from '@/app/components/format';
import { Dialog } from '@/app/components/ui/Dialog';
import { buttonClass } from '@/app/components/ui/buttons';
import type { PageNames } from '@/app/components/api/types';
import { hostText } from '@/app/components/names/format';
import type { ApiEndpoint } from '@/lib/console/connection';
import type { ApiHistoryEntry } from '@/lib/console/history-types';
import { CAUSE_LABELS } from '@/lib/history/cause-names';

/** The audit rows of this user within two minutes of the end: the delete or flush is among them. */
function auditHref(entry: ApiHistoryEntry): string {
  const at = Date.parse(entry.endedAt);
  const query = new URLSearchParams({ actor: entry.deletedBy ?? '', since: new Date(at - 120_000).toISOString(), until: new Date(at + 120_000).toISOString() });
  return `/audit?${query}`;
}

const tuple = (e: ApiEndpoint): string => {
  const icmp = e.icmp ? ` (icmp type ${e.icmp.type} code ${e.icmp.code} id ${e.icmp.id})` : '';
  return `${hostPort(e.src, e.sport)} → ${hostPort(e.dst, e.dport)}${icmp}`;
};

function Row({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="grid grid-cols-[10rem_1fr] gap-2 py-1">
      <dt className="text-slate-600">{label}</dt>
      <dd className="break-all font-mono text-sm">{children}</dd>
    </div>
  );
}

export function HistoryDetails({ entry, names, onClose }: { entry: ApiHistoryEntry; names?: PageNames; onClose: () => void }) {
  const c = entry.counters;
  const named = [...new Set([entry.original.src, entry.original.dst, entry.reply.src, entry.reply.dst])].flatMap((address) => {
    const text = hostText(names?.names[address]);
    return text ? [`${address}: ${text}`] : [];
  });
  // The neighbour table's MACs as they are now (the host may have left the link since the connection ended).
  const macs = [...new Set([entry.original.src, entry.original.dst, entry.reply.src, entry.reply.dst])].flatMap((address) => {
    const mac = names?.macs[address];
    return mac ? [`${address}: ${mac}`] : [];
  });
  const nat = [entry.nat.snat && `SNAT ${hostPort(entry.nat.snat.address, entry.nat.snat.port)}`, entry.nat.dnat && `DNAT ${hostPort(entry.nat.dnat.address, entry.nat.dnat.port)}`].filter(Boolean).join(', ');
  return (
    <Dialog
      title={`Ended connection ${entry.id}`}
      onClose={onClose}
      wide
      testId="history-details"
      footer={
        <button type="button" className={buttonClass.secondary} onClick={onClose}>
          Close
        </button>
      }
    >
      <dl className="text-sm">
        <Row label="Protocol">
          {entry.family} {entry.protocol}
          {entry.state ? `, final state ${entry.state}` : ''}
        </Row>
        <Row label="Original">{tuple(entry.original)}</Row>
        <Row label="Reply">{tuple(entry.reply)}</Row>
        <Row label="Names">
          {named.length ? (
            <span data-testid="history-details-names">
              {named.map((line) => (
                <span key={line} className="block">
                  {line}
                </span>
              ))}
            </span>
          ) : (
            '—'
          )}
        </Row>
        {macs.length > 0 && (
          <Row label="MAC (neighbour table now)">
            <span data-testid="history-details-macs">
              {macs.map((line) => (
                <span key={line} className="block">
                  {line}
                </span>
              ))}
            </span>
          </Row>
        )}
        <Row label="NAT">{nat || 'none (routed)'}</Row>
        <Row label="External address">{entry.external ? hostPort(entry.external.address, entry.external.port) : '—'}</Row>
        <Row label="Bytes → / ←">{c ? `${formatCount(c.original.bytes)} (${formatBytes(c.original.bytes)}) / ${formatCount(c.reply.bytes)} (${formatBytes(c.reply.bytes)})` : 'not counted (nf_conntrack_acct off)'}</Row>
        <Row label="Packets → / ←">{c ? `${formatCount(c.original.packets)} / ${formatCount(c.reply.packets)}` : '—'}</Row>
        <Row label="Started">{entry.startedAt ? formatTime(entry.startedAt) : 'unknown (nf_conntrack_timestamp off)'}</Row>
        <Row label="Ended">
          {entry.endedAfter ? (
            <span data-testid="history-details-interval">
              between {formatTime(entry.endedAfter)} and {formatTime(entry.endedBefore)}
            </span>
          ) : (
            formatTime(entry.endedAt)
          )}
        </Row>
        <Row label="Duration">{entry.durationMs !== undefined ? `${entry.endedAfter ? 'at most ' : ''}${formatDuration(entry.durationMs / 1000)}` : '—'}</Row>
        <Row label="Cause">
          <span data-testid="history-details-cause">{CAUSE_LABELS[entry.cause]}</span>
        </Row>
        <Row label="First FIN from">{entry.closedBy ?? '—'}</Row>
        {entry.deletedBy && (
          <Row label="By">
            <span data-testid="history-details-user">{entry.deletedBy}</span>{' '}
            <Link className="underline" href={auditHref(entry)}>
              audit log
            </Link>
          </Row>
        )}
        <Row label="Mark / zone">
          0x{entry.mark.toString(16)} / {entry.zone}
        </Row>
        <Row label="Status">{entry.status.join(' ')}</Row>
        <Row label="History row">{entry.key}</Row>
      </dl>
    </Dialog>
  );
}
