// The history at scale, in three phases (JSON of all in bench-results/):
// - queries: seeds a history of --rows (default 5,000,000) ended connections and prints p50/p95 (wall and CPU) of a
//   page of 100 newest first plus its count, for each kind of query (scripts/bench-history-queries.ts); then the same
//   after --churn-rows (100,000) newer rows of churn traffic, which broad filters do not match.
// - churn: a generator process inserts and deletes conntrack entries (our own Conntrack.create and a filtered flush by
//   mark) in a fresh namespace at a steady rate, while this process runs the recorder alone, writing into the seeded
//   table (every index in place) with the row limit at --rows (so at 5,000,000 the retention deletes the oldest as
//   in a full history), so process.cpuUsage() here is the recorder's cost (event decoding, cause, batching, and the
//   writer thread's SQLite). Per receive-buffer size: created / ended per second achieved, events received, rows
//   recorded, events lost (the socket's exact drop count), recorder CPU (% of one core: the process, both threads),
//   and the main thread's event-loop delay (p99, max): what keeps the event socket unread.
// - reconcile: --open (default 1,000,000) entries open before the recorder starts; the CPU of its start dump and of
//   each reconciliation dump, as a share of one core at CONNTRACK_HISTORY_RECONCILE_SECONDS (default 60), and as a
//   ratio to a plain snapshot of the same table (the pass's floor: it reads one).
//
//   npm run bench:history [-- --phases queries,churn,reconcile --rows 5000000 --samples 40 --rate 5000 --seconds 20
//                            --buffers 33554432,8388608 --open 1000000 --dir /var/tmp/history-bench]
//
// --dir keeps the seeded database between runs (seeding 5M rows takes minutes); without it a temporary one is used.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Conntrack, parseFilter, type Connection } from '../lib/conntrack';
import { eventSocketDrops } from '../lib/conntrack/event-support';
import { HISTORY_DEFAULTS, HistoryRecorder, HistoryStore } from '../lib/history';
import { createNamespace } from '../lib/lab';
import { withSeededNamespace } from '../lib/lab/seeder';
import { openStore, type Store } from '../lib/store';
import { parseOptions, runCli, UsageError, wholeNumber } from './args';
import { seedHistory, timeQueries, timeQueriesAfterChurn } from './bench-history-queries';

const TICK_MS = 100;
/** Each batch lives this many ticks before its flush. */
const LIFETIME_TICKS = 10;

interface GeneratorReport {
  created: number;
  ended: number;
  seconds: number;
  /** How long the creations and the deletions each took: `seconds` of ticks, or more when ticks ran late. */
  createSeconds: number;
  endSeconds: number;
  lateTicks: number;
}

const USAGE = 'npm run bench:history [-- --phases queries,churn,reconcile --rows 5000000 --samples 40 --churn-rows 100000 --rate 5000 --seconds 20 --buffers 33554432,8388608 --open 1000000 --rounds 3 --dir DIR]';
const PHASES = ['queries', 'churn', 'reconcile'];

function options(argv: readonly string[]) {
  const values = parseOptions(argv, {
    phases: { type: 'string', default: PHASES.join(',') },
    rows: { type: 'string', default: '5000000' },
    samples: { type: 'string', default: '40' },
    // Queries again after this many newer rows of churn traffic (bench-history-queries.ts), then those rows go.
    'churn-rows': { type: 'string', default: '100000' },
    rate: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '20' },
    buffers: { type: 'string', default: String(HISTORY_DEFAULTS.receiveBufferBytes) },
    open: { type: 'string', default: '1000000' },
    rounds: { type: 'string', default: '3' },
    dir: { type: 'string' },
    // Internal: the generator child, given the namespace to churn.
    generate: { type: 'string' },
  });
  const phases = new Set(values.phases.split(','));
  const unknown = [...phases].filter((phase) => !PHASES.includes(phase));
  if (unknown.length) throw new UsageError(`--phases needs phases among ${PHASES.join(',')} (got ${values.phases})`);
  return {
    phases,
    rows: wholeNumber('rows', values.rows),
    samples: wholeNumber('samples', values.samples),
    churnRows: wholeNumber('churn-rows', values['churn-rows'], 0),
    rate: wholeNumber('rate', values.rate),
    seconds: wholeNumber('seconds', values.seconds),
    buffers: values.buffers.split(',').map((text) => wholeNumber('buffers', text, 1024)),
    open: wholeNumber('open', values.open),
    rounds: wholeNumber('rounds', values.rounds),
    dir: values.dir,
    generate: values.generate,
  };
}

function entry(tick: number, i: number): Connection {
  const src = `10.${(tick >> 8) & 255}.${tick & 255}.${1 + (i >> 8)}`;
  const sport = 1024 + (i & 255);
  return {
    family: 'ipv4',
    original: { src, dst: '198.18.0.1', protocol: 17, sport, dport: 53 },
    reply: { src: '198.18.0.1', dst: src, protocol: 17, sport: 53, dport: sport },
    status: 0,
    zone: 0,
    timeout: 600,
    mark: tick + 1,
  };
}

