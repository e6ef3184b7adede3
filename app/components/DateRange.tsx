'use client';
// The one time range of the filter forms (History: when a connection ended; Audit: when an entry was written):
// two date pickers in local time, the ISO instants of the URL and the API (time-input.ts), and the same check on
// both pages - a range that ends before it starts is named at once and never sent.
import { useId } from 'react';
import { rangeProblem, type DateRangeDraft } from './time-input';

export interface DateRangeProps {
  value: DateRangeDraft;
  onChange: (next: DateRangeDraft) => void;
  /** The two inputs' labels, in the page's words ("Ended from" / "to"). */
  labels: { from: string; to: string };
  /** The inputs' test ids. */
  testIds: { from: string; to: string };
  /** The server refused one of them (its field named in a 400). */
  invalid?: 'from' | 'to';
  className?: string;
}

export function DateRange({ value, onChange, labels, testIds, invalid, className = 'rounded border border-slate-300 bg-white px-2 py-1' }: DateRangeProps) {
  const messageId = useId();
  const problem = rangeProblem(value);
  const input = (side: 'from' | 'to') => (
    <label className="flex flex-col">
      {labels[side]}
      <input
        type="datetime-local"
        value={value[side]}
        onChange={(e) => onChange({ ...value, [side]: e.target.value })}
        className={className}
        data-testid={testIds[side]}
        aria-invalid={problem !== undefined || invalid === side || undefined}
        aria-describedby={problem ? messageId : undefined}
      />
    </label>
  );
  return (
    <>
      {input('from')}
      {input('to')}
      {problem && (
        <p id={messageId} role="alert" className="basis-full text-sm text-red-800" data-testid="date-range-problem">
          {problem}
        </p>
      )}
    </>
  );
}
