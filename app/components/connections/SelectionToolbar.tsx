'use client';
// What is selected and what can be done with it: copy, delete, widen to everything matching, export.
import { buttonClass } from '../ui/buttons';
import type { CopyFormat } from '../format';
import { formatCount } from '../format';

export interface SelectionToolbarProps {
  selectedCount: number;
  allMatching: boolean;
  matched: number | undefined;
  pageCount: number;
  /** Why "delete all matching" is not possible, when it is not. */
  matchingBlocked: string | undefined;
  exportHref: (format: 'csv' | 'json') => string;
  onCopy: (format: CopyFormat) => void;
  /** Absent when the user may not delete: no delete buttons (and nothing to select "all matching" for). */
  onDeleteSelected?: () => void;
  onDeleteMatching?: () => void;
  onSelectAllMatching: () => void;
  onClear: () => void;
}

export function SelectionToolbar(props: SelectionToolbarProps) {
  const { selectedCount, allMatching, matched, pageCount, matchingBlocked, onDeleteSelected, onDeleteMatching } = props;
  const canDelete = onDeleteSelected !== undefined && onDeleteMatching !== undefined;
  const hasSelection = selectedCount > 0 || allMatching;
  const small = 'px-2 py-1 text-xs';
  return (
    <div role="toolbar" aria-label="Selection actions" className="flex flex-wrap items-center gap-2 text-sm" data-testid="selection-toolbar">
      <span className="min-w-40 text-slate-700" data-testid="selection-count">
        {allMatching ? `All ${formatCount(matched ?? 0)} matching selected` : selectedCount ? `${formatCount(selectedCount)} selected` : 'No selection'}
      </span>
      {canDelete && !allMatching && selectedCount > 0 && selectedCount >= pageCount && matched !== undefined && matched > pageCount && (
        <button type="button" className={`${buttonClass.ghost} ${small} text-sky-700`} onClick={props.onSelectAllMatching} disabled={!!matchingBlocked} title={matchingBlocked} data-testid="select-all-matching">
          Select all {formatCount(matched)} matching
        </button>
      )}
      {hasSelection && (
        <button type="button" className={`${buttonClass.ghost} ${small}`} onClick={props.onClear}>
          Clear selection
        </button>
      )}
      <span className="mx-1 h-5 w-px bg-slate-300" aria-hidden />
      <button type="button" className={`${buttonClass.secondary} ${small}`} disabled={!selectedCount || allMatching} onClick={() => props.onCopy('text')} data-testid="copy-text">
        Copy
      </button>
      <button type="button" className={`${buttonClass.secondary} ${small}`} disabled={!selectedCount || allMatching} onClick={() => props.onCopy('json')} data-testid="copy-json">
        Copy JSON
      </button>
      <button type="button" className={`${buttonClass.secondary} ${small}`} disabled={!selectedCount || allMatching} onClick={() => props.onCopy('command')} data-testid="copy-command">
        Copy conntrack -D
      </button>
      {canDelete && (
        <>
          <span className="mx-1 h-5 w-px bg-slate-300" aria-hidden />
          <button type="button" className={`${buttonClass.dangerOutline} ${small}`} disabled={!hasSelection} onClick={onDeleteSelected} data-testid="delete-selected">
            Delete selected…
          </button>
          <button type="button" className={`${buttonClass.dangerOutline} ${small}`} disabled={!!matchingBlocked} title={matchingBlocked} onClick={onDeleteMatching} data-testid="delete-matching">
            Delete all matching filter…
          </button>
        </>
      )}
      <span className="ml-auto flex gap-2 text-xs">
        <a className="text-sky-700 hover:underline" href={props.exportHref('csv')} download data-testid="export-csv">
          Export CSV
        </a>
        <a className="text-sky-700 hover:underline" href={props.exportHref('json')} download>
          Export JSON
        </a>
      </span>
    </div>
  );
}
