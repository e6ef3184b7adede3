// The benchmarks' options: util.parseArgs with --name N (or --name=N) for whole numbers >= 1, defaults kept.
import { parseArgs } from 'node:util';

export function wholeNumberOptions<T extends Record<string, number>>(argv: readonly string[], defaults: T): T {
  const { values } = parseArgs({
    args: [...argv],
    options: Object.fromEntries(Object.keys(defaults).map((name) => [name, { type: 'string' as const }])),
    strict: true,
  });
  const options: Record<string, number> = { ...defaults };
  for (const [name, text] of Object.entries(values)) {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} needs a whole number >= 1 (got ${String(text)})`);
    options[name] = value;
  }
  return options as T;
}
