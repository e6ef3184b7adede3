// The Router page's list of cleanup policies: read-only (they change only in the configuration), each with its
// last runs from the audit log.
import Link from 'next/link';
import type { RouterResponse } from '../components/api/types';
import { formatDuration } from '../components/format';
import { LocalTime } from '../components/ui/LocalTime';

type Policy = RouterResponse['policies'][number];

const TRIGGER: Record<Policy['on'], string> = {
  'address-removed': 'an address leaves',
  'route-lost': 'the default route or carrier is lost',
  failback: 'the default route comes back',
  schedule: 'schedule',
};

const OUTCOME_STYLE: Record<string, string> = {
  ok: 'bg-emerald-100 text-emerald-800',
  pending: 'bg-amber-100 text-amber-900',
  failed: 'bg-red-100 text-red-800',
  interrupted: 'bg-red-100 text-red-800',
};


function when(p: Policy): string {
  if (p.on === 'schedule') return `every ${formatDuration(p.everySeconds ?? 0)}${p.wan ? `, entries of ${p.wan}` : ''}`;
  return `${p.wan}: ${TRIGGER[p.on]}`;
}

export function PolicyList({ policies, canAudit }: { policies: Policy[]; canAudit: boolean }) {
  return (
    <section aria-labelledby="policies-heading" className="space-y-2">
      <h2 id="policies-heading" className="text-lg font-semibold">
        Cleanup policies
      </h2>
      {policies.length === 0 ? (
        <p className="text-sm text-slate-600">
          None configured. The console can clean up by itself when an uplink changes: <code>policies</code> in the configuration file.
        </p>
      ) : (
        <ul className="grid gap-3 md:grid-cols-2">
          {policies.map((p) => (
            <li key={p.name} className="rounded-lg border border-slate-200 bg-white p-4 text-sm" data-testid="policy" data-policy={p.name}>
              <div className="mb-1 flex flex-wrap items-center gap-2">
                <h3 className="text-base font-semibold">{p.name}</h3>
                <span className="rounded bg-slate-100 px-1.5 py-0.5 text-[10px] font-semibold uppercase text-slate-700">{p.on}</span>
                {p.dryRun && <span className="rounded bg-amber-100 px-1.5 py-0.5 text-[10px] font-semibold uppercase text-amber-900">dry run</span>}
              </div>
              <p>On {when(p)}</p>
              <p className="text-slate-600">
                {p.filter ? (
                  <>
                    Filter <code className="font-mono text-xs text-slate-800">{p.filter}</code>
                  </>
                ) : (
                  'No filter'
                )}
                {p.minIntervalSeconds > 0 && ` · at most one run per ${formatDuration(p.minIntervalSeconds)} (events meanwhile merge)`}
              </p>
              <p className="mt-2 font-medium">Last runs</p>
              {p.lastRuns.length === 0 ? (
                <p className="text-slate-600">Not run yet.</p>
              ) : (
                <ul className="space-y-1" data-testid="policy-runs">
                  {p.lastRuns.map((r) => (
                    <li key={r.auditId} className="flex flex-wrap items-baseline gap-x-2">
                      <span className="tabular-nums">
                        <LocalTime iso={r.at} />
                      </span>
                      <span className={`rounded px-1.5 text-[10px] font-semibold uppercase ${OUTCOME_STYLE[r.outcome] ?? 'bg-slate-100 text-slate-700'}`}>{r.outcome}</span>
                      <span>
                        {r.count === null ? '—' : `${r.dryRun ? 'would delete' : 'deleted'} ${r.count.toLocaleString('en-US')}`}
                      </span>
                      <span className="min-w-0 break-words text-slate-600">{r.trigger}</span>
                    </li>
                  ))}
                </ul>
              )}
              {canAudit && (
                <p className="mt-2 text-xs text-slate-600">
                  Every run is in the{' '}
                  <Link href={`/audit?action=policy.run&actor=${encodeURIComponent(p.name)}`} className="underline">
                    audit log
                  </Link>
                  .
                </p>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
