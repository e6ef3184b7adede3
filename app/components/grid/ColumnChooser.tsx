'use client';
// The grid's column chooser: show or hide each column and move it earlier or later. A disclosure (button +
// panel), not a modal: Escape or the button closes it and focus returns to the button. The grid remembers the
// choice in the browser (localStorage), per grid.
import { useEffect, useId, useRef, useState } from 'react';
import type { VisibilityState } from '@tanstack/react-table';
import { buttonClass } from '../ui/buttons';

export interface ChooserColumn {
  id: string;
  label: string;
  visible: boolean;
}

export interface ColumnChooserProps {
  /** In their current order. */
  columns: ChooserColumn[];
  onChange: (visibility: VisibilityState, order: string[]) => void;
  onReset: () => void;
}

export function ColumnChooser({ columns, onChange, onReset }: ColumnChooserProps) {
  const [open, setOpen] = useState(false);
  const panelId = useId();
  const button = useRef<HTMLButtonElement>(null);
  const panel = useRef<HTMLDivElement>(null);
  const shown = columns.filter((c) => c.visible).length;

  useEffect(() => {
    if (!open) return;
    const closeOutside = (event: MouseEvent) => {
      if (event.target instanceof Node && !panel.current?.contains(event.target) && !button.current?.contains(event.target)) setOpen(false);
    };
    window.addEventListener('mousedown', closeOutside);
    return () => window.removeEventListener('mousedown', closeOutside);
  }, [open]);

  const apply = (next: ChooserColumn[]) => onChange(Object.fromEntries(next.map((c) => [c.id, c.visible])), next.map((c) => c.id));
  const move = (index: number, by: -1 | 1, focusId: string) => {
    const next = [...columns];
    const [taken] = next.splice(index, 1);
    next.splice(index + by, 0, taken);
    apply(next);
    // Keep the keyboard on the button that was pressed, now in the row's new place (or its other arrow at an end).
    requestAnimationFrame(() => {
      const target = panel.current?.querySelector<HTMLButtonElement>(`[data-move="${focusId}"]:not([disabled])`) ?? panel.current?.querySelector<HTMLButtonElement>(`[data-move-row="${CSS.escape(taken.id)}"] button:not([disabled])`);
      target?.focus();
    });
  };

  return (
    <div className="relative">
      <button
        ref={button}
        type="button"
        className={buttonClass.secondary}
        aria-expanded={open}
        aria-controls={panelId}
        onClick={() => setOpen(!open)}
        data-testid="column-chooser"
      >
        Columns ({shown}/{columns.length})
      </button>
      {open && (
        <div
          ref={panel}
          id={panelId}
          role="group"
          aria-label="Columns"
          data-testid="column-chooser-panel"
          className="absolute right-0 z-30 mt-1 max-h-[70dvh] w-72 max-w-[calc(100vw-1rem)] overflow-auto rounded-md border border-slate-200 bg-white p-2 text-sm text-slate-900 shadow-lg"
          onKeyDown={(event) => {
            if (event.key === 'Escape') {
              event.stopPropagation();
              setOpen(false);
              button.current?.focus();
            }
          }}
        >
          <ul className="space-y-0.5">
            {columns.map((column, index) => (
              <li key={column.id} className="flex items-center gap-1" data-move-row={column.id} data-testid={`chooser-${column.id}`}>
                <label className="flex min-w-0 flex-1 items-center gap-2 rounded px-1 py-0.5 hover:bg-slate-100">
                  <input
                    type="checkbox"
                    checked={column.visible}
                    onChange={() => apply(columns.map((c) => (c.id === column.id ? { ...c, visible: !c.visible } : c)))}
                  />
                  <span className="truncate">{column.label}</span>
                </label>
                <button
                  type="button"
                  className="rounded px-1.5 text-slate-700 hover:bg-slate-100 disabled:opacity-30"
                  aria-label={`Move ${column.label} earlier`}
                  disabled={index === 0}
                  data-move={`up-${column.id}`}
                  onClick={() => move(index, -1, `up-${column.id}`)}
                >
                  ↑
                </button>
                <button
                  type="button"
                  className="rounded px-1.5 text-slate-700 hover:bg-slate-100 disabled:opacity-30"
                  aria-label={`Move ${column.label} later`}
                  disabled={index === columns.length - 1}
                  data-move={`down-${column.id}`}
                  onClick={() => move(index, 1, `down-${column.id}`)}
                >
                  ↓
                </button>
              </li>
            ))}
          </ul>
          <div className="mt-2 flex justify-end border-t border-slate-100 pt-2">
            <button type="button" className={buttonClass.ghost} onClick={onReset} data-testid="column-reset">
              Default columns
            </button>
          </div>
        </div>
      )}
    </div>
  );
}