/** The child: `rate` creations and `rate` deletions per second for `seconds`, batch by batch. */
async function generate(netns: string, rate: number, seconds: number): Promise<void> {
  const ct = new Conntrack({ netns });
  const perTick = Math.round((rate * TICK_MS) / 1000);
  const ticks = Math.round((seconds * 1000) / TICK_MS);
  const report: GeneratorReport = { created: 0, ended: 0, seconds: 0, createSeconds: 0, endSeconds: 0, lateTicks: 0 };
  const started = performance.now();
  // Each phase lasts `ticks` ticks (the deletions start LIFETIME_TICKS later), or until its last batch is done.
  const phase = (from: number) => Math.max(ticks * TICK_MS, performance.now() - from) / 1000;
  for (let tick = 0; tick < ticks + LIFETIME_TICKS; tick++) {
    const due = started + tick * TICK_MS;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    else if (wait < -TICK_MS) report.lateTicks++;
    if (tick < ticks) {
      const errors = await ct.create(Array.from({ length: perTick }, (_v, i) => entry(tick, i)));
      report.created += errors.filter((e) => e === 0).length;
      if (tick === ticks - 1) report.createSeconds = phase(started);
    }
    const old = tick - LIFETIME_TICKS;
    if (old >= 0) report.ended += (await ct.deleteMatching(parseFilter({ mark: String(old + 1) }), { method: 'kernel-flush' })).deleted;
    if (old === ticks - 1) report.endSeconds = phase(started + LIFETIME_TICKS * TICK_MS);
  }
  report.seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

function runGenerator(netns: string, rate: number, seconds: number): Promise<GeneratorReport> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', __filename, '--generate', netns, '--rate', String(rate), '--seconds', String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolveRun(JSON.parse(out) as GeneratorReport) : reject(new Error(`generator exited ${String(code)}`))));
  });
}

async function measure(db: Store, rate: number, seconds: number, receiveBufferBytes: number, maxRows: number) {
  const namespace = await createNamespace({ role: 'benchhist', sysctls: { 'net.netfilter.nf_conntrack_acct': '1', 'net.netfilter.nf_conntrack_timestamp': '1' } });
  try {
    const store = new HistoryStore(db, { maxRows, retentionDays: 0 });
    const rowsBefore = store.size;
    // No age limit (the seeded week stays); the row limit at the seeded size, as in a full history.
    const recorder = new HistoryRecorder({ netns: namespace.name, store, config: { ...HISTORY_DEFAULTS, receiveBufferBytes, retentionDays: 0, maxRows }, log: () => undefined });
    await recorder.start();
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const cpu = process.cpuUsage();
    const wallStart = performance.now();
    // The rows waiting for the writer at most: beyond MAX_UNWRITTEN the oldest would be dropped (counted).
    let pendingMax = 0;
    const watch = setInterval(() => (pendingMax = Math.max(pendingMax, recorder.status().pending)), 100);
    const generated = await runGenerator(namespace.name, rate, seconds);
    const generatorSeconds = (performance.now() - wallStart) / 1000;
    // Let the last events in, then write what is buffered.
    const until = Date.now() + 10_000;
    while (recorder.status().received < generated.created + generated.ended && Date.now() < until && !recorder.status().overflows) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1000));
    await recorder.flushed();
    loop.disable();
    clearInterval(watch);
    const used = process.cpuUsage(cpu);
    const wall = (performance.now() - wallStart) / 1000;
    const status = recorder.status();
    const lost = eventSocketDrops(namespace.name);
    recorder.stop();
    return {
      receiveBufferBytes,
      grantedBufferBytes: status.receiveBufferBytes,
      targetPerSecond: rate,
      // Over each phase (the deletions run LIFETIME_TICKS behind the creations), not the whole run.
      createdPerSecond: Math.round(generated.created / generated.createSeconds),
      endedPerSecond: Math.round(generated.ended / generated.endSeconds),
      created: generated.created,
      ended: generated.ended,
      lateTicks: generated.lateTicks,
      eventsReceived: status.received,
      rowsRecorded: status.recorded,
      rowsInTable: store.size,
      rowsPruned: rowsBefore + status.recorded - store.size,
      pendingMax,
      droppedRows: status.droppedRows,
      // How long the writer needed after the generator stopped to have every row in the table.
      writerBehindSeconds: Math.round((wall - generatorSeconds) * 10) / 10,
      overflows: status.overflows,
      eventsLost: lost,
      recorderCpuPercentOfOneCore: Math.round(((used.user + used.system) / 1e6 / wall) * 1000) / 10,
      recorderCpuSeconds: Math.round(((used.user + used.system) / 1e6) * 100) / 100,
      wallSeconds: Math.round(wall * 10) / 10,
      eventLoopDelayP99Ms: Math.round(loop.percentile(99) / 1e4) / 100,
      eventLoopDelayMaxMs: Math.round(loop.max / 1e4) / 100,
      rssMiB: Math.round(process.memoryUsage().rss / 1024 / 1024),
      // The machine's 1-minute load at the end: the generator and the recorder share it with everything else.
      loadAverage: Math.round(loadavg()[0] * 10) / 10,
    };
  } finally {
    await namespace.destroy();
  }
}

