'use client';
// The one modal dialog, on the native <dialog> element: showModal() makes the page behind inert, Escape (the
// dialog's cancel event) and a click on the backdrop close it, Tab and Shift+Tab wrap inside it, and focus goes
// back to whatever opened it. The dialog never grows wider or taller than the screen; its body scrolls.
import { useEffect, useEffectEvent, useId, useRef, type KeyboardEvent, type ReactNode } from 'react';

export interface DialogProps {
  title: string;
  onClose: () => void;
  children: ReactNode;
  /** Buttons, right-aligned at the bottom. */
  footer?: ReactNode;
  wide?: boolean;
  testId?: string;
}

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex="-1"])';

const focusables = (root: HTMLElement): HTMLElement[] =>
  [...root.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => !el.closest('[inert]') && el.getClientRects().length > 0);

export function Dialog({ title, onClose, children, footer, wide, testId }: DialogProps) {
  const titleId = useId();
  const dialog = useRef<HTMLDialogElement>(null);
  const close = useEffectEvent(() => onClose());

  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    // Whoever had focus opened the dialog (a button, a row, a menu item that is about to unmount: then the
    // element that had focus before the menu, see RowMenu).
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const cancel = (event: Event) => {
      event.preventDefault();
      close();
    };
    // Chromium may close a dialog without a cancel event (repeated Escape without user activation): the
    // page's state must follow.
    const closed = () => close();
    element.addEventListener('cancel', cancel);
    element.addEventListener('close', closed);
    if (!element.open) element.showModal();
    const first = element.querySelector<HTMLElement>('[data-autofocus]') ?? focusables(element).find((el) => !el.hasAttribute('data-dialog-close'));
    first?.focus();
    return () => {
      element.removeEventListener('cancel', cancel);
      element.removeEventListener('close', closed);
      if (element.open) element.close();
      // A newer dialog may have taken focus already (one dialog opening another): leave it there.
      if (opener?.isConnected && !document.querySelector('dialog[open]')) opener.focus({ preventScroll: true });
    };
  }, []);

  const keepFocusInside = (event: KeyboardEvent<HTMLDialogElement>) => {
    if (event.key !== 'Tab' || !dialog.current) return;
    const all = focusables(dialog.current);
    if (all.length === 0) return;
    const [first, last] = [all[0], all[all.length - 1]];
    const active = document.activeElement;
    if (event.shiftKey && (active === first || !dialog.current.contains(active))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (active === last || !dialog.current.contains(active))) {
      event.preventDefault();
      first.focus();
    }
  };

  return (
    <dialog
      ref={dialog}
      aria-labelledby={titleId}
      data-testid={testId}
      onKeyDown={keepFocusInside}
      onMouseDown={(event) => {
        // A press on the backdrop lands on the <dialog> element itself; its content fills it entirely.
        if (event.target === event.currentTarget) onClose();
      }}
      className={`m-auto w-[calc(100vw-1rem)] ${wide ? 'max-w-5xl' : 'max-w-xl'} max-h-[calc(100dvh-1rem)] overflow-hidden rounded-lg bg-white p-0 text-slate-900 shadow-xl`}
    >
      <div className="flex max-h-[calc(100dvh-1rem)] flex-col">
        <div className="flex items-center justify-between gap-2 border-b border-slate-200 px-4 py-3 sm:px-5">
          <h2 id={titleId} className="min-w-0 text-lg font-semibold break-words">
            {title}
          </h2>
          <button type="button" data-dialog-close onClick={onClose} aria-label="Close" className="shrink-0 rounded px-2 text-xl text-slate-600 hover:bg-slate-100">
            ×
          </button>
        </div>
        <div className="min-h-0 flex-1 overflow-auto px-4 py-4 sm:px-5">{children}</div>
        {footer && <div className="flex flex-wrap justify-end gap-2 border-t border-slate-200 px-4 py-3 sm:px-5">{footer}</div>}
      </div>
    </dialog>
  );
}
