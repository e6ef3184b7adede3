// Ended connections as JSON lines: every line valid against docs/connection-line.schema.json (ajv), with the
// documented names and values, and the file rotated by size keeping the configured number of old files.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionLines, connectionLine, type HistoryRecord } from '@/lib/history';
import { connectionLineErrors, parseLines } from '../support/connection-lines';

const RECORDS: HistoryRecord[] = [
  {
    id: 4_000_000_001,
    family: 'ipv4',
    original: { src: '10.0.0.5', dst: '198.51.100.3', protocol: 6, sport: 40001, dport: 443 },
    reply: { src: '198.51.100.3', dst: '203.0.113.1', protocol: 6, sport: 443, dport: 61001 },
    status: 0x19e,
    zone: 0,
    mark: 3,
    state: 'TIME_WAIT',
    startedAt: 1_700_000_000_000,
    endedAt: 1_700_000_133_000,
    counters: { original: { packets: 10, bytes: 1200 }, reply: { packets: 12, bytes: 90_000 } },
    cause: 'client',
    closedBy: 'client',
  },
  {
    id: 7,
    family: 'ipv6',
    original: { src: 'fd00::5', dst: '2001:db8::1', protocol: 58, icmp: { type: 128, code: 0, id: 9 } },
    reply: { src: '2001:db8::1', dst: 'fd00::5', protocol: 58, icmp: { type: 129, code: 0, id: 9 } },
    status: 0,
    zone: 2,
    mark: 0,
    endedAt: 1_700_000_200_000,
    endedAfter: 1_700_000_100_000,
    endedBefore: 1_700_000_200_000,
    cause: 'unobserved',
  },
  {
    id: 8,
    family: 'ipv4',
    original: { src: '192.0.2.50', dst: '203.0.113.1', protocol: 6, sport: 5555, dport: 443 },
    reply: { src: '10.0.0.10', dst: '192.0.2.50', protocol: 6, sport: 8443, dport: 5555 },
    status: 0x2e,
    zone: 0,
    mark: 0,
    state: 'ESTABLISHED',
    endedAt: 1_700_000_300_000,
    cause: 'admin',
    deletedBy: 'alice',
  },
];

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('connection lines', () => {
  it('are valid against the schema, with the documented fields', () => {
    const lines = RECORDS.map((r) => connectionLine(r, { host: 'router1', netns: 'wan' }));
    for (const line of lines) expect(connectionLineErrors(line), JSON.stringify(line)).toBeUndefined();
    expect(lines[0]).toMatchObject({
      type: 'connection',
      version: 1,
      host: 'router1',
      netns: 'wan',
      protocol: 'tcp',
      src: '10.0.0.5',
      sport: 40001,
      externalAddress: '203.0.113.1',
      externalPort: 61001,
      startedAt: '2023-11-14T22:13:20.000Z',
      endedAt: '2023-11-14T22:15:33.000Z',
      durationMs: 133_000,
      bytesReply: 90_000,
      cause: 'client',
    });
    expect(lines[0].status).toContain('SRC_NAT');
    expect(lines[1]).toMatchObject({ icmpType: 128, icmpId: 9, endedAfter: '2023-11-14T22:15:00.000Z', endedBefore: '2023-11-14T22:16:40.000Z', cause: 'unobserved' });
    expect(lines[1].status).toEqual(['UNREPLIED']);
    expect(lines[1].externalAddress).toBeUndefined();
    expect(lines[2]).toMatchObject({ externalAddress: '203.0.113.1', externalPort: 443, deletedBy: 'alice' });
  });

  it('the schema refuses a line with an undocumented field or a wrong type', () => {
    const line = connectionLine(RECORDS[0], { host: 'h' });
    expect(connectionLineErrors({ ...line, extra: 1 })).toMatch(/additional/);
    expect(connectionLineErrors({ ...line, sport: 70000 })).toMatch(/sport/);
    expect(connectionLineErrors({ ...line, endedAt: '2023-11-14 22:15' })).toMatch(/endedAt/);
  });

  it('go to a file rotated by size, keeping the configured number of old files', () => {
    dir = mkdtempSync(join(tmpdir(), 'ctc-lines-'));
    const path = join(dir, 'connections.jsonl');
    const one = Buffer.byteLength(`${JSON.stringify(connectionLine(RECORDS[0], { host: 'x' }))}\n`);
    const lines = new ConnectionLines({ path, maxBytes: one * 5, keep: 2 });
    // 23 batches of one line; the host name makes lines differ slightly in size, so count what arrived.
    for (let i = 0; i < 23; i++) lines.write([{ ...RECORDS[0], id: i }]);
    lines.close();
    expect(existsSync(`${path}.1`)).toBe(true);
    expect(existsSync(`${path}.2`)).toBe(true);
    expect(existsSync(`${path}.3`)).toBe(false);
    const files = [`${path}.2`, `${path}.1`, path];
    for (const file of files) expect(statSync(file).size).toBeLessThanOrEqual(one * 5 + 64);
    const ids = files.flatMap((file) => parseLines(readFileSync(file, 'utf8')).map((l) => (l as { id: number }).id));
    // The newest lines, in order, none twice: older ones went with the dropped file.
    expect(ids).toEqual(Array.from({ length: ids.length }, (_v, i) => 23 - ids.length + i));
    for (const file of files) for (const line of parseLines(readFileSync(file, 'utf8'))) expect(connectionLineErrors(line)).toBeUndefined();
  });
});
