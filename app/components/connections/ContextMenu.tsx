'use client';
// The right-click menu of the grid: a positioned list of actions, closed by a click elsewhere or Escape.
import { useEffect, useEffectEvent, useRef } from 'react';

export interface MenuItem {
  label: string;
  onSelect: () => void;
  disabled?: boolean;
  danger?: boolean;
  separatorBefore?: boolean;
}

export function ContextMenu({ x, y, items, onClose }: { x: number; y: number; items: MenuItem[]; onClose: () => void }) {
  const menu = useRef<HTMLUListElement>(null);
  const close = useEffectEvent(() => onClose());
  useEffect(() => {
    // Focus goes back where it was (the row or its "⋯" button) when the menu closes, so a dialog opened from
    // the menu knows its opener and returns focus there.
    const before = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    menu.current?.querySelector<HTMLElement>('[role="menuitem"]:not([disabled])')?.focus({ preventScroll: true });
    const closeOutside = (event: Event) => {
      if (!(event.target instanceof Node) || !menu.current?.contains(event.target)) close();
    };
    // The menu is placed at the pointer: once the page moves under it, it would point at the wrong row.
    const closeOnScroll = () => close();
    window.addEventListener('mousedown', closeOutside);
    window.addEventListener('scroll', closeOnScroll);
    window.addEventListener('resize', closeOnScroll);
    return () => {
      window.removeEventListener('mousedown', closeOutside);
      window.removeEventListener('scroll', closeOnScroll);
      window.removeEventListener('resize', closeOnScroll);
      const active = document.activeElement;
      if (before?.isConnected && (active === null || active === document.body || !active.isConnected)) before.focus({ preventScroll: true });
    };
  }, []);

  const left = typeof window === 'undefined' ? x : Math.min(x, window.innerWidth - 290);
  const top = typeof window === 'undefined' ? y : Math.min(y, window.innerHeight - items.length * 34 - 16);
  return (
    <ul
      ref={menu}
      role="menu"
      aria-label="Connection actions"
      data-testid="context-menu"
      style={{ left, top }}
      className="fixed z-50 w-72 rounded-md border border-slate-200 bg-white py-1 text-sm shadow-lg"
      onKeyDown={(event) => {
        if (event.key === 'Escape') onClose();
        if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
          event.preventDefault();
          const enabled = [...(menu.current?.querySelectorAll<HTMLElement>('[role="menuitem"]:not([disabled])') ?? [])];
          const at = enabled.indexOf(document.activeElement as HTMLElement);
          enabled[(at + (event.key === 'ArrowDown' ? 1 : enabled.length - 1)) % enabled.length]?.focus();
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
            className={`block w-full px-3 py-1.5 text-left hover:bg-slate-100 focus:bg-slate-100 focus:outline-none disabled:text-slate-400 disabled:hover:bg-transparent ${item.danger ? 'text-red-700' : ''}`}
          >
            {item.label}
          </button>
        </li>
      ))}
    </ul>
  );
}
