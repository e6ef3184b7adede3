// The name of an address, under it in a table cell (nothing when no file or resolver names it).
import type { PageNames } from '../api/types';

export function AddressName({ names, address, testId }: { names: PageNames | undefined; address: string; testId: string }) {
  const name = names?.names[address]?.name;
  if (!name) return null;
  return (
    <span className="block truncate text-xs text-slate-600" data-testid={testId} title={name}>
      {name}
    </span>
  );
}
