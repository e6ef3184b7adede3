'use client';
// One line of text to paste elsewhere (a sysctl.d line, a command) with a Copy button. The clipboard API needs a
// secure context (HTTPS or localhost); over plain HTTP on the LAN the text is selected for Ctrl+C instead.
import { useRef, useState } from 'react';
import { buttonClass } from '@/app/components/ui/buttons';

export function CopyLine({ text, label }: { text: string; label: string }) {
  const block = useRef<HTMLPreElement>(null);
  const [status, setStatus] = useState('');

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setStatus('Copied.');
    } catch {
      const selection = window.getSelection();
      if (block.current && selection) selection.selectAllChildren(block.current);
      setStatus('Selected: press Ctrl+C to copy.');
    }
  };

  return (
    <div>
      <p className="mb-1 text-xs font-medium text-slate-700">{label}</p>
      <div className="flex items-start gap-2">
        <pre
          ref={block}
          className="min-w-0 flex-1 rounded border border-slate-300 bg-slate-100 px-2 py-1.5 font-mono text-xs break-all whitespace-pre-wrap text-slate-900"
          data-testid="persistence-line"
        >
          {text}
        </pre>
        <button type="button" className={buttonClass.secondary} onClick={copy} data-testid="persistence-copy">
          Copy
        </button>
      </div>
      <p role="status" className="mt-1 min-h-4 text-xs text-slate-600" data-testid="persistence-copy-status">
        {status}
      </p>
    </div>
  );
}
