// Every import points down (STYLE.md rule 1): a module of lib/ imports only modules of a lower layer, never one of
// its own layer (sideways) or above; app/ sits on top. Read from the source files themselves, so a new upward or
// sideways import fails here with the file and the import named.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = process.cwd();

/** The layers, lowest first; a module may import only from layers before its own. */
const LAYERS: readonly (readonly string[])[] = [
  ['lib/process'],
  ['lib/store', 'lib/netlink'],
  ['lib/conntrack', 'lib/router', 'lib/names', 'lib/lifecycle'],
  ['lib/config'],
  ['lib/observability', 'lib/auth'],
  ['lib/history', 'lib/stats', 'lib/lab'],
  ['lib/console'],
  ['app'],
];
const layerOf = new Map(LAYERS.flatMap((modules, level) => modules.map((m) => [m, level] as const)));

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx|mjs)$/.test(entry.name) ? [path] : [];
  });
}

/** lib/<name> or app for a path inside the repository; undefined for anything else (node:, packages). */
function moduleOf(path: string): string | undefined {
  const parts = normalize(path).split('/');
  if (parts[0] === 'app') return 'app';
  if (parts[0] === 'lib' && parts[1]) return `lib/${parts[1]}`;
  return undefined;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Every (file, import, target module) of lib/ and app/ that reaches another module of the repository. */
function crossModuleImports(): { file: string; specifier: string; from: string; to: string }[] {
  const out: { file: string; specifier: string; from: string; to: string }[] = [];
  for (const file of [...sourceFiles('lib'), ...sourceFiles('app')]) {
    const from = moduleOf(file)!;
    for (const match of readFileSync(join(root, file), 'utf8').matchAll(IMPORT)) {
      const specifier = match[1] ?? match[2];
      const target = specifier.startsWith('@/') ? specifier.slice(2) : specifier.startsWith('.') ? relative(root, join(root, dirname(file), specifier)) : undefined;
      const to = target === undefined ? undefined : moduleOf(target);
      if (to && to !== from) out.push({ file, specifier, from, to });
    }
  }
  return out;
}

describe('layers', () => {
  const imports = crossModuleImports();

  it('finds the imports it judges (the reader works)', () => {
    expect(imports.some((i) => i.from === 'lib/console' && i.to === 'lib/conntrack')).toBe(true);
    expect(imports.some((i) => i.from === 'lib/router' && i.to === 'lib/netlink')).toBe(true);
  });

  it('every module of lib/ and app/ has a layer', () => {
    const modules = new Set([...sourceFiles('lib'), ...sourceFiles('app')].map((f) => moduleOf(f)!));
    expect([...modules].filter((m) => !layerOf.has(m))).toEqual([]);
  });

  it('every import points down: none sideways, none up', () => {
    const wrong = imports
      .filter((i) => layerOf.get(i.to)! >= layerOf.get(i.from)!)
      .map((i) => `${i.file}: ${i.specifier} (${i.from} -> ${i.to})`);
    expect(wrong).toEqual([]);
  });
});
