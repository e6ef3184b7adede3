// Builds the one native piece the console needs (setns for network namespaces) with the system C compiler.
// N-API addons need only node_api.h, so no node-gyp download and no prebuilt binary is involved.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'lib/netlink/native/netns.c');
const output = join(root, 'build/native/netns.node');

const includeDirs = [process.env.NODE_INCLUDE_DIR, join(dirname(process.execPath), '../include/node'), '/usr/include/node']
  .filter((dir) => dir && existsSync(join(dir, 'node_api.h')));
if (includeDirs.length === 0) {
  console.error('build-native: node_api.h not found; set NODE_INCLUDE_DIR to the Node.js headers directory');
  process.exit(1);
}
if (existsSync(output) && statSync(output).mtimeMs >= statSync(source).mtimeMs) process.exit(0);
mkdirSync(dirname(output), { recursive: true });
// Build beside it and rename: a running process that has the old addon mapped keeps its copy intact.
const temporary = `${output}.${process.pid}.tmp`;
execFileSync(process.env.CC ?? 'cc', ['-O2', '-Wall', '-shared', '-fPIC', '-DNODE_GYP_MODULE_NAME=netns', `-I${includeDirs[0]}`, source, '-o', temporary], { stdio: 'inherit' });
renameSync(temporary, output);
