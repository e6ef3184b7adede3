// The recorder keeps rows whose write failed (up to MAX_UNWRITTEN) and writes them once the store takes writes
// again, recording the ones dropped beyond that as a gap; the causes given for a namespace that cannot be used,
// read from a /proc/self/status as the kernel writes it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { namespaceProblem, processPrivileges } from '@/lib/netlink/errors';
import { HistoryStore } from '@/lib/history';
import { HISTORY_DEFAULTS } from '@/lib/history/config';
import { eventsSettingMeaning, HistoryRecorder, MAX_UNWRITTEN } from '@/lib/history/recorder';
import { openStore } from '@/lib/store';
import { parseFilter } from '@/lib/conntrack';
import { SnapshotBuilder } from '@/lib/conntrack/snapshot';
import { endedUdp, eventFeed } from '../support/ended';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});


describe('rows whose write failed', () => {
  it('are kept and retried; beyond MAX_UNWRITTEN the oldest are dropped and recorded as a gap', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ctc-rel-unit-'));
    const store = new HistoryStore(openStore(dir));
    const logs: string[] = [];
    const recorder = new HistoryRecorder({ store, config: { ...HISTORY_DEFAULTS, flushRows: 50_000 }, log: (m) => logs.push(m) });
    const feed = eventFeed(recorder);
    store.db.exec("CREATE TRIGGER history_full BEFORE INSERT ON history BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    try {
      for (let i = 0; i < MAX_UNWRITTEN + 25; i++) feed({ kind: 'destroy', connection: endedUdp(i) });
      await recorder.flushed();
      const status = recorder.status();
      expect(status.unwritten).toBe(MAX_UNWRITTEN);
      expect(status.droppedRows).toBe(25);
      expect(status.writeError).toContain('disk full');
      expect(store.size).toBe(0);
      expect(logs.some((line) => line.includes(`kept ${MAX_UNWRITTEN} to retry`))).toBe(true);
    } finally {
      store.db.exec('DROP TRIGGER history_full');
    }
    await recorder.flushed();
    expect(store.size).toBe(MAX_UNWRITTEN);
    expect(recorder.status()).toMatchObject({ unwritten: 0, recorded: MAX_UNWRITTEN, droppedRows: 25 });
    expect(store.gaps()).toMatchObject({ gaps: 1, unwrittenRows: 25 });
    // The oldest were dropped: the first kept row is number 25.
    expect((store.db.prepare('SELECT MIN(id) AS id FROM history').get() as { id: number }).id).toBe(26);
    recorder.stop();
    store.db.close();
  }, 120_000);
});

/** A recorder with the default settings on a store in a new temporary directory, its log discarded. */
function quietRecorder() {
  dir = mkdtempSync(join(tmpdir(), 'ctc-rel-unit-'));
  const store = new HistoryStore(openStore(dir));
  return { store, recorder: new HistoryRecorder({ store, config: HISTORY_DEFAULTS, log: () => undefined }) };
}

/** UDP entry i of a big table: distinct tuples (60,000 source ports per destination port from 53 up), id i + 1. */
const udpEntry = (i: number) => ({ ...endedUdp(i), original: { ...endedUdp(i).original, sport: 1000 + (i % 60000), dport: 53 + Math.floor(i / 60000) }, timeout: 30 });

/** A snapshot of the entries 0 .. rows - 1 that `keep` keeps. */
function udpTable(rows: number, takenAt: Date, keep: (i: number) => boolean = () => true) {
  const builder = new SnapshotBuilder(rows);
  for (let i = 0; i < rows; i++) if (keep(i)) builder.addConnection(udpEntry(i));
  return builder.finish({ takenAt, tookMs: 1 });
}

describe('entries open at the start', () => {
  it('a refresh reconciled while the start-up dump is still noting them ends none of them', async () => {
    const { store, recorder } = quietRecorder();
    const rows = 500_000;
    const atStart = udpTable(rows, new Date());
    const refresh = udpTable(rows, new Date(Date.now() + 1000));
    let reconciled: Promise<void> | undefined;
    recorder.readSnapshotsWith(undefined, async (_filter, read) => {
      const noting = read(atStart);
      // The dump's walk lets the event loop run between its blocks: the console's refresh reconciles meanwhile.
      await new Promise((resolve) => setImmediate(resolve));
      reconciled = recorder.reconcileWith(refresh);
      return noting;
    });
    await (recorder as unknown as { resync(options: { noteOpen: boolean }): Promise<void> }).resync({ noteOpen: true });
    await reconciled;
    // Every entry is in both snapshots: none was found ended, and all are still watched.
    expect((recorder as unknown as { ending: Map<number, unknown> }).ending.size).toBe(0);
    expect(recorder.status().openWatched).toBe(rows);
    recorder.stop();
    expect(store.size).toBe(0);
    store.db.close();
  }, 120_000);
});

