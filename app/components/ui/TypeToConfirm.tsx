'use client';
// The one typed confirmation of destructive actions without a narrower scope (flush, clear all): the word is
// shown in the dialog and must be typed exactly (typedMatches). The caller keeps the text so it can enable
// its confirm button; Enter in the field confirms once the word matches.
import { useId } from 'react';
import { typedMatches } from './confirm-word';

export interface TypeToConfirmProps {
  word: string;
  value: string;
  onChange: (value: string) => void;
  /** Called on Enter when the typed text matches. */
  onConfirm?: () => void;
  testId?: string;
}

export function TypeToConfirm({ word, value, onChange, onConfirm, testId }: TypeToConfirmProps) {
  const hintId = useId();
  const matches = typedMatches(word, value);
  return (
    <label className="block text-sm">
      Type <strong className="font-mono">{word}</strong> to confirm
      <input
        data-autofocus
        className="mt-1 block w-full rounded border border-slate-300 bg-white px-2 py-1 font-mono"
        value={value}
        onChange={(event) => onChange(event.target.value)}
        onKeyDown={(event) => {
          if (event.key === 'Enter' && matches && onConfirm) {
            event.preventDefault();
            onConfirm();
          }
        }}
        aria-label={`Type ${word} to confirm`}
        aria-describedby={hintId}
        autoComplete="off"
        autoCapitalize="off"
        spellCheck={false}
        data-testid={testId ?? 'confirm-word'}
      />
      <span id={hintId} className="mt-1 block text-xs text-slate-600" data-testid="confirm-word-hint">
        {matches ? 'Confirmed.' : value.trim() ? `Not yet: type ${word} exactly, in capitals.` : `Capitals, as shown.`}
      </span>
    </label>
  );
}
