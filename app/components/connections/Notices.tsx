// Messages above the grid: what the last destructive action did, and which kernel features are off.
import { buttonClass } from '../ui/buttons';

export interface ActionResult {
  message: string;
  detail?: string;
}

export function ResultBanner({ result, onRefresh, onDismiss }: { result: ActionResult; onRefresh: () => void; onDismiss: () => void }) {
  return (
    <div role="status" data-testid="result-banner" className="flex flex-wrap items-center gap-3 rounded-md border border-emerald-300 bg-emerald-50 px-4 py-2 text-sm text-emerald-900">
      <span>
        <strong>{result.message}</strong>
        {result.detail && <span className="ml-1">{result.detail}</span>}
        <span className="ml-1 text-emerald-800">The list still shows the earlier snapshot.</span>
      </span>
      <button type="button" className={buttonClass.primary} onClick={onRefresh} data-testid="result-refresh">
        Refresh now
      </button>
      <button type="button" className={buttonClass.ghost} onClick={onDismiss} aria-label="Dismiss">
        Dismiss
      </button>
    </div>
  );
}

export function FeatureNotice({ accounting, timestamps }: { accounting: boolean; timestamps: boolean }) {
  if (accounting && timestamps) return null;
  return (
    <div className="space-y-1 rounded-md border border-slate-200 bg-white px-4 py-2 text-sm text-slate-700" data-testid="feature-notice">
      {!accounting && (
        <p data-testid="acct-off">
          Byte and packet counters are off, so those columns are hidden. Turn them on with{' '}
          <code className="rounded bg-slate-100 px-1">sysctl -w net.netfilter.nf_conntrack_acct=1</code> (counts connections created afterwards).
        </p>
      )}
      {!timestamps && (
        <p data-testid="timestamps-off">
          Connection start times are off, so there is no age column. Turn them on with{' '}
          <code className="rounded bg-slate-100 px-1">sysctl -w net.netfilter.nf_conntrack_timestamp=1</code>.
        </p>
      )}
    </div>
  );
}
