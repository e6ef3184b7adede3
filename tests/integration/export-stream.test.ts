// Exports through the real server over a seeded table many chunk buffers long: a client that reads slowly (its
// socket full, Node holding chunks unwritten for a while) gets the same bytes as one that reads at once - a
// buffer written again before the server had sent it would show as a torn row - and the server does reuse its
// buffers once written (conntrack_console_export_chunks_total); a client that goes away stops the export.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, type Namespace } from '@/lib/lab';
import { raiseConntrackLimits, seed, type ConntrackLimits } from '@/lib/lab/seeder';
import { listAll } from '../support/oracle';
import { startServer, type TestServer } from '../support/server';

// JSON of a seeded row is ~480 bytes: 30,000 rows are ~14 MB, 30 pieces of 1,024 rows.
const COUNT = 30_000;

let limits: ConntrackLimits | undefined;
let namespace: Namespace | undefined;
let server: TestServer | undefined;
let snapshotId = '';
let tableIds: number[] = [];

beforeAll(async () => {
  limits = raiseConntrackLimits(COUNT);
  namespace = await createNamespace({ role: 'export' });
  await seed({ netns: namespace.name, count: COUNT, seed: 5 });
  server = await startServer({ netns: namespace.name });
  const refreshed = await fetch(`${server.url}/api/connections/refresh`, { method: 'POST', headers: server.authHeaders() });
  const { snapshot } = (await refreshed.json()) as { snapshot: { id: string; total: number } };
  expect(snapshot.total).toBe(COUNT);
  snapshotId = snapshot.id;
  // The oracle: the table as conntrack lists it (nothing in it expires during the test).
  tableIds = (await listAll(namespace.name)).map((entry) => entry.id ?? -1).sort((a, b) => a - b);
  expect(tableIds).toHaveLength(COUNT);
}, 300_000);

afterAll(async () => {
  await server?.stop();
  await namespace?.destroy();
  limits?.release();
});

/** The ids of a CSV export's rows (its first column), in order. */
function csvIds(body: Buffer): number[] {
  const lines = body.toString('utf8').trimEnd().split('\r\n');
  expect(lines).toHaveLength(COUNT + 1);
  return lines.slice(1).map((line) => Number(line.split(',')[0]));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const exportPath = (format: 'csv' | 'json') => `/api/connections/export?format=${format}&snapshot=${snapshotId}`;

/** The export's chunks so far, by buffer (reused / new). */
async function chunks(): Promise<{ reused: number; new: number }> {
  const text = await (await fetch(`${server!.url}/metrics`, { headers: server!.authHeaders() })).text();
  const value = (buffer: string) => Number(new RegExp(`^conntrack_console_export_chunks_total\\{buffer="${buffer}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  return { reused: value('reused'), new: value('new') };
}

/**
 * Reads a download over a plain socket, without compression, pausing: nothing for the first 500 ms (the server
 * fills the socket and has to hold its chunks), then a pause of 50 ms after every 1 MB. `abortAfter`: bytes
 * after which it goes away instead.
 */
function slowRead(path: string, abortAfter?: number): Promise<Buffer> {
  const url = new URL(path, server!.url);
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { ...server!.authHeaders(), 'accept-encoding': 'identity' }, agent: false }, (res) => {
      const pieces: Buffer[] = [];
      let bytes = 0;
      let nextPause = 1 << 20;
      res.pause();
      setTimeout(() => res.resume(), 500);
      res.on('data', (piece: Buffer) => {
        pieces.push(piece);
        bytes += piece.length;
        if (abortAfter !== undefined && bytes >= abortAfter) {
          req.destroy();
          resolve(Buffer.concat(pieces));
        } else if (bytes >= nextPause) {
          nextPause += 1 << 20;
          res.pause();
          setTimeout(() => res.resume(), 50);
        }
      });
      res.on('end', () => resolve(Buffer.concat(pieces)));
      res.on('error', reject);
    });
    req.on('error', (error) => (abortAfter === undefined ? reject(error) : undefined));
    req.end();
  });
}

async function fastRead(path: string): Promise<Buffer> {
  const response = await fetch(`${server!.url}${path}`, { headers: { ...server!.authHeaders(), 'accept-encoding': 'identity' } });
  expect(response.status).toBe(200);
  return Buffer.from(await response.arrayBuffer());
}

describe('the export stream through the server', () => {
  it.each(['json', 'csv'] as const)('%s: a slow client gets the bytes a fast one gets, through buffers reused once written', async (format) => {
    const before = await chunks();
    const fast = await fastRead(exportPath(format));
    const slow = await slowRead(exportPath(format));
    const after = await chunks();
    expect(slow.length).toBe(fast.length);
    expect(slow.equals(fast)).toBe(true);
    // Every row whole, once: a torn piece would break the JSON or the CSV's lines. Kernel ids are hashes and two
    // of 30,000 can be equal: the ids are compared with the table's own, as a sorted list, not counted as distinct.
    const ids = format === 'json' ? (JSON.parse(slow.toString('utf8')) as { id: number }[]).map((r) => r.id) : csvIds(slow);
    expect(ids.sort((a, b) => a - b)).toEqual(tableIds);
    // Two exports of ~30 pieces each (CSV ~14): most went out in buffers written before.
    const sent = after.reused - before.reused + (after.new - before.new);
    expect(sent).toBeGreaterThan(20);
    expect(after.reused - before.reused).toBeGreaterThan(after.new - before.new);
  });

  it('a client that goes away stops the export', async () => {
    const before = await chunks();
    const got = await slowRead(exportPath('json'), 2 << 20);
    expect(got.length).toBeGreaterThanOrEqual(2 << 20);
    await sleep(300);
    const stopped = await chunks();
    await sleep(700);
    const later = await chunks();
    expect(later).toEqual(stopped);
    const sent = stopped.reused - before.reused + (stopped.new - before.new);
    expect(sent).toBeLessThan(COUNT / 1024);
    // The server answers the next export in full.
    const json = JSON.parse((await fastRead(exportPath('json'))).toString('utf8')) as unknown[];
    expect(json).toHaveLength(COUNT);
  });
});
