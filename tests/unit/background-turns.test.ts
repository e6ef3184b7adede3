// Work in the background (the history's dumps and reconciles, a snapshot's warm-up and orders for later pages)
// gives way while a page of a snapshot is being answered: its turns wait, up to their limit, and the page's own
// steps still let the event loop run.
import { describe, expect, it } from 'vitest';
import { answeringPage, answerPage, backgroundTurn } from '@/lib/conntrack';
import { SnapshotBuilder } from '@/lib/conntrack/snapshot';
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
