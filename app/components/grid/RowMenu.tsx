'use client';
// The one row-actions menu of the grids: opened by right-click on a row (at the pointer), by the row's "⋯"
// button and from the keyboard (the Menu key or Shift+F10 on a row; under the row). Arrow keys move, Escape or a
// click elsewhere closes it, and focus goes back where it was (so a dialog opened from it returns there too).
// It is placed relative to its row and follows it: opening it may select the row, and the selection toolbar above
// the grid then grows and moves the row (or the browser scrolls to keep it in place); a row scrolled out of sight
// closes it.
import { useEffect, useEffectEvent, useLayoutEffect, useRef } from 'react';

export interface MenuItem {
  label: string;
  onSelect: () => void;
  disabled?: boolean;
  danger?: boolean;
  separatorBefore?: boolean;
}

export interface RowMenuProps {
  /** The row the menu belongs to. */
  anchor: HTMLElement;
  /** Where the menu opens, from the row's top-left corner (the pointer, or under the "⋯" button). */
  dx: number;
  dy: number;
  /** The menu's accessible name ("Actions for connection 4011"). */
  label: string;
  items: MenuItem[];
  onClose: () => void;
}

const MENU_WIDTH = 288;

/** Puts the menu at its place from the row's corner, inside the viewport; false when the row is out of sight. */
function place(element: HTMLElement, anchor: HTMLElement, dx: number, dy: number): boolean {
  const row = anchor.getBoundingClientRect();
  element.style.left = `${Math.max(4, Math.min(row.left + dx, window.innerWidth - MENU_WIDTH - 4))}px`;
  element.style.top = `${Math.max(4, Math.min(row.top + dy, window.innerHeight - element.offsetHeight - 4))}px`;
  return anchor.isConnected && row.bottom > 0 && row.top < window.innerHeight;
}

export function RowMenu({ anchor, dx, dy, label, items, onClose }: RowMenuProps) {
  const menu = useRef<HTMLUListElement>(null);
  const close = useEffectEvent(() => onClose());
  // Placed once the row has its place after this render, before the browser paints (left and top are set here
  // only, so a re-render leaves them).
  useLayoutEffect(() => {
    if (menu.current) place(menu.current, anchor, dx, dy);
  }, [anchor, dx, dy]);
  useEffect(() => {
    const list = menu.current;
    const before = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    menu.current?.querySelector<HTMLElement>('[role="menuitem"]:not([disabled])')?.focus({ preventScroll: true });
    const closeOutside = (event: Event) => {
      if (!(event.target instanceof Node) || !menu.current?.contains(event.target)) close();
    };
    const follow = (event: Event) => {
      if (!menu.current || (event.target instanceof Node && menu.current.contains(event.target))) return;
      if (!place(menu.current, anchor, dx, dy)) close();
    };
    window.addEventListener('mousedown', closeOutside);
    window.addEventListener('scroll', follow, true);
    window.addEventListener('resize', close);
    return () => {
      window.removeEventListener('mousedown', closeOutside);
      window.removeEventListener('scroll', follow, true);
      window.removeEventListener('resize', close);
      const active = document.activeElement;
      if (before?.isConnected && (active === null || active === document.body || !active.isConnected || list?.contains(active))) before.focus({ preventScroll: true });
    };
    // Mounted once per opening; the anchor is the row it opened on.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  return (
    <ul
      ref={menu}
      role="menu"
      aria-label={label}
      data-testid="context-menu"
      style={{ width: `min(${MENU_WIDTH}px, calc(100vw - 8px))` }}
      className="fixed z-50 rounded-md border border-slate-200 bg-white py-1 text-sm text-slate-900 shadow-lg"
      onKeyDown={(event) => {
        if (event.key === 'Escape' || event.key === 'Tab') {
          event.preventDefault();
          event.stopPropagation();
          onClose();
        }
        if (['ArrowDown', 'ArrowUp', 'Home', 'End'].includes(event.key)) {
          event.preventDefault();
          const enabled = [...(menu.current?.querySelectorAll<HTMLElement>('[role="menuitem"]:not([disabled])') ?? [])];
          const at = enabled.indexOf(document.activeElement as HTMLElement);
          const next = event.key === 'Home' ? 0 : event.key === 'End' ? enabled.length - 1 : (at + (event.key === 'ArrowDown' ? 1 : enabled.length - 1)) % enabled.length;
          enabled[next]?.focus();
        }
      }}
    >
      {items.map((item) => (
        <li key={item.label} role="none" className={item.separatorBefore ? 'mt-1 border-t border-slate-100 pt-1' : undefined}>
          <button
            type="button"
            role="menuitem"
            disabled={item.disabled}
            onClick={() => {
              onClose();
              item.onSelect();
            }}
            className={`block w-full px-3 py-1.5 text-left hover:bg-slate-100 focus:bg-slate-100 focus:outline-none disabled:text-slate-500 disabled:hover:bg-transparent ${item.danger ? 'text-red-700' : ''}`}
          >
            {item.label}
          </button>
        </li>
      ))}
    </ul>
  );
}
