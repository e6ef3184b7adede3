// Run by tests/unit/codec/builder-shape.test.ts under node --trace-deopt --expose-gc: fills a snapshot builder until
// its decoder is optimised, lets the builder die, collects, and fills a second one, as two refreshes with a full
// collection between them would. V8 prints "reason: weak objects" for optimised code whose shapes died.
import { SnapshotBuilder } from '@/lib/conntrack/snapshot';
import { attrsOf, connectionFixtures } from '../unit/codec/fixtures';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const entries = connectionFixtures().map((f) => ({ bytes: attrsOf(f), family: f.family }));

function refresh(rows: number): number {
  const builder = new SnapshotBuilder(16);
  for (let i = 0; i < rows; i++) {
    const e = entries[i % entries.length];
    builder.add(e.bytes, 0, e.bytes.length, e.family);
  }
  return builder.finish({ takenAt: new Date(), tookMs: 0 }).size;
}

const rows = Number(process.argv[2] ?? 100_000);
refresh(rows);
gc();
refresh(rows);
gc();
console.log('done');
