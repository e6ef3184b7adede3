// The scripts' command lines (scripts/args.ts): a mistake is a message naming the option and the usage, exit 2, no
// stack trace; --help is the usage, exit 0. Each benchmark script is run with a bad option (it stops before any work).
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseOptions, UsageError, wholeNumber, wholeNumberOptions } from '../../scripts/args';

const repoRoot = resolve(__dirname, '../..');

function run(script: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'scripts', script), ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', fail);
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}

describe('script options', () => {
  it('names the option and what it needs', () => {
    expect(() => parseOptions(['--nope'], { rate: { type: 'string' } })).toThrow(UsageError);
    expect(() => parseOptions(['--nope'], { rate: { type: 'string' } })).toThrow(/--nope/);
    expect(() => parseOptions(['stray'], { rate: { type: 'string' } })).toThrow(UsageError);
    expect(() => wholeNumber('rate', 'abc')).toThrow('--rate needs a whole number >= 1 (got abc)');
    expect(() => wholeNumber('rate', '0')).toThrow(UsageError);
    expect(wholeNumber('entries', '0', 0)).toBe(0);
    expect(wholeNumberOptions(['--runs=5'], { entries: 10, runs: 3 })).toEqual({ entries: 10, runs: 5 });
    expect(() => wholeNumberOptions(['--runs', '2.5'], { runs: 3 })).toThrow('--runs needs a whole number >= 1 (got 2.5)');
  });

  it('every benchmark script answers a bad option with the message and its usage, exit 2, and --help with exit 0', async () => {
    const cases: [string, string[], RegExp][] = [
      ['bench.ts', ['--bogus'], /--bogus/],
      ['bench-api.ts', ['--only', 'z'], /--only needs sections/],
      ['bench-history.ts', ['--rate', 'fast'], /--rate needs a whole number/],
      ['bench-stats.ts', ['--days'], /--days/],
    ];
    const results = await Promise.all(cases.map(([script, args]) => run(script, args)));
    results.forEach((result, i) => {
      const [script, , message] = cases[i];
      expect({ script, code: result.code }).toEqual({ script, code: 2 });
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toContain(`usage: npm run ${script === 'bench.ts' ? 'bench ' : `bench:${script.slice(6, -3)} `}`);
      expect(result.stderr, 'no stack trace').not.toMatch(/^\s+at /m);
    });
    const help = await run('bench-history.ts', ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: npm run bench:history/);
  });
});
