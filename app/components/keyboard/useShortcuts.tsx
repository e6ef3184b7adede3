'use client';
// The console's keyboard shortcuts, the same on every page that has a grid: `/` search, `r` refresh, Delete,
// Ctrl+A (Cmd+A), Escape, and `?` lists them. Keys typed into a field, or while a dialog or menu is open, are the
// field's / dialog's own. A page passes only the actions it has; the list shows only those.
import { useEffect, useEffectEvent, useState, type ReactNode } from 'react';
import { Dialog } from '../ui/Dialog';

export interface ShortcutActions {
  refresh?: () => void;
  deleteSelection?: () => void;
  selectAll?: () => void;
  clearSelection?: () => void;
}

const isTyping = (target: EventTarget | null): boolean =>
  target instanceof HTMLElement && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));

/** A dialog or a menu holds the keyboard. */
const somethingOpen = (): boolean => document.querySelector('dialog[open], [role="menu"]') !== null;

const searchField = (): HTMLInputElement | null => document.querySelector<HTMLInputElement>('[data-shortcut="search"]');

export function useShortcuts(actions: ShortcutActions): ReactNode {
  const [helpOpen, setHelpOpen] = useState(false);
  const onKey = useEffectEvent((event: KeyboardEvent) => {
    if (event.defaultPrevented || somethingOpen() || isTyping(event.target) || event.altKey) return;
    const mod = event.ctrlKey || event.metaKey;
    const act = (action: (() => void) | undefined) => {
      if (!action) return;
      event.preventDefault();
      action();
    };
    if (mod) {
      if (event.key.toLowerCase() === 'a') act(actions.selectAll);
      return;
    }
    if (event.key === '/') {
      const field = searchField();
      if (field) {
        event.preventDefault();
        field.focus();
        field.select();
      }
    } else if (event.key === 'r') act(actions.refresh);
    else if (event.key === 'Delete') act(actions.deleteSelection);
    else if (event.key === 'Escape') act(actions.clearSelection);
    else if (event.key === '?') act(() => setHelpOpen(true));
  });
  useEffect(() => {
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  if (!helpOpen) return null;
  const rows: [string, string, boolean][] = [
    ['/', 'Search: go to the text filter', typeof document !== 'undefined' && searchField() !== null],
    ['r', 'Refresh', !!actions.refresh],
    ['Delete', 'Delete the selection (asks first)', !!actions.deleteSelection],
    ['Ctrl+A', 'Select every row on this page', !!actions.selectAll],
    ['Escape', 'Clear the selection; close a dialog or menu', true],
    ['↑ ↓ Home End', 'Move between rows of the table', true],
    ['Space', 'Select or unselect the row', !!actions.selectAll],
    ['Enter', 'Open the row’s details', true],
    ['Menu or Shift+F10', 'The row’s actions (also its ⋯ button)', true],
    ['?', 'This list', true],
  ];
  return (
    <Dialog title="Keyboard shortcuts" onClose={() => setHelpOpen(false)} testId="shortcuts-dialog">
      <table className="w-full text-sm">
        <caption className="sr-only">Keyboard shortcuts of this page</caption>
        <thead className="text-left text-slate-600">
          <tr>
            <th scope="col" className="py-1 pr-4">
              Key
            </th>
            <th scope="col" className="py-1">
              What it does
            </th>
          </tr>
        </thead>
        <tbody>
          {rows
            .filter(([, , available]) => available)
            .map(([key, what]) => (
              <tr key={key} className="border-t border-slate-100">
                <td className="py-1 pr-4 whitespace-nowrap">
                  <kbd className="rounded border border-slate-300 bg-slate-50 px-1.5 py-0.5 font-mono text-xs">{key}</kbd>
                </td>
                <td className="py-1">{what}</td>
              </tr>
            ))}
        </tbody>
      </table>
    </Dialog>
  );
}
