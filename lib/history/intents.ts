// Deletions this console is about to ask the kernel for, so the recorder can tell them apart from any other end:
// lib/console registers the ids (or the filter of a flush) before the kernel call and marks it done after; the
// recorder asks when the DESTROY arrives. Process-wide on globalThis: Next bundles routes and instrumentation apart.
import { matches, type Connection, type Filter } from '@/lib/conntrack';
import { processValue } from '@/lib/process';

/** DESTROY events may trail the kernel's answer; a finished request still claims its entries this long. */
const GRACE_MS = 10_000;
/** An id registered for a delete that never happened is forgotten after this. */
const ID_TTL_MS = 60_000;

/** Who asked this console for a deletion, and how: what the history row of the ended entry says. */
export interface DeletionClaim {
  cause: 'admin' | 'flush';
  /** The console user (or API token) that asked. */
  user?: string;
}

interface FilterIntent extends DeletionClaim {
  filter: Filter;
  /** When the kernel call returned; undefined while it runs. */
  doneAt?: number;
}

class DeletionIntents {
  private readonly ids = new Map<number, { until: number; user?: string }>();
  private readonly filters = new Set<FilterIntent>();

  /** Ids about to be deleted by an administrator. */
  expectIds(ids: Iterable<number | undefined>, user?: string): void {
    const intent = { until: Date.now() + ID_TTL_MS, user };
    for (const id of ids) if (id !== undefined) this.ids.set(id, intent);
    if (this.ids.size > 200_000) this.prune();
  }

  /** A delete by filter (admin) or a flush (filter with at most a family) about to run; call the result when it returned. */
  expectMatching(filter: Filter, cause: 'admin' | 'flush', user?: string): () => void {
    const intent: FilterIntent = { filter, cause, user };
    this.filters.add(intent);
    return () => {
      intent.doneAt = Date.now();
    };
  }

  /** Whether this console asked for the end of this entry, and how. */
  claim(connection: Connection): DeletionClaim | undefined {
    // A deleted entry reports the time it had left; one that expired meanwhile was not ended by us.
    const early = connection.timeout !== undefined && connection.timeout > 0;
    const now = Date.now();
    if (connection.id !== undefined) {
      const intent = this.ids.get(connection.id);
      if (intent !== undefined) {
        this.ids.delete(connection.id);
        if (intent.until >= now && early) return { cause: 'admin', user: intent.user };
      }
    }
    if (!early) return undefined;
    for (const intent of this.filters) {
      if (intent.doneAt !== undefined && now - intent.doneAt > GRACE_MS) {
        this.filters.delete(intent);
        continue;
      }
      if (matches(intent.filter, connection)) return { cause: intent.cause, user: intent.user };
    }
    return undefined;
  }

  private prune(): void {
    const now = Date.now();
    for (const [id, intent] of this.ids) if (intent.until < now) this.ids.delete(id);
  }
}

export function deletionIntents(): DeletionIntents {
  return processValue('history.intents', () => new DeletionIntents());
}
