// Messages above the grid: what the last destructive action did.
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