describe('a console delete by filter with many entries open', () => {
  it('finds its open entries a block at a time, every one as deleted by whom, while a refresh meanwhile ends none as unobserved', async () => {
    const { store, recorder } = quietRecorder();
    const rows = 300_000;
    const atStart = udpTable(rows, new Date());
    recorder.readSnapshotsWith(undefined, (_filter, read) => read(atStart));
    await (recorder as unknown as { resync(options: { noteOpen: boolean }): Promise<void> }).resync({ noteOpen: true });
    expect(recorder.status().openWatched).toBe(rows);
    const deleted = (i: number) => udpEntry(i).original.dport === 53;
    const expected = Array.from({ length: rows }, (_, i) => i).filter(deleted).length;
    expect(expected).toBeGreaterThan(0);
    const ending = (recorder as unknown as { ending: Map<number, { cause: string; deletedBy?: string }> }).ending;

    const marked = recorder.deletedMatchingByConsole(parseFilter({ dport: '53' }), { cause: 'admin', user: 'alice' });
    await new Promise((resolve) => setImmediate(resolve));
    // It let the event loop run before it was through the open entries...
    expect(ending.size).toBeLessThan(expected);
    // ...and a refresh taken after the delete (without the deleted entries) is not reconciled meanwhile.
    await recorder.reconcileWith(udpTable(rows, new Date(Date.now() + 1000), (i) => !deleted(i)));
    await marked;
    expect(ending.size).toBe(expected);
    expect([...ending.values()].every((end) => end.cause === 'admin' && end.deletedBy === 'alice')).toBe(true);
    expect([...ending.keys()].every((id) => deleted(id - 1))).toBe(true); // ids are i + 1
    recorder.stop();
    store.db.close();
  }, 120_000);
});

describe('the events setting', () => {
  it('says what each value means for the history', () => {
    expect(eventsSettingMeaning(1)).toContain('complete');
    expect(eventsSettingMeaning(2)).toContain('created before the recorder subscribed');
    expect(eventsSettingMeaning(0)).toContain('nothing is recorded');
    expect(eventsSettingMeaning(null)).toContain('unknown');
  });
});

// A real /proc/self/status, shortened: root with every capability, no seccomp.
const STATUS = 'Name:\tnode\nUid:\t0\t0\t0\t0\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\nNoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\n';

describe('a namespace that cannot be used', () => {
  const base = { netns: 'wan', path: '/var/run/netns/wan' };
  it('names the missing namespace, not a missing connection', () => {
    const text = namespaceProblem({ ...base, code: 'ENOENT', step: 'open' });
    expect(text).toContain('"wan" does not exist (no /var/run/netns/wan)');
    expect(text).toContain('ip netns add wan');
  });
  it('names CAP_SYS_ADMIN when only CAP_NET_ADMIN is there', () => {
    const netAdminOnly = processPrivileges(STATUS.replace('CapEff:\t000001ffffffffff', 'CapEff:\t0000000000001000'));
    expect(netAdminOnly.capEff).toBe(1n << 12n);
    expect(namespaceProblem({ ...base, code: 'EPERM', step: 'enter', privileges: netAdminOnly })).toContain('needs CAP_SYS_ADMIN besides CAP_NET_ADMIN');
  });
  it('names the sandbox when CAP_SYS_ADMIN is there but a seccomp filter (RestrictNamespaces=yes) refuses', () => {
    const sandboxed = processPrivileges(STATUS.replace('Seccomp:\t0', 'Seccomp:\t2'));
    expect(sandboxed.seccomp).toBe(true);
    expect(namespaceProblem({ ...base, code: 'EPERM', step: 'enter', privileges: sandboxed })).toContain('RestrictNamespaces=net');
  });
});
