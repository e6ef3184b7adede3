// `npm test`: every suite in turn - typecheck, lint, unit + integration (vitest), end-to-end (Playwright in
// Debian's Chromium) - then one closing line "N passed, N failed" over all of them. Exit non-zero on any failure.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

mkdirSync('test-results', { recursive: true });
const bin = (name) => `node_modules/.bin/${name}`;
const results = [];

function step(name, command, args, { count } = {}) {
  console.log(`\n=== ${name}: ${[command, ...args].join(' ')}`);
  const run = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, FORCE_COLOR: '0' } });
  const ok = run.status === 0;
  const counted = count?.();
  results.push({ name, ok, passed: counted?.passed ?? (ok ? 1 : 0), failed: counted?.failed ?? (ok ? 0 : 1) });
  if (counted && !ok && counted.failed === 0) results.at(-1).failed = 1; // the runner failed outside any test
}

const readJson = (path) => (existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : undefined);

step('typecheck', bin('tsc'), ['--noEmit']);
step('lint', bin('eslint'), ['.', '--max-warnings=0']);
step('unit + integration', bin('vitest'), ['run', '--reporter=default', '--reporter=json', '--outputFile.json=test-results/vitest.json'], {
  count: () => {
    const report = readJson('test-results/vitest.json');
    return report ? { passed: report.numPassedTests, failed: report.numFailedTests } : undefined;
  },
});
const hasE2e = existsSync('tests/e2e') && readdirSync('tests/e2e').some((f) => f.endsWith('.spec.ts'));
if (hasE2e) {
  process.env.PLAYWRIGHT_JSON_OUTPUT_NAME = 'test-results/e2e.json';
  step('end-to-end', bin('playwright'), ['test', '--reporter=list,json'], {
    count: () => {
      const stats = readJson('test-results/e2e.json')?.stats;
      return stats ? { passed: stats.expected + stats.flaky, failed: stats.unexpected } : undefined;
    },
  });
  if (!results.at(-1).ok) printErrorContexts('test-results/e2e');
}

/**
 * What the page showed when each end-to-end test failed (Playwright's error-context.md: the accessibility snapshot
 * of the page), into the log: a CI run keeps only its output, not test-results/.
 */
function printErrorContexts(dir) {
  if (!existsSync(dir)) return;
  for (const test of readdirSync(dir)) {
    const file = join(dir, test, 'error-context.md');
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    console.log(`\n=== page at the failure: ${test}\n${text.length > 12000 ? `${text.slice(0, 12000)}\n[... ${text.length - 12000} more characters]` : text}`);
  }
}

printFailedTests(readJson('test-results/vitest.json'));
printFailedE2e(hasE2e ? readJson('test-results/e2e.json') : undefined);

/**
 * Each failed vitest test by file and name with the first lines of its error, printed again just above the summary:
 * a CI record keeps only the end of the output, and the default reporter's account of a failure is far above it.
 */
function printFailedTests(report) {
  const relative = (path) => path.replace(`${process.cwd()}/`, '');
  const failed = (report?.testResults ?? []).flatMap((file) =>
    (file.assertionResults ?? [])
      .filter((t) => t.status === 'failed')
      .map((t) => ({ file: relative(file.name), name: t.fullName, error: t.failureMessages?.[0] ?? '' })),
  );
  const brokenFiles = (report?.testResults ?? []).filter((f) => f.status === 'failed' && !(f.assertionResults ?? []).some((t) => t.status === 'failed'));
  if (failed.length === 0 && brokenFiles.length === 0) return;
  console.log('\n=== failed unit + integration tests');
  for (const t of failed) console.log(`FAIL ${t.file} > ${t.name}\n${indent(t.error)}`);
  for (const f of brokenFiles) console.log(`FAIL ${relative(f.name)} (outside any test)\n${indent(f.message ?? '')}`);
}

function indent(text) {
  return text.split('\n').slice(0, 12).map((line) => `    ${line}`).join('\n');
}

/**
 * Each failed end-to-end test with the first lines of its error, just above the summary: the page contexts printed
 * after the Playwright run can be long enough to push the error itself out of what a CI record keeps.
 */
function printFailedE2e(report) {
  const failed = [];
  const walk = (suite) => {
    for (const child of suite.suites ?? []) walk(child);
    for (const spec of suite.specs ?? []) {
      for (const test of spec.tests ?? []) {
        const result = (test.results ?? []).at(-1);
        if (!result || test.status !== 'unexpected') continue;
        const error = result.errors?.[0] ?? result.error ?? {};
        const at = error.location ? `${error.location.file.replace(`${process.cwd()}/`, '')}:${error.location.line}` : `${spec.file}:${spec.line}`;
        failed.push(`FAIL ${at} > ${spec.title}\n${indent(stripAnsi(error.message ?? String(result.status)))}`);
      }
    }
  };
  for (const suite of report?.suites ?? []) walk(suite);
  if (failed.length === 0) return;
  console.log('\n=== failed end-to-end tests');
  for (const line of failed) console.log(line);
}

function stripAnsi(text) {
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}

console.log('\n=== summary');
for (const r of results) console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name}: ${r.passed} passed, ${r.failed} failed`);
const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
