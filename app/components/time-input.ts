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
