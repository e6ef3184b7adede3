'use client';
// The one grid of the console, on TanStack Table: the server sorts and pages (the grid reports what was
// clicked), and the table owns sorting, row selection, column visibility and column order (the last two remembered
// in the browser per grid). Rows: click selects, Ctrl/Cmd+click toggles, Shift+click selects a range; one tab
// stop for the body, arrow keys move between rows, Space selects, Enter opens, the Menu key or Shift+F10 opens the
// row's actions (also behind each row's "⋯" button and on right-click). Header and horizontal scrollbar stay
// inside a box that fits the viewport; under 640 px the rows become stacked cards. It knows nothing of connections.
import {
  flexRender,
  getCoreRowModel,
  useReactTable,
  type Column,
  type ColumnDef,
  type ColumnOrderState,
  type ColumnSizingState,
  type RowSelectionState,
  type SortingState,
  type VisibilityState,
} from '@tanstack/react-table';
import { useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent, type MouseEvent, type ReactNode } from 'react';
import { ColumnChooser } from './ColumnChooser';
import { RowMenu, type MenuItem } from './RowMenu';

declare module '@tanstack/react-table' {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- the names are TanStack's
  interface ColumnMeta<TData, TValue> {
    /** The column's name where its header is not plain text: the column chooser and the stacked cards use it. */
    label?: string;
    /** Not shown until the user picks it in the column chooser. */
    hiddenByDefault?: boolean;
  }
}

export interface RowSelectionChange<T> {
  next: RowSelectionState;
  /** The row the change came from (undefined for "all on this page"). */
  row?: T;
}

export interface DataGridProps<T> {
  /** Accessible name of the table. */
  label: string;
  data: T[];
  columns: ColumnDef<T>[];
  getRowId: (row: T) => string;
  /** What to call a row in labels: "connection 4011". */
  rowLabel: (row: T) => string;
  sorting: SortingState;
  onSortingChange: (sorting: SortingState) => void;
  /** Present: a select column and click selection. The page keeps the state (it spans pages); the grid changes it. */
  rowSelection?: RowSelectionState;
  onRowSelectionChange?: (change: RowSelectionChange<T>) => void;
  onRowOpen?: (row: T) => void;
  /** Present: a "⋯" column, right-click and the Menu key open these actions. */
  rowActions?: (row: T) => MenuItem[];
  /** localStorage key for the column choice; absent: no column chooser. */
  storageKey?: string;
  /** Dims the rows while a new page loads; shows placeholder rows when there is no data yet. */
  loading: boolean;
  /** Shown instead of rows when data is empty and nothing is loading. */
  empty: ReactNode;
  rowClassName?: (row: T) => string;
  /** Row to give focus (after its details close); a new object each time, so the same row can be asked twice. */
  focusRow?: { id: string };
  /** Rendered at the left of the grid's own toolbar (the column chooser sits at the right). */
  toolbar?: ReactNode;
  /** Extra attributes of a row's <tr> (data-* for tests and styles, aria-expanded). */
  rowAttributes?: (row: T) => Record<string, string | boolean | undefined>;
  /** data-testid of the rows; "grid-row" unless a page names its own. */
  rowTestId?: string;
}

const PLACEHOLDER_ROWS = 8;
const SELECT = '__select';
const ACTIONS = '__actions';

interface Saved {
  visibility: VisibilityState;
  order: ColumnOrderState;
}

function loadSaved(key: string | undefined): Saved | undefined {
  if (!key || typeof window === 'undefined') return undefined;
  try {
    const raw = window.localStorage.getItem(`ctc.grid.${key}`);
    const parsed: unknown = raw ? JSON.parse(raw) : undefined;
    if (!parsed || typeof parsed !== 'object') return undefined;
    const { visibility, order } = parsed as Partial<Saved>;
    return {
      visibility: visibility && typeof visibility === 'object' ? Object.fromEntries(Object.entries(visibility).filter(([, v]) => typeof v === 'boolean')) : {},
      order: Array.isArray(order) ? order.filter((id): id is string => typeof id === 'string') : [],
    };
  } catch {
    // A private window without storage, or a value another version wrote: start from the defaults.
    return undefined;
  }
}

