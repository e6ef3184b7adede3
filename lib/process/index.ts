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


/**
 * Makes `instanceof` hold across bundles for an error class: an error thrown by a service that instrumentation's
 * bundle made (its copy of the class) must still be recognised by a route's copy, or it is answered as a 500.
 * Each copy marks its prototype with the same Symbol.for brand and tests for the brand. Subclasses of a marked
 * class must be marked too (they would otherwise inherit the parent's test).
 */
export function shareErrorClass(errorClass: abstract new (...args: never[]) => Error, name: string): void {
  const brand = Symbol.for(`conntrack-console.error.${name}`);
  Object.defineProperty(errorClass.prototype, brand, { value: true });
  Object.defineProperty(errorClass, Symbol.hasInstance, {
    value: (value: unknown) => typeof value === 'object' && value !== null && brand in value,
  });
}
