// The history recorder under sustained churn: a generator process inserts and deletes conntrack entries (our own
// Conntrack.create and a filtered flush by mark) in a fresh namespace at a steady rate, while this process runs the
// recorder alone, so process.cpuUsage() here is the recorder's cost (event decoding, cause, batching, SQLite).
//
//   npm run bench:history [-- --rate 5000 --seconds 20 --buffers 33554432,8388608]
//
// Reports, per receive-buffer size: connections created / ended per second achieved, events received, rows
// recorded, events lost (the socket's exact drop count), recorder CPU (% of one core). JSON in bench-results/.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Conntrack, parseFilter, type Connection } from '../lib/conntrack';
import { eventSocketDrops } from '../lib/conntrack/event-support';
import { HISTORY_DEFAULTS, HistoryRecorder, HistoryStore } from '../lib/history';
import { createNamespace } from '../lib/lab';
import { openStore } from '../lib/store';

const TICK_MS = 100;
/** Each batch lives this many ticks before its flush. */
const LIFETIME_TICKS = 10;

interface GeneratorReport {
  created: number;
  ended: number;
  seconds: number;
  lateTicks: number;
}

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '20' },
    buffers: { type: 'string', default: String(HISTORY_DEFAULTS.receiveBufferBytes) },
    // Internal: the generator child, given the namespace to churn.
    generate: { type: 'string' },
  },
  strict: true,
});

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
  const report: GeneratorReport = { created: 0, ended: 0, seconds: 0, lateTicks: 0 };
  const started = performance.now();
  for (let tick = 0; tick < ticks + LIFETIME_TICKS; tick++) {
    const due = started + tick * TICK_MS;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    else if (wait < -TICK_MS) report.lateTicks++;
    if (tick < ticks) {
      const errors = await ct.create(Array.from({ length: perTick }, (_v, i) => entry(tick, i)));
      report.created += errors.filter((e) => e === 0).length;
    }
    const old = tick - LIFETIME_TICKS;
    if (old >= 0) report.ended += (await ct.deleteMatching(parseFilter({ mark: String(old + 1) }), { method: 'kernel-flush' })).deleted;
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

async function measure(rate: number, seconds: number, receiveBufferBytes: number) {
  const namespace = await createNamespace({ role: 'benchhist', sysctls: { 'net.netfilter.nf_conntrack_acct': '1', 'net.netfilter.nf_conntrack_timestamp': '1' } });
  const dir = mkdtempSync(join(tmpdir(), 'ctc-bench-history-'));
  const db = openStore(dir);
  try {
    const store = new HistoryStore(db);
    const recorder = new HistoryRecorder({ netns: namespace.name, store, config: { ...HISTORY_DEFAULTS, receiveBufferBytes }, log: () => undefined });
    await recorder.start();
    const cpu = process.cpuUsage();
    const wallStart = performance.now();
    const generated = await runGenerator(namespace.name, rate, seconds);
    // Let the last events in, then write what is buffered.
    const until = Date.now() + 10_000;
    while (recorder.status().received < generated.created + generated.ended && Date.now() < until && !recorder.status().overflows) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1000));
    recorder.flush();
    const used = process.cpuUsage(cpu);
    const wall = (performance.now() - wallStart) / 1000;
    const status = recorder.status();
    const lost = eventSocketDrops(namespace.name);
    recorder.stop();
    return {
      receiveBufferBytes,
      grantedBufferBytes: status.receiveBufferBytes,
      targetPerSecond: rate,
      createdPerSecond: Math.round(generated.created / generated.seconds),
      endedPerSecond: Math.round(generated.ended / generated.seconds),
      created: generated.created,
      ended: generated.ended,
      lateTicks: generated.lateTicks,
      eventsReceived: status.received,
      rowsRecorded: store.size,
      overflows: status.overflows,
      eventsLost: lost,
      recorderCpuPercentOfOneCore: Math.round(((used.user + used.system) / 1e6 / wall) * 1000) / 10,
      recorderCpuSeconds: Math.round(((used.user + used.system) / 1e6) * 100) / 100,
      wallSeconds: Math.round(wall * 10) / 10,
      rssMiB: Math.round(process.memoryUsage().rss / 1024 / 1024),
    };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
    await namespace.destroy();
  }
}

async function main(): Promise<void> {
  const rate = Number(args.rate);
  const seconds = Number(args.seconds);
  if (args.generate !== undefined) {
    await generate(args.generate, rate, seconds);
    return;
  }
  const buffers = args.buffers.split(',').map(Number);
  const results = [];
  for (const buffer of buffers) {
    const result = await measure(rate, seconds, buffer);
    console.log(JSON.stringify(result));
    results.push(result);
  }
  const out = resolve(__dirname, '../bench-results');
  mkdirSync(out, { recursive: true });
  const file = join(out, `bench-history-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ machine: { cpus: cpus().length, model: cpus()[0]?.model, kernel: release() }, rate, seconds, results }, null, 2)}\n`);
  console.log(`written to ${file}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
