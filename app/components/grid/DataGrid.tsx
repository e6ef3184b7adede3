'use client';
// The generic grid: server-side sorting (the grid only reports what was clicked), resizable columns,
// selection owned by the caller, and designed loading and empty states. It knows nothing of connections.
import { flexRender, getCoreRowModel, useReactTable, type Column, type ColumnDef, type ColumnSizingState, type SortingState } from '@tanstack/react-table';
import { useState, type MouseEvent, type ReactNode } from 'react';

export interface DataGridProps<T> {
  /** Accessible name of the table. */
  label: string;
  data: T[];
  columns: ColumnDef<T>[];
  getRowId: (row: T) => string;
  sorting: SortingState;
  onSortingChange: (sorting: SortingState) => void;
  selected: ReadonlySet<string>;
  onRowClick?: (row: T, index: number, event: MouseEvent<HTMLTableRowElement>) => void;
  onRowContextMenu?: (row: T, index: number, event: MouseEvent<HTMLTableRowElement>) => void;
  onRowOpen?: (row: T) => void;
  /** Dims the rows while a new page loads; shows placeholder rows when there is no data yet. */
  loading: boolean;
  /** Shown instead of rows when data is empty and nothing is loading. */
  empty: ReactNode;
  rowClassName?: (row: T) => string;
}

const PLACEHOLDER_ROWS = 8;

export function DataGrid<T>({ label, data, columns, getRowId, sorting, onSortingChange, selected, onRowClick, onRowContextMenu, onRowOpen, loading, empty, rowClassName }: DataGridProps<T>) {
  const [columnSizing, setColumnSizing] = useState<ColumnSizingState>({});
  // TanStack Table keeps mutable state the React compiler cannot see through; this component is not compiled.
  // eslint-disable-next-line react-hooks/incompatible-library
  const table = useReactTable({
    data,
    columns,
    getRowId: (row) => getRowId(row),
    getCoreRowModel: getCoreRowModel(),
    state: { columnSizing },
    onColumnSizingChange: setColumnSizing,
    columnResizeMode: 'onChange',
    enableColumnResizing: true,
  });
  const rows = table.getRowModel().rows;
  // Sorting is the server's: a click cycles first direction -> other direction -> unsorted, whatever the
  // column's cells render (TanStack only sorts columns with an accessor).
  const canSort = (column: Column<T>) => column.columnDef.enableSorting !== false;
  const toggleSort = (column: Column<T>) => {
    const current = sorting.find((s) => s.id === column.id);
    const descFirst = column.columnDef.sortDescFirst ?? false;
    if (!current) onSortingChange([{ id: column.id, desc: descFirst }]);
    else if (current.desc === descFirst) onSortingChange([{ id: column.id, desc: !descFirst }]);
    else onSortingChange([]);
  };
  const showPlaceholders = loading && data.length === 0;

  return (
    <div className="relative overflow-auto rounded-md border border-slate-200 bg-white" data-testid="grid">
      <table aria-label={label} aria-busy={loading} className="table-fixed border-collapse text-sm" style={{ width: table.getTotalSize() }}>
        <thead className="sticky top-0 z-10 bg-slate-100 text-left text-xs font-semibold text-slate-600">
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
                    className="relative select-none border-b border-slate-200 px-2 py-2 whitespace-nowrap"
                  >
                    {canSort(header.column) ? (
                      <button type="button" onClick={() => toggleSort(header.column)} className="flex w-full items-center gap-1 text-left hover:text-slate-900" data-testid={`sort-${header.column.id}`}>
                        <span className="truncate">{title}</span>
                        <span aria-hidden className="text-slate-400">
                          {sorted === 'asc' ? '▲' : sorted === 'desc' ? '▼' : '↕'}
                        </span>
                      </button>
                    ) : (
                      title
                    )}
                    {header.column.getCanResize() && (
                      <span
                        role="separator"
                        aria-orientation="vertical"
                        aria-label={`Resize column`}
                        onMouseDown={header.getResizeHandler()}
                        onTouchStart={header.getResizeHandler()}
                        onDoubleClick={() => header.column.resetSize()}
                        className={`absolute top-0 right-0 h-full w-1.5 cursor-col-resize hover:bg-sky-300 ${header.column.getIsResizing() ? 'bg-sky-500' : ''}`}
                      />
                    )}
                  </th>
                );
              })}
            </tr>
          ))}
        </thead>
        <tbody className={loading && !showPlaceholders ? 'opacity-50 transition-opacity' : undefined}>
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
            const isSelected = selected.has(row.id);
            return (
              <tr
                key={row.id}
                data-testid="grid-row"
                data-row-id={row.id}
                aria-selected={isSelected}
                onClick={(event) => onRowClick?.(row.original, index, event)}
                onDoubleClick={() => onRowOpen?.(row.original)}
                onContextMenu={(event) => onRowContextMenu?.(row.original, index, event)}
                className={`cursor-default border-b border-slate-100 ${isSelected ? 'bg-sky-100 hover:bg-sky-200' : 'hover:bg-slate-50'} ${rowClassName?.(row.original) ?? ''}`}
              >
                {row.getVisibleCells().map((cell) => (
                  <td key={cell.id} style={{ width: cell.column.getSize() }} className="overflow-hidden px-2 py-1.5 align-top text-ellipsis whitespace-nowrap">
                    {flexRender(cell.column.columnDef.cell, cell.getContext())}
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
