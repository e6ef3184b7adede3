// Waiting in a test for something the system under test does by itself (a health check turning, an event
// arriving, a row being written): one polling loop for every test that needs one.

export interface UntilOptions<T> {
  /** Whether the probe's value is the one awaited (default: it is neither undefined nor false). */
  done?: (value: T) => boolean;
  /** Give up after this long (default 20 s). */
  timeoutMs?: number;
  /** Probe this often (default 200 ms). */
  everyMs?: number;
  /** What to add to the error on a timeout (a server's output), besides the last value. */
  detail?: () => string;
}

/** Probes until its value is the one awaited and returns that value; throws naming `what` on a timeout. */
export async function until<T>(what: string, probe: () => T | Promise<T>, options: UntilOptions<T> = {}): Promise<Exclude<T, undefined | false>> {
  const done = options.done ?? ((value: T) => value !== undefined && value !== false);
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  for (;;) {
    const value = await probe();
    if (done(value)) return value as Exclude<T, undefined | false>;
    if (Date.now() > deadline) {
      const last = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
      throw new Error(`timed out waiting for ${what} (last: ${last?.slice(0, 500)})${options.detail ? `\n${options.detail()}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.everyMs ?? 200));
  }
}
