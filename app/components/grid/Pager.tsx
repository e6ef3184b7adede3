'use client';
// Server-side paging: where we are in the matched total, and the page size.

const formatCount = (n: number): string => new Intl.NumberFormat('en-US').format(n);

export interface PagerProps {
  page: number;
  size: number;
  sizes: readonly number[];
  matched: number;
  /** More than `matched` rows match (the count was cut short to keep the page fast): no last page. */
  approximate?: boolean;
  onPage: (page: number) => void;
  onSize: (size: number) => void;
}

export function Pager({ page, size, sizes, matched, approximate, onPage, onSize }: PagerProps) {
  // An approximate count only bounds the pages from below: the next one may exist whatever it says.
  const pages = approximate ? Math.max(page + 1, Math.ceil(matched / size)) : Math.max(1, Math.ceil(matched / size));
  const from = matched === 0 ? 0 : (page - 1) * size + 1;
  const to = approximate ? page * size : Math.min(matched, page * size);
  const button = 'rounded border border-slate-300 bg-white px-2 py-1 text-sm hover:bg-slate-100 disabled:cursor-not-allowed disabled:opacity-40';
  return (
    <nav aria-label="Pages" className="flex flex-wrap items-center gap-2 text-sm text-slate-600" data-testid="pager">
      <span data-testid="pager-range">
        {formatCount(from)}–{formatCount(to)} of {approximate ? `more than ${formatCount(matched)}` : formatCount(matched)}
      </span>
      <button type="button" className={button} onClick={() => onPage(1)} disabled={page <= 1} aria-label="First page">
        «
      </button>
      <button type="button" className={button} onClick={() => onPage(page - 1)} disabled={page <= 1}>
        <span aria-hidden>‹</span> Previous
      </button>
      <span data-testid="pager-page">
        page {formatCount(page)}
        {approximate ? '' : ` of ${formatCount(pages)}`}
      </span>
      <button type="button" className={button} onClick={() => onPage(page + 1)} disabled={page >= pages}>
        Next <span aria-hidden>›</span>
      </button>
      <button type="button" className={button} onClick={() => onPage(pages)} disabled={approximate || page >= pages} aria-label="Last page">
        »
      </button>
      <label className="ml-2 flex items-center gap-1">
        Rows per page
        <select className="rounded border border-slate-300 bg-white px-1 py-1" value={size} onChange={(e) => onSize(Number(e.target.value))}>
          {sizes.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
    </nav>
  );
}
