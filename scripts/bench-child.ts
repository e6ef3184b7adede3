// One measured snapshot in a fresh process, for scripts/bench.ts: the parent times the process from spawn to the
// first line (start-up included); the line says what only the process itself can see:
// the snapshot's own time, entries, bytes, peak RSS (VmHWM) and the longest event-loop stall; then the same for a
// first snapshot's first free-text query and a second snapshot in the same process.
//
//   tsx scripts/bench-child.ts NETNS [FILTER_JSON]
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Conntrack, parseFilter, type Snapshot } from '../lib/conntrack';

export interface ChildReport {
  /** The operation alone, inside this process. */
  ms: number;
  entries: number;
  byteSize: number;
  /** Peak resident set (VmHWM) before the operation (runtime + tsx + our modules) and at the end, in bytes. */
  rssBaseline: number;
  rssPeak: number;
  /** Longest event-loop delay during the operation: perf_hooks histogram (1 ms resolution) and a 1 ms timer's drift. */
  stallMs: number;
  timerDriftMs: number;
}

/** The second line: a second snapshot in the same process, its time and longest stall. */
export interface WarmReport {
  warmMs: number;
  warmStallMs: number;
  /** The first snapshot's first free-text query ("443": every row searched), its longest stall, and VmHWM after it. */
  textMs: number;
  textStallMs: number;
  rssWithText: number;
}

function vmHwm(): number {
  const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) * 1024 : NaN;
}

/** Runs take() with an event-loop delay histogram and a 1 ms timer probe watching. */
async function measured(take: () => Promise<Snapshot>): Promise<{ snapshot: Snapshot; ms: number; stallMs: number; timerDriftMs: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  let last = performance.now();
  let drift = 0;
  const probe = setInterval(() => {
    const now = performance.now();
    drift = Math.max(drift, now - last - 1);
    last = now;
  }, 1);
  histogram.enable();
  const started = performance.now();
  const snapshot = await take();
  const ms = performance.now() - started;
  histogram.disable();
  clearInterval(probe);
  return { snapshot, ms, stallMs: histogram.max / 1e6, timerDriftMs: drift };
}

async function main(): Promise<void> {
  const [netns, filterJson] = process.argv.slice(2);
  if (!netns) throw new Error('usage: bench-child.ts NETNS [FILTER_JSON]');
  const ct = new Conntrack({ netns, timeoutMs: 120_000 });
  const filter = filterJson ? parseFilter(JSON.parse(filterJson)) : undefined;
  // One request first, so the stall figure is the snapshot's own, not the one-time loading of the setns addon.
  await ct.count();
  const rssBaseline = vmHwm();

  const first = await measured(() => ct.snapshot(filter));
  const report: ChildReport = {
    ms: first.ms,
    entries: first.snapshot.size,
    byteSize: first.snapshot.byteSize,
    rssBaseline,
    rssPeak: vmHwm(),
    stallMs: first.stallMs,
    timerDriftMs: first.timerDriftMs,
  };
  // The parent times the process up to this line: start-up plus one snapshot.
  process.stdout.write(`${JSON.stringify(report)}\n`);
  // Again, with the decoder compiled: the first turns of a fresh process run it unoptimised.
  // Its first free-text query, before a second snapshot exists: the peak is one snapshot and its text.
  const text = await measured(async () => {
    await first.snapshot.prepare({ text: '443' });
    first.snapshot.query({ text: '443' });
    return first.snapshot;
  });
  const rssWithText = vmHwm();
  const second = await measured(() => ct.snapshot(filter));
  const warm: WarmReport = { warmMs: second.ms, warmStallMs: second.stallMs, textMs: text.ms, textStallMs: text.stallMs, rssWithText };
  process.stdout.write(`${JSON.stringify(warm)}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
