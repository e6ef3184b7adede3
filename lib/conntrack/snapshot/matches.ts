// A filter on one Connection (history's intents and live changes): the one evaluator over a one-row table, so a
// connection matches exactly when the same entry in a snapshot would.
import type { Filter } from '../filter';
import type { Connection } from '../types';
import { SnapshotBuilder } from './builder';
import { evaluate } from './match';

let scratch: SnapshotBuilder | undefined;
const one = new Uint8Array(1);

/** Whether a connection satisfies every condition of the filter. */
export function matches(filter: Filter, connection: Connection): boolean {
  scratch ??= new SnapshotBuilder(16);
  scratch.clear();
  scratch.addConnection(connection);
  return evaluate(scratch, filter, 0, 1, one) === 1;
}
