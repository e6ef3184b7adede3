// Reverse DNS (PTR) names for addresses, for a view that asks for them: bounded in every direction, because a
// resolver may be slow, dead or hostile. Each lookup gives up after a timeout, answers are kept an hour (failures a
// minute, so a dead resolver is not asked again on every page), the cache holds a bounded number of addresses, one
// request starts at most a bounded number of lookups and the same address is never looked up twice at once.
import { Resolver } from 'node:dns/promises';
import { canonicalAddress } from './parsers';

export interface ReverseDnsOptions {
  /** Resolvers as "address" or "address:port" ("[v6]:port"); empty: the system's (/etc/resolv.conf). */
  servers?: readonly string[];
  timeoutMs?: number;
  /** How long an answer (a name, or "no name") is kept. */
  ttlMs?: number;
  /** How long a failed or timed-out lookup is remembered as one. */
  failureTtlMs?: number;
  /** Addresses kept at most (least recently used go first). */
  maxEntries?: number;
  /** Lookups at most in flight at once, over all requests. */
  maxInFlight?: number;
  now?: () => number;
}

/** What is known of an address: its PTR name, that it has none, that the lookup failed, or that it is under way. */
export type ReverseAnswer = { name: string } | { name: null; failed?: true } | 'pending';

interface Entry {
  name: string | null;
  failed: boolean;
  until: number;
}

export const REVERSE_DNS_TIMEOUT_MS = 1000;
export const REVERSE_DNS_TTL_MS = 3_600_000;
/** The most lookups one page may start (the rest of its addresses wait for a later page). */
export const REVERSE_DNS_PER_PAGE = 50;

/** Error codes that mean "this address has no PTR name", not "the resolver failed". */
const NO_NAME = new Set(['ENOTFOUND', 'ENODATA']);

export class ReverseDns {
  private readonly resolver: Resolver;
  private readonly timeoutMs: number;
  private readonly ttlMs: number;
  private readonly failureTtlMs: number;
  private readonly maxEntries: number;
  private readonly maxInFlight: number;
  private readonly now: () => number;
  private readonly cache = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(options: ReverseDnsOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? REVERSE_DNS_TIMEOUT_MS;
    this.ttlMs = options.ttlMs ?? REVERSE_DNS_TTL_MS;
    this.failureTtlMs = options.failureTtlMs ?? 60_000;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.maxInFlight = options.maxInFlight ?? 4 * REVERSE_DNS_PER_PAGE;
    this.now = options.now ?? Date.now;
    // One try per server, each bounded by the timeout (c-ares would otherwise retry with a doubling timeout).
    this.resolver = new Resolver({ timeout: this.timeoutMs, tries: 1 });
    if (options.servers?.length) this.resolver.setServers([...options.servers]);
  }

  /** What the cache knows of an address now, without asking anyone: undefined when nothing (or expired). */
  known(address: string): ReverseAnswer | undefined {
    const key = canonicalAddress(address);
    if (key === undefined) return undefined;
    if (this.inFlight.has(key)) return 'pending';
    const entry = this.cache.get(key);
    if (!entry) return undefined;
    if (entry.until <= this.now()) {
      this.cache.delete(key);
      return undefined;
    }
    return entry.name === null ? { name: null, ...(entry.failed ? { failed: true as const } : {}) } : { name: entry.name };
  }

  /**
   * The answers for these addresses: cached ones at once, and up to `limit` new lookups started and awaited (each at
   * most the timeout). Addresses beyond the limit, or beyond what may be in flight, come back 'pending'.
   */
  async lookup(addresses: readonly string[], limit = REVERSE_DNS_PER_PAGE): Promise<Map<string, ReverseAnswer>> {
    const out = new Map<string, ReverseAnswer>();
    const waits: Promise<void>[] = [];
    let started = 0;
    for (const address of new Set(addresses)) {
      const key = canonicalAddress(address);
      if (key === undefined) continue;
      const known = this.known(key);
      if (known !== undefined && known !== 'pending') {
        out.set(address, known);
        continue;
      }
      let running = this.inFlight.get(key);
      if (!running && started < limit && this.inFlight.size < this.maxInFlight) {
        running = this.ask(key);
        started++;
      }
      if (running) waits.push(running.then(() => void out.set(address, this.known(key) ?? 'pending')));
      else out.set(address, 'pending');
    }
    await Promise.all(waits);
    return out;
  }

  private ask(key: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error('reverse lookup timed out'), { code: 'ETIMEOUT' })), this.timeoutMs);
    });
    const running = Promise.race([this.resolver.reverse(key), timeout])
      .then(
        (names) => this.remember(key, names[0]?.replace(/\.$/, '').toLowerCase() || null, false),
        (error: unknown) => {
          const code = (error as NodeJS.ErrnoException).code ?? '';
          this.remember(key, null, !NO_NAME.has(code));
        },
      )
      .finally(() => {
        clearTimeout(timer);
        this.inFlight.delete(key);
      });
    this.inFlight.set(key, running);
    return running;
  }

  private remember(key: string, name: string | null, failed: boolean): void {
    this.cache.delete(key);
    this.cache.set(key, { name, failed, until: this.now() + (failed ? this.failureTtlMs : this.ttlMs) });
    while (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value as string);
  }
}
