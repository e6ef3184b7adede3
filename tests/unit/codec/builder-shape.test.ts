// The snapshot builders' shape outlives every builder: a full collection between two snapshots leaves the
// compiled decoder in place (see SnapshotBuilder.shapeKeeper). Checked in a child node with V8's own deopt trace.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const repoRoot = join(__dirname, '../../..');

describe('the snapshot builder across a full collection', () => {
  it("keeps its optimised decoder: V8 throws away none of the builder's compiled methods", () => {
    const child = spawnSync(process.execPath, ['--trace-deopt', '--expose-gc', '--import', 'tsx', join(repoRoot, 'tests/support/builder-shape-child.ts'), '100000'], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(child.stderr).toBe('');
    expect(child.stdout).toContain('done');
    // The methods compiled while the first builder filled (the trace names them by their SharedFunctionInfo).
    const compiled = [...child.stdout.matchAll(/<SharedFunctionInfo (\w+)>\) \(opt id \d+\) for deoptimization, reason: weak objects/g)].map((m) => m[1]);
    const builderMethods = ['add', 'decode', 'tuple', 'proto', 'protoinfo', 'counter', 'timestamp', 'ensure', 'v6Slot'];
    expect(compiled.filter((name) => builderMethods.includes(name))).toEqual([]);
    // The trace is on: the child's optimised code is reported at all (a run with no TurboFan output proves nothing).
    expect(child.stdout).toMatch(/bailout|marking dependent code|deoptimiz/);
  }, 60_000);
});
