// The stats sampler's cost and the size of its 30 days of series.
//
//   npm run bench:stats [-- --entries 100000 --samples 300 --days 31]
//
// 1. Cost: in a fresh namespace seeded with --entries entries, --samples samples back to back (CT_GET_STATS,
//    CT_GET_STATS_CPU, one SQLite transaction each, on disk); their CPU time per sample over the sample interval
//    (CONNTRACK_STATS_SAMPLE_SECONDS, 10 s) is the share of one core the sampler takes.
// 2. Size: 31 days of samples every 10 s written through the store with a simulated clock (retention pruning as
//    in production), then the database file's size.
// JSON in bench-results/.
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Conntrack } from '../lib/conntrack';
import { createNamespace } from '../lib/lab';
import { seed } from '../lib/lab/seeder';
import { StatsSampler, StatsStore, type StatsPoint } from '../lib/stats';
import { DATABASE_FILE, openStore } from '../lib/store';
import { parseOptions, runCli, wholeNumber } from './args';

const SAMPLE_SECONDS = 10;

const USAGE = 'npm run bench:stats [-- --entries 100000 --samples 300 --days 31]';

async function cost(entries: number, samples: number) {
  const namespace = await createNamespace({ role: 'benchstats' });
  const dir = mkdtempSync(join(tmpdir(), 'ctc-bench-stats-'));
  const db = openStore(dir);
  try {
    if (entries) await seed({ netns: namespace.name, count: entries });
    const store = new StatsStore(db);
    const sampler = new StatsSampler({ source: new Conntrack({ netns: namespace.name }), store, intervalSeconds: 0, events: () => ({ created: 0, destroyed: 0 }) });
    await sampler.sample();
    const cpu = process.cpuUsage();
    const wallStart = performance.now();
    for (let i = 0; i < samples; i++) await sampler.sample();
    const used = process.cpuUsage(cpu);
    const cpuMsPerSample = (used.user + used.system) / 1000 / samples;
    return {
      entries,
      samples,
      cpuMsPerSample: Math.round(cpuMsPerSample * 100) / 100,
      wallMsPerSample: Math.round(((performance.now() - wallStart) / samples) * 100) / 100,
      cpuPercentOfOneCoreAt10s: Math.round((cpuMsPerSample / (SAMPLE_SECONDS * 1000)) * 100 * 1000) / 1000,
    };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
    await namespace.destroy();
  }
}

function size(days: number) {
  const dir = mkdtempSync(join(tmpdir(), 'ctc-bench-stats-size-'));
  const db = openStore(dir);
  try {
    const start = Date.UTC(2026, 0, 1);
    let now = start;
    const store = new StatsStore(db, { now: () => now });
    const wallStart = performance.now();
    const count = (days * 86_400) / SAMPLE_SECONDS;
    for (let i = 0; i < count; i++) {
      now = start + i * SAMPLE_SECONDS * 1000;
      // Values with full-width numbers (no small-integer shortcuts in the record format).
      const point: StatsPoint = { at: now, entries: 200_000 + ((i * 7919) % 60_000), max: 262_144, new: 1234.5 + (i % 97), ended: 1230.25 + (i % 89), drop: i % 50 ? 0 : 3.7, earlyDrop: 0, invalid: 0.1 * (i % 7), insertFailed: i % 300 ? 0 : 0.1 };
      store.insert(point);
    }
    const insertUs = ((performance.now() - wallStart) * 1000) / count;
    db.pragma('wal_checkpoint(TRUNCATE)');
    const rows = db.prepare('SELECT (SELECT COUNT(*) FROM stats_points) AS points, (SELECT COUNT(*) FROM stats_rollups) AS rollups').get() as { points: number; rollups: number };
    const file = statSync(join(dir, DATABASE_FILE)).size;
    return { days, samplesWritten: count, ...rows, fileMiB: Math.round((file / 1024 / 1024) * 100) / 100, insertMicrosecondsPerSample: Math.round(insertUs) };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const given = parseOptions(process.argv.slice(2), { entries: { type: 'string', default: '100000' }, samples: { type: 'string', default: '300' }, days: { type: 'string', default: '31' } });
  // --entries 0: the sampler's cost on an empty table.
  const args = { entries: wholeNumber('entries', given.entries, 0), samples: wholeNumber('samples', given.samples), days: wholeNumber('days', given.days) };
  const costResult = await cost(args.entries, args.samples);
  console.log(`sampler: ${costResult.cpuMsPerSample} ms CPU per sample (${costResult.wallMsPerSample} ms wall) at ${costResult.entries} entries = ${costResult.cpuPercentOfOneCoreAt10s}% of one core at one sample per ${SAMPLE_SECONDS} s (goal < 1%)`);
  const sizeResult = size(args.days);
  console.log(`series: ${sizeResult.days} days of samples -> ${sizeResult.points} samples + ${sizeResult.rollups} 5-minute rollups kept, ${sizeResult.fileMiB} MiB on disk (goal < 20 MB); ${sizeResult.insertMicrosecondsPerSample} µs per stored sample`);
  const out = resolve(__dirname, '../bench-results');
  mkdirSync(out, { recursive: true });
  const file = join(out, `stats-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ machine: { cpus: cpus().length, model: cpus()[0]?.model, kernel: release() }, cost: costResult, size: sizeResult }, null, 2)}\n`);
  console.log(`written to ${file}`);
}

runCli(USAGE, main);