export const columnLabel = <T,>(column: Column<T>): string => {
  const header = column.columnDef.header;
  return column.columnDef.meta?.label ?? (typeof header === 'string' ? header : column.id);
};

export function DataGrid<T>(props: DataGridProps<T>) {
  const { label, data, columns, getRowId, rowLabel, sorting, onSortingChange, rowSelection, onRowSelectionChange, onRowOpen, rowActions, storageKey, loading, empty, rowClassName } = props;
  const selectable = rowSelection !== undefined && onRowSelectionChange !== undefined;
  const defaults = useMemo<VisibilityState>(() => Object.fromEntries(columns.filter((c) => c.meta?.hiddenByDefault).map((c) => [c.id ?? '', false])), [columns]);
  const [columnSizing, setColumnSizing] = useState<ColumnSizingState>({});
  const [chosen, setChosen] = useState<Saved>({ visibility: {}, order: [] });
  const [menu, setMenu] = useState<{ anchor: HTMLElement; dx: number; dy: number; row: T } | null>(null);
  const [anchor, setAnchor] = useState<string | null>(null);
  const [active, setActive] = useState<string | null>(null);
  const body = useRef<HTMLTableSectionElement>(null);

  // The browser's choice is read after the first render: the server renders the defaults.
  useEffect(() => {
    const saved = loadSaved(storageKey);
    // localStorage exists only after hydration.
    if (saved) setChosen(saved);
  }, [storageKey]);
  const choose = (next: Saved) => {
    setChosen(next);
    if (storageKey) {
      try {
        window.localStorage.setItem(`ctc.grid.${storageKey}`, JSON.stringify(next));
      } catch {
        // Storage full or forbidden: the choice lasts for this page only.
      }
    }
  };

  // The cells reach the latest handlers through a ref: the column definitions stay the same objects from render
  // to render, so React keeps the cells' elements (a focused "⋯" button survives a re-render).
  const handlers = useRef({ toggleRow, openMenu });
  useLayoutEffect(() => {
    handlers.current = { toggleRow, openMenu };
  });
  const hasActions = rowActions !== undefined;
  const allColumns = useMemo<ColumnDef<T>[]>(() => {
    const out: ColumnDef<T>[] = [];
    if (selectable) {
      out.push({
        id: SELECT,
        size: 36,
        enableSorting: false,
        enableResizing: false,
        enableHiding: false,
        meta: { label: 'Select' },
        header: ({ table }) => (
          <input
            type="checkbox"
            aria-label="Select all rows on this page"
            data-testid="select-page"
            checked={table.getIsAllPageRowsSelected()}
            ref={(el) => {
              if (el) el.indeterminate = table.getIsSomePageRowsSelected();
            }}
            onChange={table.getToggleAllPageRowsSelectedHandler()}
          />
        ),
        cell: ({ row }) => (
          <input
            type="checkbox"
            tabIndex={-1}
            aria-label={`Select ${rowLabel(row.original)}`}
            checked={row.getIsSelected()}
            readOnly
            onClick={(event) => {
              event.stopPropagation();
              handlers.current.toggleRow(row.original, row.id, { shiftKey: event.shiftKey, ctrlKey: true, metaKey: false });
            }}
            data-checkbox
          />
        ),
      });
    }
    out.push(...columns);
    if (hasActions) {
      out.push({
        id: ACTIONS,
        size: 44,
        enableSorting: false,
        enableResizing: false,
        enableHiding: false,
        meta: { label: 'Actions' },
        header: () => <span className="sr-only">Actions</span>,
        cell: ({ row }) => (
          <button
            type="button"
            tabIndex={-1}
            aria-haspopup="menu"
            aria-label={`Actions for ${rowLabel(row.original)}`}
            data-testid="row-actions"
            className="rounded px-2 leading-5 text-slate-700 hover:bg-slate-200"
            onClick={(event) => {
              event.stopPropagation();
              const box = event.currentTarget.getBoundingClientRect();
              const tr = event.currentTarget.closest('tr');
              if (tr) handlers.current.openMenu(row.original, row.id, tr, box.right - 288, box.bottom);
            }}
          >
            ⋯
          </button>
        ),
      });
    }
    return out;
  }, [columns, selectable, hasActions, rowLabel]);

  const columnVisibility = useMemo(() => ({ ...defaults, ...chosen.visibility }), [defaults, chosen.visibility]);
  // The chosen order, then any column the choice does not know (added since), in their declared order; the
  // select column always first, the actions column always last.
  const columnOrder = useMemo<ColumnOrderState>(() => {
    const declared = columns.map((c) => c.id ?? '');
    const known = chosen.order.filter((id) => declared.includes(id));
    return [SELECT, ...known, ...declared.filter((id) => !known.includes(id)), ACTIONS];
  }, [columns, chosen.order]);
  // TanStack Table keeps mutable state the React compiler cannot see through; this component is not compiled.
  // eslint-disable-next-line react-hooks/incompatible-library
  const table = useReactTable({
    data,
    columns: allColumns,
    getRowId: (row) => getRowId(row),
    getCoreRowModel: getCoreRowModel(),
    manualSorting: true,
    manualPagination: true,
    enableRowSelection: selectable,
    state: { columnSizing, sorting, rowSelection: rowSelection ?? {}, columnVisibility, columnOrder },
    onColumnSizingChange: setColumnSizing,
    onSortingChange: (updater) => onSortingChange(typeof updater === 'function' ? updater(sorting) : updater),
    onRowSelectionChange: (updater) => onRowSelectionChange?.({ next: typeof updater === 'function' ? updater(rowSelection ?? {}) : updater }),
    onColumnVisibilityChange: (updater) => choose({ ...chosen, visibility: typeof updater === 'function' ? updater(columnVisibility) : updater }),
    columnResizeMode: 'onChange',
    enableColumnResizing: true,
  });
  const rows = table.getRowModel().rows;
  const showPlaceholders = loading && data.length === 0;

  function toggleRow(original: T, id: string, event: Pick<MouseEvent, 'shiftKey' | 'ctrlKey' | 'metaKey'>) {
    if (!selectable) return;
    const current = rowSelection ?? {};
    if (event.shiftKey && anchor !== null) {
      const ids = rows.map((r) => r.id);
      const [a, b] = [ids.indexOf(anchor), ids.indexOf(id)];
      if (a >= 0 && b >= 0) {
        const range = ids.slice(Math.min(a, b), Math.max(a, b) + 1);
        const base = event.ctrlKey || event.metaKey ? { ...current } : {};
        onRowSelectionChange({ next: { ...base, ...Object.fromEntries(range.map((r) => [r, true])) }, row: original });
        return;
      }
    }
    setAnchor(id);
    if (event.ctrlKey || event.metaKey) {
      const next = { ...current };
      if (next[id]) delete next[id];
      else next[id] = true;
      onRowSelectionChange({ next, row: original });
      return;
    }
    onRowSelectionChange({ next: { [id]: true }, row: original });
  }

  /** Opens the row's menu at (x, y) in the viewport, kept relative to the row's element. */
  function openMenu(original: T, id: string, tr: HTMLElement, x: number, y: number) {
    if (!rowActions) return;
    const box = tr.getBoundingClientRect();
    setActive(id);
    // The menu acts on the selection when the row is part of it, else on this row alone.
    if (selectable && !rowSelection?.[id]) toggleRow(original, id, { shiftKey: false, ctrlKey: false, metaKey: false });
    setMenu({ anchor: tr, dx: x - box.left, dy: y - box.top, row: original });
  }

  const focusRow = (id: string) => body.current?.querySelector<HTMLElement>(`tr[data-row-id="${CSS.escape(id)}"]`)?.focus();
  const { focusRow: wanted } = props;
  useEffect(() => {
    if (!wanted) return;
    // The page names the row (its details closed): it becomes the grid's tab stop and has the focus.
    setActive(wanted.id);
    focusRow(wanted.id);
  }, [wanted]);

  const rowKeys = (event: KeyboardEvent<HTMLTableRowElement>, index: number, original: T, id: string) => {
    if (event.target !== event.currentTarget) return;
    const move = (to: number) => {
      const target = rows[Math.max(0, Math.min(rows.length - 1, to))];
      if (!target) return;
      event.preventDefault();
      setActive(target.id);
      focusRow(target.id);
      if (event.shiftKey) toggleRow(target.original, target.id, { shiftKey: true, ctrlKey: false, metaKey: false });
    };
    if (event.key === 'ArrowDown') move(index + 1);
    else if (event.key === 'ArrowUp') move(index - 1);
    else if (event.key === 'Home') move(0);
    else if (event.key === 'End') move(rows.length - 1);
    else if (event.key === ' ') {
      event.preventDefault();
      toggleRow(original, id, { shiftKey: false, ctrlKey: true, metaKey: false });
    } else if (event.key === 'Enter' && onRowOpen) {
      event.preventDefault();
      onRowOpen(original);
    } else if (event.key === 'ContextMenu' || (event.key === 'F10' && event.shiftKey)) {
      event.preventDefault();
      const box = event.currentTarget.getBoundingClientRect();
      openMenu(original, id, event.currentTarget, box.left + 24, box.top + Math.min(box.height, 32));
    }
  };
  const tabStop = active !== null && rows.some((r) => r.id === active) ? active : rows[0]?.id;

  const canSort = (column: Column<T>) => column.columnDef.enableSorting !== false;
  // Sorting is the server's: a click cycles first direction -> other direction -> unsorted.
  const toggleSort = (column: Column<T>) => {
    const current = sorting.find((s) => s.id === column.id);
    const descFirst = column.columnDef.sortDescFirst ?? false;
    if (!current) onSortingChange([{ id: column.id, desc: descFirst }]);
    else if (current.desc === descFirst) onSortingChange([{ id: column.id, desc: !descFirst }]);
    else onSortingChange([]);
  };

  const chooserColumns = table.getAllLeafColumns().filter((c) => c.getCanHide());
  return (
    <div className="data-grid space-y-2">
      {(props.toolbar || storageKey) && (
        <div className="flex flex-wrap items-center gap-2">
          <div className="min-w-0 flex-1">{props.toolbar}</div>
          {storageKey && (
            <ColumnChooser
              columns={chooserColumns.map((c) => ({ id: c.id, label: columnLabel(c), visible: c.getIsVisible() }))}
              onChange={(visibility, order) => choose({ visibility, order })}
              onReset={() => choose({ visibility: {}, order: [] })}
            />
          )}
        </div>
      )}
      <div className="relative max-h-[calc(100dvh-3rem)] overflow-auto rounded-md border border-slate-200 bg-white" data-testid="grid">
        <table aria-label={label} aria-busy={loading} className="table-fixed border-collapse text-sm" style={{ width: table.getTotalSize(), minWidth: '100%' }}>
          <thead className="sticky top-0 z-10 bg-slate-100 text-left text-xs font-semibold text-slate-700">
            {table.getHeaderGroups().map((group) => (
              <tr key={group.id}>
                {group.headers.map((header) => {
                  const sort = sorting.find((s) => s.id === header.column.id);
                  const sorted = sort ? (sort.desc ? 'desc' : 'asc') : false;
                  const title = header.isPlaceholder ? null : flexRender(header.column.columnDef.header, header.getContext());
                  return (
                    <th
                      key={header.id}
                      scope="col"
                      style={{ width: header.getSize() }}
                      aria-sort={sorted === 'asc' ? 'ascending' : sorted === 'desc' ? 'descending' : undefined}
                      data-column={header.column.id}
                      className="relative border-b border-slate-200 px-2 py-2 whitespace-nowrap select-none"
                    >
                      {canSort(header.column) ? (
                        <button type="button" onClick={() => toggleSort(header.column)} className="flex w-full items-center gap-1 text-left hover:text-slate-900" data-testid={`sort-${header.column.id}`}>
                          <span className="truncate">{title}</span>
                          <span aria-hidden className="text-slate-500">
                            {sorted === 'asc' ? '▲' : sorted === 'desc' ? '▼' : '↕'}
                          </span>
                        </button>
                      ) : (
                        <span className="block truncate">{title}</span>
                      )}
                      {header.column.getCanResize() && (
                        <span
                          aria-hidden
                          onMouseDown={header.getResizeHandler()}
                          onTouchStart={header.getResizeHandler()}
                          onDoubleClick={() => header.column.resetSize()}
                          className={`grid-resizer absolute top-0 right-0 h-full w-1.5 cursor-col-resize hover:bg-sky-300 ${header.column.getIsResizing() ? 'bg-sky-500' : ''}`}
                        />
                      )}
                    </th>
                  );
                })}
              </tr>
            ))}
          </thead>
          <tbody ref={body} className={loading && !showPlaceholders ? 'opacity-50 transition-opacity' : undefined}>
            {showPlaceholders &&
              Array.from({ length: PLACEHOLDER_ROWS }, (_, i) => (
                <tr key={i} data-testid="placeholder-row" className="border-b border-slate-100">
                  {table.getVisibleLeafColumns().map((column) => (
                    <td key={column.id} className="px-2 py-2">
                      <div className="h-3 animate-pulse rounded bg-slate-200" />
                    </td>
                  ))}
                </tr>
              ))}
            {!showPlaceholders && rows.length === 0 && !loading && (
              <tr>
                <td colSpan={table.getVisibleLeafColumns().length} className="px-4 py-10">
                  {empty}
                </td>
              </tr>
            )}
            {rows.map((row, index) => {
              const isSelected = row.getIsSelected();
              return (
                <tr
                  key={row.id}
                  {...props.rowAttributes?.(row.original)}
                  data-testid={props.rowTestId ?? 'grid-row'}
                  data-row-id={row.id}
                  data-selected={isSelected || undefined}
                  tabIndex={row.id === tabStop ? 0 : -1}
                  aria-label={`${rowLabel(row.original)}${isSelected ? ', selected' : ''}`}
                  onFocus={() => setActive(row.id)}
                  onKeyDown={(event) => rowKeys(event, index, row.original, row.id)}
                  onClick={(event) => toggleRow(row.original, row.id, event)}
                  onDoubleClick={() => onRowOpen?.(row.original)}
                  onContextMenu={(event) => {
                    if (!rowActions) return;
                    event.preventDefault();
                    openMenu(row.original, row.id, event.currentTarget, event.clientX, event.clientY);
                  }}
                  className={`cursor-default border-b border-slate-100 ${isSelected ? 'bg-sky-100 hover:bg-sky-200' : 'hover:bg-slate-50'} ${rowClassName?.(row.original) ?? ''}`}
                >
                  {row.getVisibleCells().map((cell) => (
                    <td
                      key={cell.id}
                      style={{ width: cell.column.getSize() }}
                      data-label={cell.column.id === SELECT || cell.column.id === ACTIONS ? undefined : columnLabel(cell.column)}
                      data-column={cell.column.id}
                      className="overflow-hidden px-2 py-1.5 align-top text-ellipsis whitespace-nowrap"
                    >
                      {flexRender(cell.column.columnDef.cell, cell.getContext())}
                    </td>
                  ))}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {menu && rowActions && <RowMenu anchor={menu.anchor} dx={menu.dx} dy={menu.dy} label={`Actions for ${rowLabel(menu.row)}`} items={rowActions(menu.row)} onClose={() => setMenu(null)} />}
    </div>
  );
}