/** The mean CPU seconds of this process over `rounds` runs of `run`. */
async function meanCpuSeconds(rounds: number, run: () => Promise<unknown>): Promise<number> {
  let total = 0;
  for (let i = 0; i < rounds; i++) {
    const cpu = process.cpuUsage();
    await run();
    const used = process.cpuUsage(cpu);
    total += (used.user + used.system) / 1e6;
  }
  return total / rounds;
}

/** The recorder with `open` entries already in the table: CPU of the start dump and of each reconciliation dump. */
async function reconcileCost(open: number, rounds: number) {
  return withSeededNamespace({ count: open, role: 'benchrec' }, async (namespace) => {
    const dir = mkdtempSync(join(tmpdir(), 'ctc-bench-reconcile-'));
    const db = openStore(dir);
    try {
      const config = { ...HISTORY_DEFAULTS };
      const recorder = new HistoryRecorder({ netns: namespace.name, store: new HistoryStore(db), config, log: () => undefined });
      const rssBefore = process.memoryUsage().rss;
      const cpu = process.cpuUsage();
      const wall = performance.now();
      await recorder.start();
      const startCpu = process.cpuUsage(cpu);
      const startWall = performance.now() - wall;
      const watched = recorder.status().openWatched;
      const rss = process.memoryUsage().rss - rssBefore;
      const mean = await meanCpuSeconds(rounds, () => recorder.reconcileNow());
      recorder.stop();
      // The floor of a pass: the columnar snapshot it reads (the one a console refresh takes too).
      const conntrack = new Conntrack({ netns: namespace.name });
      const snapshotMean = await meanCpuSeconds(rounds, () => conntrack.snapshot());
      return {
        openEntries: watched,
        startDumpCpuSeconds: Math.round(((startCpu.user + startCpu.system) / 1e6) * 100) / 100,
        startDumpWallSeconds: Math.round(startWall / 10) / 100,
        openEntriesMemoryMiB: Math.round(rss / 1024 / 1024),
        reconcileCpuSecondsPerDump: Math.round(mean * 100) / 100,
        snapshotCpuSecondsPerDump: Math.round(snapshotMean * 100) / 100,
        passOverSnapshot: Math.round((mean / snapshotMean) * 100) / 100,
        reconcileSeconds: config.reconcileSeconds,
        cpuShareOfOneCorePercent: Math.round((mean / config.reconcileSeconds) * 1000) / 10,
      };
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

async function main(): Promise<void> {
  const args = options(process.argv.slice(2));
  if (args.generate) {
    await generate(args.generate, args.rate, args.seconds);
    return;
  }
  const { phases, rows } = args;
  const dir = args.dir ?? mkdtempSync(join(tmpdir(), 'ctc-bench-history-'));
  const seeded = existsSync(join(dir, 'console.db'));
  const db = openStore(dir);
  const report: Record<string, unknown> = { machine: { cpus: cpus().length, model: cpus()[0]?.model, kernel: release() } };
  try {
    if (phases.has('queries')) {
      const store = new HistoryStore(db, { maxRows: rows });
      const now = Date.now();
      // A full history kept by the retention (a churn phase ran on it) holds at least the cap less one partition.
      if (!seeded || store.size < rows - store.partitioning.rows) {
        store.clear();
        const { seconds } = seedHistory(store, rows, now);
        console.log(`seeded ${rows.toLocaleString('en-US')} rows in ${seconds.toFixed(0)} s`);
        writeFileSync(join(dir, 'seeded-at'), String(now));
      }
      const seededAt = existsSync(join(dir, 'seeded-at')) ? Number(readFileSync(join(dir, 'seeded-at'), 'utf8')) : now;
      const timings = timeQueries(store, rows, args.samples, seededAt);
      console.log(`queries on ${store.size.toLocaleString('en-US')} rows (a page of 100 and its count; CPU time is this process's, the machine may be busy):`);
      console.table(timings);
      report.queries = { rows: store.size, timings };
      if (args.churnRows > 0) {
        const after = timeQueriesAfterChurn(store, rows, args.samples, seededAt, args.churnRows);
        console.log(`the same after ${args.churnRows.toLocaleString('en-US')} newer rows of churn traffic (which broad filters do not match):`);
        console.table(after);
        report.queriesAfterChurn = { churnRows: args.churnRows, timings: after };
      }
    }
    if (phases.has('churn')) {
      const results = [];
      for (const buffer of args.buffers) {
        const result = await measure(db, args.rate, args.seconds, buffer, rows);
        console.log(JSON.stringify(result));
        results.push(result);
      }
      report.churn = { rate: args.rate, seconds: args.seconds, results };
    }
    if (phases.has('reconcile')) {
      const result = await reconcileCost(args.open, args.rounds);
      console.log(JSON.stringify(result));
      report.reconcile = result;
    }
  } finally {
    db.close();
    if (!args.dir) rmSync(dir, { recursive: true, force: true });
  }
  const out = resolve(__dirname, '../bench-results');
  mkdirSync(out, { recursive: true });
  const file = join(out, `bench-history-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`written to ${file}`);
}

runCli(USAGE, main);
