// Process-wide values: one per process whichever copy of a module asks. Next bundles instrumentation and every
// route separately and scripts/serve.ts has its own copies of the modules, so a module-level variable would exist
// once per bundle; these live on globalThis under Symbol.for('conntrack-console.<name>').

type Holder = Record<symbol, unknown>;
const holder = globalThis as unknown as Holder;
const keyOf = (name: string): symbol => Symbol.for(`conntrack-console.${name}`);

/** The process's value under `name`, made by `create` on first use. */
export function processValue<T>(name: string, create: () => T): T {
  const key = keyOf(name);
  if (!(key in holder)) holder[key] = create();
  return holder[key] as T;
}

/** The process's value under `name` if it was made, else undefined. */
export function peekProcessValue<T>(name: string): T | undefined {
  return holder[keyOf(name)] as T | undefined;
}

/** Replaces the process's value under `name` (the server's start sets the configuration and the logger). */
export function setProcessValue<T>(name: string, value: T): void {
  holder[keyOf(name)] = value;
}

