// The date pickers of the filter forms: <input type="datetime-local"> shows local time without a zone, the URL
// and the API speak ISO instants.

/** An ISO instant as a datetime-local input shows it (local time, to the minute). */
export function toLocalInput(iso: string | undefined): string {
  const ms = iso ? Date.parse(iso) : NaN;
  if (!Number.isFinite(ms)) return '';
  return new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

/** A datetime-local input's value (local time, no zone) as the ISO instant the API takes. */
export function fromLocalInput(value: string): string | undefined {
  const ms = value ? new Date(value).getTime() : NaN;
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

/** A time range as its two date pickers hold it (datetime-local values; '' for an open end). */
export interface DateRangeDraft {
  from: string;
  to: string;
}

/** The pickers' values for a range of ISO instants (from the URL). */
export const rangeDraft = (from: string | undefined, to: string | undefined): DateRangeDraft => ({ from: toLocalInput(from), to: toLocalInput(to) });

/** The ISO instants the URL and the API take for what the pickers hold. */
export const rangeInstants = (draft: DateRangeDraft): { from?: string; to?: string } => ({ from: fromLocalInput(draft.from), to: fromLocalInput(draft.to) });

/** Why the range cannot be asked for (it ends before it starts), or undefined when it can. */
export function rangeProblem(draft: DateRangeDraft): string | undefined {
  const { from, to } = rangeInstants(draft);
  if (from && to && Date.parse(from) > Date.parse(to)) return 'The range ends before it starts: choose an end after the start, or leave one of them empty.';
  return undefined;
}
