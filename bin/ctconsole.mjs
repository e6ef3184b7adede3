#!/usr/bin/env node
// The ctconsole command (package.json "bin"): runs lib/auth/cli.ts through tsx with this checkout's tsconfig,
// from any working directory, passing stdin, the exit code and signals through.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsx = createRequire(join(root, 'package.json')).resolve('tsx');
const child = spawn(process.execPath, ['--import', tsx, join(root, 'lib/auth/cli.ts'), ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'tsconfig.json') },
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
