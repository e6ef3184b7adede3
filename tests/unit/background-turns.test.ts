// Work in the background (the history's dumps and reconciles, a snapshot's warm-up and orders for later pages)
// gives way while a page of a snapshot is being answered: its turns wait, up to their limit, and the page's own
// steps still let the event loop run.
import { describe, expect, it } from 'vitest';
import { answeringPage, answerPage, backgroundTurn } from '@/lib/conntrack';
import { inTurns } from '@/lib/conntrack/snapshot/order';
import { SnapshotBuilder } from '@/lib/conntrack/snapshot';
import { exportStream, type ExportBody } from '@/lib/console/export';
import { turnsDuring } from '../support/turns';

const ROWS = 200_000;

function build() {
  const builder = new SnapshotBuilder(ROWS);
  for (let i = 0; i < ROWS; i++) {
    const src = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    builder.addConnection({
      family: 'ipv4',
      original: { src, dst: '93.184.216.34', protocol: 6, sport: 1024 + (i % 60_000), dport: 443 },
      reply: { src: '93.184.216.34', dst: src, protocol: 6, sport: 443, dport: 1024 + (i % 60_000) },
      status: 8,
      zone: 0,
      timeout: (i * 7919) % 432_000,
      id: i + 1,
    });
  }
  return builder.finish({ takenAt: new Date(), tookMs: 0 });
}

/** Runs background turns until stopped; how many completed while `during` was still running. */
async function backgroundDuring(maxWaitMs: number, during: () => Promise<unknown>): Promise<{ completedDuring: number; completedAfter: number }> {
  let running = true;
  let completedDuring = 0;
  let completedAfter = 0;
  const loop = (async () => {
    for (let i = 0; i < 1000 && (running || completedAfter === 0); i++) {
      await backgroundTurn(maxWaitMs);
      if (running) completedDuring++;
      else completedAfter++;
    }
  })();
  await during();
  running = false;
  await loop;
  return { completedDuring, completedAfter };
}

describe('background work gives way to pages', () => {
  const snapshot = build();

  it('no background turn completes while a first sort is answered', async () => {
    // How many turns the page itself takes depends on the machine's speed (one 4 ms step can be enough): not asserted here.
    const seen = await backgroundDuring(60_000, () => turnsDuring(() => snapshot.page({ sort: 'timeout', order: 'desc', limit: 100 })));
    expect(seen.completedDuring).toBe(0);
    expect(seen.completedAfter).toBeGreaterThan(0);
    expect(answeringPage()).toBe(false);
  }, 60_000);

  it('without a page, background turns go on', async () => {
    const seen = await backgroundDuring(60_000, () => turnsDuring(async () => {
      for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    }));
    expect(seen.completedDuring).toBeGreaterThan(0);
  });

  it('a background turn waits no longer than its limit: it completes while a long page still runs', async () => {
    let release = () => {};
    const page = answerPage(() => new Promise<void>((resolve) => (release = resolve)));
    expect(answeringPage()).toBe(true);
    await backgroundTurn(5);
    expect(answeringPage()).toBe(true);
    release();
    await page;
    expect(answeringPage()).toBe(false);
  });

  it('a failed page is no longer counted as answering', async () => {
    await expect(answerPage(() => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    expect(answeringPage()).toBe(false);
  });
});

/**
 * Counts turns of the event loop: an immediate that queues itself again runs once per check phase (an immediate
 * queued during the phase waits for the next one), so steps that read the same count ran in the same turn.
 */
function turnCounter(): { now: () => number; stop: () => void } {
  let turn = 0;
  let ticking = true;
  const tick = () => {
    turn++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  return { now: () => turn, stop: () => (ticking = false) };
}

describe('inTurns() shares the turns', () => {
  function* run(name: string, steps: number, seen: [string, number][], turn: () => number): Generator<void, string, void> {
    for (let i = 0; i < steps; i++) {
      seen.push([name, turn()]);
      yield;
    }
    seen.push([name, turn()]);
    return name;
  }

  it('runs one step per turn for all the runs together, in turn, and a run started by an answer in a later turn', async () => {
    const counter = turnCounter();
    const seen: [string, number][] = [];
    let answeredAt = -1;
    try {
      const a = inTurns(run('a', 3, seen, counter.now));
      const b = inTurns(run('b', 3, seen, counter.now));
      // A page's order for later pages starts in the continuation of the page's answer.
      const c = a.then((name) => {
        answeredAt = counter.now();
        return inTurns(run(`c after ${name}`, 1, seen, counter.now));
      });
      expect(await Promise.all([b, c])).toEqual(['b', 'c after a']);
    } finally {
      counter.stop();
    }
    const turns = seen.map(([, turn]) => turn);
    expect(new Set(turns).size).toBe(turns.length);
    expect(seen.slice(0, 6).map(([name]) => name)).toEqual(['a', 'b', 'a', 'b', 'a', 'b']);
    const firstOfC = seen.find(([name]) => name.startsWith('c'))!;
    expect(answeredAt).toBeGreaterThan(0);
    expect(firstOfC[1]).toBeGreaterThan(answeredAt);
  });

  it('a run does not step while its wait() says so; the others do meanwhile', async () => {
    const counter = turnCounter();
    const seen: [string, number][] = [];
    let waiting = true;
    try {
      const held = inTurns(run('held', 1, seen, counter.now), () => waiting);
      await inTurns(run('free', 3, seen, counter.now));
      expect(seen.map(([name]) => name)).toEqual(['free', 'free', 'free', 'free']);
      waiting = false;
      expect(await held).toBe('held');
    } finally {
      counter.stop();
    }
    expect(seen.filter(([name]) => name === 'held')).toHaveLength(2);
  });

  it("background turns and an export's pieces take turns of their own, not one beside a run's step", async () => {
    const counter = turnCounter();
    const seen: [string, number][] = [];
    try {
      const stepping = inTurns(run('step', 6, seen, counter.now));
      const background = (async () => {
        for (let i = 0; i < 4; i++) {
          await backgroundTurn(1000);
          seen.push(['background', counter.now()]);
        }
      })();
      let pieces = 0;
      const body: ExportBody = () => {
        seen.push(['export', counter.now()]);
        return pieces++ < 3 ? new Uint8Array([pieces]) : null;
      };
      const download = new Response(exportStream({ format: 'csv', body, filename: 'x' }).body).arrayBuffer();
      await Promise.all([stepping, background, download]);
    } finally {
      counter.stop();
    }
    for (const name of ['step', 'background', 'export']) expect(seen.filter(([source]) => source === name).length).toBeGreaterThan(3);
    const turns = seen.map(([, turn]) => turn);
    expect(new Set(turns).size).toBe(turns.length);
  });

  it('a step that throws rejects its own run only', async () => {
    function* failing(): Generator<void, string, void> {
      yield;
      throw new Error('step failed');
    }
    const ok = inTurns(run('ok', 2, [], () => 0));
    await expect(inTurns(failing())).rejects.toThrow('step failed');
    expect(await ok).toBe('ok');
  });
});
