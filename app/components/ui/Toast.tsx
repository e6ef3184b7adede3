'use client';
// The one result/toast area of every signed-in page: short messages about what an action did ("Copied 3
// connections", "Cleared 12 rows"), announced to screen readers, gone after a while or when dismissed.
// Errors stay until dismissed. Pages call useToast(); the shell renders the area once.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';

export type ToastTone = 'ok' | 'error';

interface Toast {
  id: number;
  text: string;
  tone: ToastTone;
}

interface ToastApi {
  show: (text: string, tone?: ToastTone) => void;
}

const ToastContext = createContext<ToastApi | null>(null);

/** Long enough to read a sentence on a busy screen; errors are not timed. */
const SHOW_MS = 8000;

export function useToast(): ToastApi {
  const api = useContext(ToastContext);
  if (!api) throw new Error('useToast outside ToastProvider (the console shell provides it)');
  return api;
}

function ToastItem({ toast, onDismiss }: { toast: Toast; onDismiss: (id: number) => void }) {
  useEffect(() => {
    if (toast.tone === 'error') return;
    const timer = setTimeout(() => onDismiss(toast.id), SHOW_MS);
    return () => clearTimeout(timer);
  }, [toast, onDismiss]);
  return (
    <li
      data-testid="toast"
      data-tone={toast.tone}
      className={`pointer-events-auto flex items-start gap-3 rounded-md px-4 py-2 text-sm shadow-lg ${toast.tone === 'error' ? 'bg-red-700 text-white' : 'bg-slate-800 text-slate-50'}`}
    >
      <span className="min-w-0 flex-1 break-words">{toast.text}</span>
      <button type="button" onClick={() => onDismiss(toast.id)} aria-label="Dismiss message" className="shrink-0 rounded px-1 leading-none opacity-80 hover:opacity-100">
        ×
      </button>
    </li>
  );
}

export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const next = useRef(0);
  const show = useCallback((text: string, tone: ToastTone = 'ok') => {
    next.current += 1;
    const id = next.current;
    // The newest three: a burst of copies must not cover the page.
    setToasts((prev) => [...prev.slice(-2), { id, text, tone }]);
  }, []);
  const dismiss = useCallback((id: number) => setToasts((prev) => prev.filter((t) => t.id !== id)), []);
  const api = useMemo(() => ({ show }), [show]);
  return (
    <ToastContext.Provider value={api}>
      {children}
      <div role="status" aria-live="polite" className="pointer-events-none fixed inset-x-2 bottom-2 z-50 sm:inset-x-auto sm:right-6 sm:bottom-6 sm:w-96" data-testid="toast-area">
        <ul className="flex flex-col gap-2">
          {toasts.map((toast) => (
            <ToastItem key={toast.id} toast={toast} onDismiss={dismiss} />
          ))}
        </ul>
      </div>
    </ToastContext.Provider>
  );
}
