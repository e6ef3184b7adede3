// A steady churn of connections opening and closing, for the demo and for tests that need a moving table.
import type { Family } from './addresses';
import type { Lab } from './lab';

export interface ChurnOptions {
  /** New flows per second (1..200). */
  perSecond: number;
  /** How long each TCP connection stays open before the client closes it (default 3000 ms). */
  lifetimeMs?: number;
  /** At most this many connections open at once; ticks beyond it are skipped (default 500). */
  maxOpen?: number;
  /** Default: both. */
  families?: readonly Family[];
}

export interface ChurnStats {
  opened: number;
  closed: number;
  udpExchanges: number;
  failed: number;
  open: number;
  skipped: number;
}

export interface Churn {
  /** Stops new flows, closes the open ones and waits for flows in progress. */
  stop(): Promise<void>;
  stats(): ChurnStats;
}

const MAX_PER_SECOND = 200;
/** One flow in this many is a UDP exchange rather than a TCP connection. */
const UDP_EVERY = 4;

/** Starts the churn; it stops by itself when the lab is destroyed. */
export function startChurn(lab: Lab, options: ChurnOptions): Churn {
  if (!(options.perSecond > 0 && options.perSecond <= MAX_PER_SECOND)) {
    throw new RangeError(`churn perSecond must be in (0, ${MAX_PER_SECOND}]: ${options.perSecond}`);
  }
  const lifetimeMs = options.lifetimeMs ?? 3000;
  const maxOpen = options.maxOpen ?? 500;
  const families = options.families ?? ['ipv4', 'ipv6'];
  const a = lab.addresses;
  const agent = lab.agent('lan');
  const stats: ChurnStats = { opened: 0, closed: 0, udpExchanges: 0, failed: 0, open: 0, skipped: 0 };
  const inFlight = new Set<Promise<void>>();
  const closers = new Map<number, NodeJS.Timeout>();
  let tick = 0;
  let stopped = false;

  const close = async (handle: number) => {
    closers.delete(handle);
    await agent.send({ op: 'close', handle }).catch(() => {});
    stats.open--;
    stats.closed++;
  };

  const track = (work: Promise<void>) => {
    const settled = work.catch(() => {
      stats.failed++;
    });
    inFlight.add(settled);
    void settled.finally(() => inFlight.delete(settled));
  };

  const step = () => {
    const n = tick++;
    const family = families[n % families.length];
    const local = a.lan.clients[n % a.lan.clients.length][family];
    const remote = a.internet.server[family];
    if (n % UDP_EVERY === UDP_EVERY - 1) {
      track(agent.send({ op: 'udp', local, remote, port: a.ports.echo, expectReply: true }).then(() => {
        stats.udpExchanges++;
      }));
      return;
    }
    if (stats.open >= maxOpen) {
      stats.skipped++;
      return;
    }
    stats.open++;
    track(
      agent.send({ op: 'tcp', local, remote, port: a.ports.echo, behaviour: 'chatty' }).then(
        async ({ handle }) => {
          stats.opened++;
          if (handle === undefined) return;
          // Opened while stop() was waiting for flows in progress: close it as part of this flow.
          if (stopped) await close(handle);
          else closers.set(handle, setTimeout(() => track(close(handle)), lifetimeMs));
        },
        (error: unknown) => {
          stats.open--;
          throw error;
        },
      ),
    );
  };

  const timer = setInterval(step, 1000 / options.perSecond);
  let unregister = () => {};
  const stop = async () => {
    if (stopped) return;
    unregister();
    stopped = true;
    clearInterval(timer);
    while (inFlight.size > 0) await Promise.all([...inFlight]);
    for (const [handle, closer] of [...closers]) {
      clearTimeout(closer);
      await close(handle);
    }
  };
  unregister = lab.onDestroy(stop);
  return { stop, stats: () => ({ ...stats }) };
}
