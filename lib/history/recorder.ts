// The recorder: follows NEW / UPDATE / DESTROY of the managed table and writes one history row per ended
// connection. Nothing is written per event: rows are buffered and flushed in one transaction every
// flushIntervalMs or flushRows. When the kernel drops events (ENOBUFS) the episode is counted exactly (the socket's
// drop counter), and the table is dumped to resynchronise what the recorder remembers about live connections.
// Nothing is lost without a record: a heartbeat every 10 s makes the time the console was down a gap at the next
// start; rows whose write failed are kept (up to MAX_UNWRITTEN) and retried, beyond that a counted gap; every 5 s
// the recorder checks that the managed namespace is still the one it subscribed in (its inode) and that its socket
// works, and subscribes again (a gap, events switched on again) when not; a corrupt history table stops recording.
// Entries already open at the start are noted (open-entries.ts) and reconciled against later dumps (the console's
// snapshots, and a background dump while any remain), so those that end without an event are recorded too
// (cause unobserved), and those this console deletes are recorded with the user who asked.
import { EventEmitter } from 'node:events';
import { statSync } from 'node:fs';
import { backgroundTurn, Conntrack, emptyFields, emptyProgress, matches, type Connection, type ConntrackEvent, type ConntrackEvents, type Filter, type Snapshot } from '@/lib/conntrack';
import { eventSocketDrops, setEventsSysctl, type EventsSysctl } from '@/lib/conntrack/event-support';
import { netnsPath } from '@/lib/netlink/netns';
import { describeStoreError, retryWhileBusy, sqliteCode } from '@/lib/store';
import { causeOf, closerOf, closerOfFlags, ClosersMap, type Cause } from './causes';
import type { HistoryConfig } from './config';
import { deletionIntents, type DeletionClaim } from './intents';
import type { ConnectionLines } from './lines';
import { OpenEntries, type OpenEntryEnd } from './open-entries';
import { jobError, type HistoryRecord, type HistoryStore } from './store';
import { HistoryWriter } from './writer';

const PRUNE_EVERY_MS = 60_000;
/** After an overflow, wait this long for the burst to pass before the resynchronising dump. */
const RESYNC_DELAY_MS = 250;
const DAY_MS = 86_400_000;
/** How often the recorder notes it is running; the time after the last note is a gap at the next start. */
export const HEARTBEAT_MS = 10_000;
/** How often the managed namespace and the event socket are checked. */
export const WATCH_MS = 5000;
/** Rows whose write failed are kept up to this many and retried; older ones beyond it are dropped and counted. */
export const MAX_UNWRITTEN = 100_000;
const DROP_SLACK = MAX_UNWRITTEN / 10;
/** Open entries recorded as ended per turn of the event loop (each builds its history row). */
const ENDED_PER_TURN = 2000;
const RETRY_WRITE_MS = 1000;
/** Rows handed to the writer at once (the rest wait for its answer): a few milliseconds of encoding. */
const WRITE_BATCH_ROWS = 20_000;
/** How long a shutdown waits for the writer to finish what it was given. */
const STOP_DRAIN_MS = 10_000;

/** What a value of net.netfilter.nf_conntrack_events means for the history. */
export function eventsSettingMeaning(value: number | null): string {
  if (value === 1) return 'every connection reports its end: the history is complete';
  if (value === 2) return 'only connections created while a listener exists report events: those created before the recorder subscribed (or while it was down) end unrecorded';
  if (value === 0) return 'no connection reports events: nothing is recorded';
  return 'unknown (nf_conntrack is not loaded, or the setting cannot be read)';
}

/** Which namespace this is: the device and inode of its file (or of our own), null when it is gone. */
export function namespaceIdentity(netns: string | undefined): string | null {
  try {
    const stat = statSync(netns ? netnsPath(netns) : '/proc/self/ns/net');
    return `${stat.dev}:${stat.ino}`;
  } catch {
    return null;
  }
}
/**
 * An open entry found gone (or deleted by this console) waits this long for a DESTROY event before it is recorded
 * from what was noted: an entry that does have an event cache reports its end itself, and it must not be recorded twice.
 */
const END_GRACE_MS = 3000;
/**
 * A reconcile lets the event loop run once a step has taken this long (checked every RECONCILE_BLOCK_ROWS rows or
 * slots of open entries, and per batch of a dump): a lookup of an open entry costs from 0.1 to over 1 us depending
 * on the machine's load, so a fixed number of rows per step stalled a loaded server for 30-100 ms per step at a
 * million entries.
 */
const RECONCILE_STEP_MS = 4;
const RECONCILE_BLOCK_ROWS = 2048;
/**
 * Between its steps, a dump or reconcile waits while a page of a snapshot is being answered, up to this long per
 * step: the first dump of a million entries at start held every first page of the console at half speed (its
 * steps took turns with the page's), and a reconcile competes with a new snapshot's first page the same way.
 */
const GIVE_WAY_MS = 250;
const nextTurn = () => backgroundTurn(GIVE_WAY_MS);

/**
 * visit(from, to) over [0, size()) a block of RECONCILE_BLOCK_ROWS at a time, the event loop let run (nextTurn)
 * once a step has taken RECONCILE_STEP_MS; size() is read again per block (what is walked may shrink meanwhile).
 */
async function inBlocks(size: () => number, visit: (from: number, to: number) => void): Promise<void> {
  let stepStarted = performance.now();
  for (let from = 0; from < size(); from += RECONCILE_BLOCK_ROWS) {
    if (from && performance.now() - stepStarted >= RECONCILE_STEP_MS) {
      await nextTurn();
      stepStarted = performance.now();
    }
    visit(from, Math.min(size(), from + RECONCILE_BLOCK_ROWS));
  }
}

/**
 * A snapshot of the managed table (of the entries matching `filter`) that only `read` reads: once read settles the
 * source may write a later snapshot over it.
 */
export type SnapshotSource = <T>(filter: Filter, read: (snapshot: Snapshot) => Promise<T>) => Promise<T>;

/** What live subscribers (the SSE route) are told. */
export type LiveChange =
  | { kind: 'new' | 'update'; connection: Connection }
  | { kind: 'destroy'; connection: Connection; cause: Cause; endedAt: number };

export interface RecorderStatus {
  running: boolean;
  /** Why the recorder is not running, when it is not. */
  error?: string;
  startedAt: string | null;
  /** net.netfilter.nf_conntrack_events of the managed namespace, and why it could not be set to 1. */
  eventsSysctl: EventsSysctl;
  receiveBufferBytes: number | null;
  /** Events received, rows recorded, rows waiting for the next flush, live connections whose first FIN is known. */
  received: number;
  recorded: number;
  pending: number;
  tracked: number;
  /** ENOBUFS reports since the recorder started, and whether a resynchronisation is under way. */
  overflows: number;
  resyncing: boolean;
  /** What eventsSysctl.value means for the history. */
  eventsMeaning: string;
  /** The managed namespace: its identity (device:inode), how often the recorder subscribed again, what is wrong. */
  namespace: { name: string | null; identity: string | null; resubscribed: number; error?: string };
  /** Rows whose write failed, waiting for the retry; rows dropped beyond MAX_UNWRITTEN; the last write error. */
  unwritten: number;
  droppedRows: number;
  writeError?: string;
  /** The history table is corrupt: recording has stopped. */
  storageError?: string;
  /** Where rows are written: a worker thread of its own, or this thread (an in-memory store, or the worker failed). */
  writer: 'thread' | 'main thread';
  /** Entries open when the recorder started (its first dump), and how many of them are still open and watched. */
  openAtStart: number;
  openWatched: number;
  /** Seconds between background reconciliation dumps while open entries remain. */
  reconcileSeconds: number;
  /** When the last reconciliation ran (a snapshot or a background dump), ISO 8601. */
  lastReconciledAt: string | null;
}

interface Episode {
  startedAt: number;
  overflows: number;
}

const nsToMs = (ns: bigint): number => Number(ns / 1_000_000n);

export function recordOf(connection: Connection, cause: Cause, closer: 1 | 2 | undefined, now: number): HistoryRecord {
  const c = connection;
  const record: HistoryRecord = {
    id: c.id ?? 0,
    family: c.family,
    original: c.original,
    reply: c.reply,
    status: c.status,
    zone: c.zone,
    mark: c.mark ?? 0,
    endedAt: c.timestamp?.stop ? nsToMs(c.timestamp.stop) : now,
    cause,
  };
  const state = c.protoinfo?.tcp?.state;
  if (state) record.state = state;
  if (c.timestamp?.start) record.startedAt = nsToMs(c.timestamp.start);
  if (c.counters) {
    record.counters = {
      original: { packets: Number(c.counters.original.packets), bytes: Number(c.counters.original.bytes) },
      reply: { packets: Number(c.counters.reply.packets), bytes: Number(c.counters.reply.bytes) },
    };
  }
  if (closer) record.closedBy = closer === 1 ? 'client' : 'server';
  return record;
}

export class HistoryRecorder {
  /** Live changes for subscribers; emitted only while someone listens. */
  readonly live = new EventEmitter<{ change: [LiveChange]; overflow: [{ overflows: number; at: number }] }>();
  private readonly conntrack: Conntrack;
  private readonly closers: ClosersMap;
  private events: ConntrackEvents | undefined;
  private pending: HistoryRecord[] = [];
  /** Rows the writer has now, and the promise that settles when it answered. */
  private writing: { rows: HistoryRecord[]; done?: Promise<void> } | undefined;
  private stopping = false;
  private writerInstance: HistoryWriter | undefined;
  private pruning = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private episode: Episode | undefined;
  private resyncing: { destroyed: Set<number>; noted: Set<number> } | undefined;
  /** deletedMatchingByConsole() walks under way. */
  private markingDeleted = 0;
  private dropsBaseline = 0;
  private sysctl: EventsSysctl = { value: null };
  private startedAt: Date | null = null;
  private error: string | undefined;
  private recorded = 0;
  /** NEW and DESTROY events received since start: the table's birth and death rates for the stats sampler. */
  private readonly totals = { created: 0, destroyed: 0 };
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private identity: string | null = null;
  private resubscribed = 0;
  private socketError: string | undefined;
  private namespaceError: string | undefined;
  private lastGood = Date.now();
  private unwrittenSince: number | undefined;
  private droppedRows = 0;
  private droppedSinceGap = 0;
  private writeError: string | undefined;
  private storageError: string | undefined;
  private readonly open = new OpenEntries();
  private openAtStart = 0;
  private generation = 0;
  /** Open entries known to have ended, recorded after END_GRACE_MS unless their DESTROY arrives first. */
  private readonly ending = new Map<number, OpenEntryEnd & { due: number }>();
  private endingTimer: NodeJS.Timeout | undefined;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private reconciling = false;
  private lastReconciledAt: number | null = null;
  /** When the first dump (that noted the open entries) began: older snapshots cannot tell what ended. */
  private openNotedAt = Number.POSITIVE_INFINITY;
  /**
   * Where the recorder's own snapshots come from: the console's snapshot registry once the console says so
   * (readSnapshotsWith: the snapshot takes a spare column buffer and leaves its own to the next snapshot, instead of
   * a new ~100 MB at a million entries every reconcile), else a new one of its own.
   */
  private snapshots: SnapshotSource | undefined;

  constructor(
    private readonly options: {
      netns?: string;
      store: HistoryStore;
      config: HistoryConfig;
      log?: (message: string) => void;
      /** Told how many events each loss episode dropped (for the metrics). */
      onLost?: (lostEvents: number) => void;
      /** Where ended connections also go as JSON lines (CONNTRACK_HISTORY_JSONL). */
      lines?: ConnectionLines;
    },
  ) {
    this.conntrack = new Conntrack({ netns: options.netns });
    this.closers = new ClosersMap(options.config.trackedMax);
    this.live.setMaxListeners(0);
  }

  /** The writer thread, started with the recorder (or the first write). */
  private get writer(): HistoryWriter {
    this.writerInstance ??= new HistoryWriter(this.options.store, (message) => this.log(message));
    return this.writerInstance;
  }

  private log(message: string): void {
    (this.options.log ?? console.warn)(`history: ${message}`);
  }

  /** Subscribes and seeds what it knows of live connections from a dump. Throws when it cannot subscribe. */
  async start(): Promise<void> {
    // Watching starts first: a namespace missing now is subscribed to once it appears.
    this.watchTimer = setInterval(() => void this.watch(), WATCH_MS).unref();
    this.heartbeatTimer = setInterval(() => this.beat(), HEARTBEAT_MS).unref();
    this.startedAt = new Date();
    this.recordDowntime(this.startedAt.getTime());
    this.writerInstance ??= new HistoryWriter(this.options.store, (message) => this.log(message));
    try {
      this.subscribe();
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
      throw error;
    }
    this.beat();
    this.pruneTimer = setInterval(() => this.prune(), PRUNE_EVERY_MS).unref();
    this.prune();
    await this.resync({ noteOpen: true });
    this.openAtStart = this.open.size;
    this.scheduleReconcile();
  }

  /** Switches events on in the managed namespace and opens the event socket there. */
  private subscribe(): void {
    const { config, netns } = this.options;
    this.identity = namespaceIdentity(netns);
    this.sysctl = config.setEventsSysctl ? setEventsSysctl(netns, 1) : { value: null };
    if (this.sysctl.error) this.log(`could not set net.netfilter.nf_conntrack_events=1 (${this.sysctl.error}): connections created while no listener exists will not be recorded`);
    const events = this.conntrack.events({ receiveBufferBytes: config.receiveBufferBytes });
    this.events = events;
    this.socketError = undefined;
    events.on('event', (event) => this.onEvent(event));
    events.on('overflow', () => this.onOverflow());
    events.on('error', (error) => {
      this.socketError = error.message;
      this.log(`event socket: ${error.message}`);
    });
    this.dropsBaseline = eventSocketDrops(netns) ?? 0;
  }

  /** The time since the last heartbeat of an earlier run is a gap: nothing was recorded then. */
  private recordDowntime(now: number): void {
    try {
      const last = this.options.store.lastHeartbeat();
      if (last !== null && last < now) this.options.store.recordGap({ startedAt: last, endedAt: now, overflows: 0, lostEvents: null, reason: 'down' });
    } catch (error) {
      this.log(`could not record the time the recorder was down: ${describeStoreError(error)}`);
    }
  }

  /** Notes that events are being recorded now (not while unsubscribed or stopped by a corrupt table). */
  private beat(): void {
    if (this.storageError || !this.events) return;
    try {
      this.options.store.heartbeat(Date.now());
    } catch (error) {
      this.log(`heartbeat not written: ${describeStoreError(error)}`);
    }
  }

  /** Subscribes again when the managed namespace was replaced (same name, new inode) or the socket failed. */
  private async watch(): Promise<void> {
    if (this.storageError) return;
    const now = namespaceIdentity(this.options.netns);
    if (now === null) {
      this.namespaceError = `the namespace ${this.options.netns ?? '(own)'} is gone: waiting for it to come back`;
      return;
    }
    const replaced = now !== this.identity;
    if (!replaced && !this.socketError && this.events) {
      this.namespaceError = undefined;
      this.lastGood = Date.now();
      return;
    }
    const why = !this.events ? 'the recorder was not subscribed' : replaced ? 'the managed namespace was replaced' : `the event socket failed (${this.socketError ?? 'closed'})`;
    this.flush();
    this.events?.close();
    this.events = undefined;
    try {
      this.subscribe();
      this.resubscribed++;
      this.namespaceError = undefined;
      this.error = undefined;
      this.closers.retain(new Set());
      const at = Date.now();
      try {
        this.options.store.recordGap({ startedAt: this.lastGood, endedAt: at, overflows: 0, lostEvents: null, reason: 'namespace' });
      } catch (error) {
        this.log(`could not record the gap: ${describeStoreError(error)}`);
      }
      this.lastGood = at;
      this.log(`${why}: subscribed again`);
      await this.resync();
    } catch (error) {
      this.namespaceError = `${why}, and subscribing again failed: ${(error as Error).message}`;
      this.log(this.namespaceError);
    }
  }

  /**
   * Checks the history table in the background (every row read, a chunk at a time): when it is corrupt, recording
   * stops and the status says why, while the rest of the console keeps working.
   */
  async checkStorage(): Promise<void> {
    try {
      await this.options.store.scan(nextTurn);
    } catch (error) {
      if (sqliteCode(error)) this.stopRecording(error);
      else throw error;
    }
  }

  private stopRecording(error: unknown): void {
    this.storageError = `the history table is corrupt or unreadable: ${describeStoreError(error)}; recording has stopped (restore console.db from a backup, or clear the history)`;
    this.log(this.storageError);
    this.pending = [];
    this.writing = undefined;
    this.events?.close();
    this.events = undefined;
  }

  private onEvent({ kind, connection }: ConntrackEvent): void {
    const id = connection.id;
    if (kind === 'new') this.totals.created++;
    if (kind === 'destroy') {
      this.totals.destroyed++;
      const closer = id === undefined ? undefined : this.closers.take(id);
      if (id !== undefined) {
        this.resyncing?.destroyed.add(id);
        // An entry open at the start that does report its end: the event is its one row.
        if (this.open.matches(connection)) {
          this.open.forget(id);
          this.ending.delete(id);
        }
      }
      const claim = deletionIntents().claim(connection);
      const cause = causeOf(connection, closer, claim?.cause);
      const record = recordOf(connection, cause, closer, Date.now());
      if (claim?.user && (cause === 'admin' || cause === 'flush')) record.deletedBy = claim.user;
      this.push(record);
      if (this.live.listenerCount('change')) this.live.emit('change', { kind, connection, cause, endedAt: record.endedAt });
      return;
    }
    const closer = closerOf(connection);
    if (closer && id !== undefined) {
      this.closers.note(id, closer);
      this.resyncing?.noted.add(id);
    }
    if (this.live.listenerCount('change')) this.live.emit('change', { kind, connection });
  }

  private onOverflow(): void {
    const at = Date.now();
    this.episode ??= { startedAt: at, overflows: 0 };
    this.episode.overflows++;
    if (this.live.listenerCount('overflow')) this.live.emit('overflow', { overflows: this.events?.overflows ?? 0, at });
    if (!this.resyncTimer && !this.resyncing) this.resyncTimer = setTimeout(() => void this.resyncAfterLoss(), RESYNC_DELAY_MS);
  }

  private async resyncAfterLoss(): Promise<void> {
    this.resyncTimer = undefined;
    const episode = this.episode;
    this.episode = undefined;
    try {
      await this.resync();
    } catch (error) {
      this.log(`resynchronisation failed: ${(error as Error).message}`);
    }
    if (!episode) return;
    const drops = eventSocketDrops(this.options.netns);
    const lostEvents = drops === null ? null : Math.max(0, drops - this.dropsBaseline);
    if (drops !== null) this.dropsBaseline = drops;
    if (lostEvents) this.options.onLost?.(lostEvents);
    this.flush();
    try {
      // The count of lost events must not be lost to a lock the writer's thread holds for a moment.
      const endedAt = Date.now();
      await retryWhileBusy(() => this.options.store.recordGap({ startedAt: episode.startedAt, endedAt, overflows: episode.overflows, lostEvents }));
    } catch (error) {
      this.log(`could not record an event-loss gap: ${(error as Error).message}`);
    }
    this.log(`the kernel dropped ${lostEvents ?? 'an unknown number of'} events (${episode.overflows} overflows): resynchronised from a dump`);
    // Events lost while the dump ran: another round.
    if (this.episode) this.resyncTimer ??= setTimeout(() => void this.resyncAfterLoss(), RESYNC_DELAY_MS);
  }

  private push(record: HistoryRecord): void {
    this.pending.push(record);
    // While the writer is behind, the rows it has not been given are bounded too (the oldest go, counted): a slice
    // once DROP_SLACK rows past the bound, not one per row (a hundred thousand rows copied for each one pushed held
    // the server for minutes when a million open entries ended at once). status() and flush() trim to the bound.
    if (this.pending.length > MAX_UNWRITTEN + DROP_SLACK) this.dropOldest();
    // While writes fail, the retry timer decides when to try again (not every event).
    if (this.pending.length >= this.options.config.flushRows && !this.writeError) this.flush();
    else this.flushTimer ??= setTimeout(() => this.flush(), this.options.config.flushIntervalMs);
  }

  /** Keeps the newest MAX_UNWRITTEN rows waiting; the ones dropped are counted, and a gap once writes catch up. */
  private dropOldest(): void {
    const excess = this.pending.length - MAX_UNWRITTEN;
    if (excess <= 0) return;
    this.pending = this.pending.slice(excess);
    this.droppedRows += excess;
    this.droppedSinceGap += excess;
    this.unwrittenSince ??= Date.now();
  }

  /**
   * Dumps the table (a columnar snapshot): reads who sent the first FIN of every live TCP connection (the flags are in dump rows) and
   * forgets connections that are gone (their DESTROY was lost, so they are not in the history: see README.md). The
   * first dump also notes every entry open at the start; later ones reconcile those against the table.
   */
  private async resync(options: { noteOpen?: boolean } = {}): Promise<void> {
    const state = { destroyed: new Set<number>(), noted: new Set<number>() };
    this.resyncing = state;
    try {
      const live = new Set<number>();
      const generation = ++this.generation;
      const started = Date.now();
      if (options.noteOpen) this.openNotedAt = started;
      const watch = options.noteOpen || this.open.size > 0;
      // A columnar snapshot, read a block of rows at a time: a dump decoded into Connections made the first one at a
      // million entries allocate a million objects and parse four million addresses, alongside the console's first
      // pages and refresh.
      await this.readSnapshot(watch ? {} : { protocol: 6 }, (snapshot) => this.noteRows(snapshot, state.destroyed, live, options.noteOpen === true, started, generation));
      for (const id of state.noted) if (!state.destroyed.has(id)) live.add(id);
      this.closers.retain(live);
      if (watch && !options.noteOpen) await this.endUnseenInTurns(generation, started, Date.now());
    } finally {
      this.resyncing = undefined;
    }
  }

  /** resync()'s pass over a snapshot's rows, a block at a time. */
  private async noteRows(snapshot: Snapshot, destroyed: ReadonlySet<number>, live: Set<number>, noteOpen: boolean, started: number, generation: number): Promise<void> {
    const fields = emptyFields();
    if (noteOpen) this.open.reserve(this.open.size + snapshot.size);
    await inBlocks(
      () => snapshot.size,
      (from, to) => {
        for (let row = from; row < to; row++) {
          const f = snapshot.fieldsAt(row, fields);
          const id = f.id;
          if (id < 0 || destroyed.has(id)) continue;
          const closer = f.protocol === 6 ? closerOfFlags(f.flagsOriginal, f.flagsReply) : undefined;
          if (closer) this.closers.note(id, closer);
          // Only ids with a closer noted matter to retain(): a set of every live id was a million more entries.
          if (f.protocol === 6 && this.closers.has(id)) live.add(id);
          if (noteOpen || this.open.has(id)) this.open.noteRow(snapshot, row, f, started, generation, closer ?? 0);
        }
      },
    );
  }

  /**
   * Takes the recorder's snapshots (start-up dump, resyncs, background reconciles) from `source` from now on, when
   * `netns` (the source's namespace) is the one the recorder watches.
   */
  readSnapshotsWith(netns: string | undefined, source: SnapshotSource): void {
    if ((netns || undefined) === (this.options.netns || undefined)) this.snapshots = source;
  }

  private async readSnapshot<T>(filter: Filter, read: (snapshot: Snapshot) => Promise<T>): Promise<T> {
    if (this.snapshots) return this.snapshots(filter, read);
    return read(await this.conntrack.snapshot(filter));
  }

  /**
   * Open entries the dump of `generation` (which ran from `started` to `finished`) did not see: they ended
   * unobserved. In steps of about RECONCILE_STEP_MS (a million open entries are a million slots to visit). No block
   * is visited while a console delete's entries are being found (deletedMatchingByConsole): the ones that walk has
   * not reached yet would be taken for unobserved ends; what is skipped is ended by a later reconcile.
   */
  private async endUnseenInTurns(generation: number, started: number, finished: number): Promise<void> {
    this.lastReconciledAt = finished;
    // A block of slots at a time, the clock read between blocks: when few entries ended, walking a million slots
    // finds few ids, and a walk that only checked the clock per id found went through all of them in one turn.
    const unseen: number[] = [];
    await inBlocks(
      () => this.open.slotCount,
      (from, to) => {
        if (this.markingDeleted) return;
        unseen.length = 0;
        this.open.unseenIn(generation, from, to, unseen);
        for (const id of unseen) this.endUnseenOne(id, started, finished);
      },
    );
    this.scheduleEnding();
  }

  private endUnseenOne(id: number, started: number, finished: number): void {
    // Seen by a dump that started later than this one (or noted from an event meanwhile): still open.
    if (this.ending.has(id) || (this.open.lastSeen(id) ?? 0) > started) return;
    this.ending.set(id, { cause: 'unobserved', endedAfter: this.open.lastSeen(id) ?? started, endedBefore: finished, due: Date.now() + END_GRACE_MS });
  }

  /** Reconciles the open entries with a snapshot the console took (a refresh): cheaper than a dump of our own. */
  async reconcileWith(snapshot: Snapshot): Promise<void> {
    // Not while a dump is noting entries: the ones it notes after this pass went by would look unseen (ended).
    if (this.reconciling || this.resyncing) return;
    this.reconciling = true;
    try {
      await this.reconcileAgainst(snapshot);
    } finally {
      this.reconciling = false;
      this.scheduleReconcile();
    }
  }

  /**
   * Refreshes the open entries a snapshot holds and ends the ones it does not. One pass over the rows reading
   * columns (no id order to sort, no Connection or address text per entry), then one over the open entries, letting
   * the event loop run every RECONCILE_STEP_MS: a refresh of a million entries must not stall the server.
   */
  private async reconcileAgainst(snapshot: Snapshot): Promise<void> {
    const started = snapshot.info.takenAt.getTime();
    if (!this.open.size || started < this.openNotedAt) return;
    const generation = ++this.generation;
    const progress = emptyProgress();
    await inBlocks(
      () => snapshot.size,
      (from, to) => {
        for (let row = from; row < to; row++) {
          const id = snapshot.idAt(row);
          const slot = id >= 0 ? this.open.slotFor(id) : -1;
          if (slot >= 0) this.open.refreshSlot(slot, snapshot.progressAt(row, progress), started, generation);
        }
      },
    );
    await this.endUnseenInTurns(generation, started, started + Math.ceil(snapshot.info.tookMs));
  }

  /**
   * The console deleted these entries (what its own snapshot or dump saw of them) for `claim.user`. The open ones
   * that cannot report their end are recorded from this, with the counters as seen; the others report it themselves.
   */
  deletedByConsole(connections: readonly Connection[], claim: DeletionClaim): void {
    const now = Date.now();
    for (const connection of connections) {
      const id = connection.id;
      if (id === undefined || !this.open.matches(connection)) continue;
      this.open.note(connection, now, this.generation);
      // Set again at the end of the map: recordEnded() takes entries in the order they fall due.
      this.ending.delete(id);
      this.ending.set(id, { cause: claim.cause, endedAfter: now, endedBefore: now, endedAt: now, deletedBy: claim.user, due: now + END_GRACE_MS });
    }
    this.scheduleEnding();
  }

  /**
   * The console deleted every entry matching `filter` (a delete by filter, a flush) without a list of them: the open
   * entries it covers are found a block of slots at a time (a million may be open; each is matched as a Connection).
   * Meanwhile no unseen entry is ended (endUnseenInTurns), by a reconcile or a resync alike.
   */
  async deletedMatchingByConsole(filter: Filter, claim: DeletionClaim): Promise<void> {
    const now = Date.now();
    const test = (connection: Connection) => matches(filter, connection);
    const found: number[] = [];
    this.markingDeleted++;
    try {
      await inBlocks(
        () => this.open.slotCount,
        (from, to) => {
          found.length = 0;
          this.open.matchingIn(from, to, test, found);
          for (const id of found) {
            if (this.ending.has(id)) continue;
            this.ending.set(id, { cause: claim.cause, endedAfter: now, endedBefore: now, endedAt: now, deletedBy: claim.user, due: now + END_GRACE_MS });
          }
        },
      );
    } finally {
      this.markingDeleted--;
      this.scheduleEnding();
    }
  }

  private scheduleEnding(): void {
    if (this.endingTimer || !this.ending.size) return;
    this.endingTimer = setTimeout(() => this.recordEndedDue(), END_GRACE_MS).unref();
  }

  /** Records the open entries whose grace has passed, ENDED_PER_TURN at a time (a million may end at once). */
  private recordEndedDue(): void {
    this.endingTimer = undefined;
    if (this.recordEnded(false, ENDED_PER_TURN)) this.endingTimer = setTimeout(() => this.recordEndedDue(), 0).unref();
    else this.scheduleEnding();
  }

  /**
   * Records the open entries whose grace has passed (all of them on `all`, at shutdown), at most `limit`; whether
   * more are due. Entries are due in the order they were set (each END_GRACE_MS after), so the walk stops at the
   * first one not due yet.
   */
  private recordEnded(all: boolean, limit = Number.POSITIVE_INFINITY): boolean {
    const now = Date.now();
    let recorded = 0;
    for (const [id, end] of this.ending) {
      if (!all && end.due > now) return false;
      if (recorded++ === limit) return true;
      this.ending.delete(id);
      const record = this.open.take(id, end);
      if (record) this.push(record);
    }
    return false;
  }

  /** The background reconciliation: a dump every reconcileSeconds, only while entries open at the start remain. */
  private scheduleReconcile(): void {
    if (this.reconcileTimer) clearTimeout(this.reconcileTimer);
    this.reconcileTimer = undefined;
    if (!this.open.size || !this.events) return;
    this.reconcileTimer = setTimeout(() => {
      this.reconcileTimer = undefined;
      void this.reconcileNow();
    }, this.options.config.reconcileSeconds * 1000).unref();
  }

  /** Reconciles the open entries with a dump now (also what the background timer runs). */
  async reconcileNow(): Promise<void> {
    if (this.reconciling || this.resyncing || !this.open.size) return this.scheduleReconcile();
    this.reconciling = true;
    try {
      // A columnar snapshot, not a decoded dump: the same table read at a fraction of the cost.
      await this.readSnapshot({}, (snapshot) => this.reconcileAgainst(snapshot));
    } catch (error) {
      this.log(`reconciliation dump failed: ${(error as Error).message}`);
    } finally {
      this.reconciling = false;
      this.scheduleReconcile();
    }
  }

  /**
   * Hands the buffered rows to the writer (its thread writes them; one batch at a time, the next when it answered),
   * then applies the row limit. Rows whose write fails are kept (the newest MAX_UNWRITTEN) and tried again; the ones
   * dropped beyond that are a counted gap. Returns at once: `flushed()` waits for the rows to be in the table.
   */
  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.dropOldest();
    if (!this.pending.length || this.storageError || this.writing) return;
    const rows = this.pending.length > WRITE_BATCH_ROWS ? this.pending.slice(0, WRITE_BATCH_ROWS) : this.pending;
    this.pending = rows === this.pending ? [] : this.pending.slice(rows.length);
    try {
      this.options.lines?.write(rows);
    } catch (error) {
      this.log(`could not write ${rows.length} connection lines: ${(error as Error).message}`);
    }
    const batch: { rows: HistoryRecord[]; done?: Promise<void> } = { rows };
    this.writing = batch;
    batch.done = new Promise((resolve) =>
      this.writer.insert(rows, (result) => {
        this.written(batch, result.rows, result.error && jobError(result.error));
        resolve();
      }),
    );
  }

  /** The writer answered for a batch: `count` of its rows are in the table, the rest failed with `error`. */
  private written(batch: { rows: HistoryRecord[] }, count: number, error: Error | undefined): void {
    if (this.writing !== batch) return;
    this.writing = undefined;
    this.recorded += count;
    if (error) {
      const code = sqliteCode(error) ?? '';
      if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') return this.stopRecording(error);
      this.writeError = describeStoreError(error);
      this.unwrittenSince ??= Date.now();
      this.pending = [...batch.rows.slice(count), ...this.pending];
      this.dropOldest();
      this.log(`could not write ${batch.rows.length - count} history rows (${this.writeError}): kept ${this.pending.length} to retry`);
      if (this.flushTimer) clearTimeout(this.flushTimer);
      if (!this.stopping) this.flushTimer = setTimeout(() => this.flush(), RETRY_WRITE_MS);
      return;
    }
    this.writeError = undefined;
    if (this.unwrittenSince !== undefined) this.recordUnwritten();
    if (this.stopping) return;
    const { maxRows } = this.options.config;
    // Past the cap the oldest partition goes (writer-job.ts): a few ms of work once a partition's rows came in.
    if (maxRows > 0 && this.options.store.size > maxRows) void this.pruneRows({ maxRows });
    if (this.pending.length >= this.options.config.flushRows) this.flush();
    else if (this.pending.length) this.flushTimer ??= setTimeout(() => this.flush(), this.options.config.flushIntervalMs);
  }

  /**
   * Writes what is buffered and resolves once it is in the table (what a read of the history must see: a connection
   * that just ended), or once a write failed (the rows are kept for the retry).
   */
  async flushed(): Promise<void> {
    for (;;) {
      this.flush();
      if (this.writing) await this.writing.done;
      if (this.writeError || this.storageError || (!this.pending.length && !this.writing)) return;
    }
  }

  /** Writes work again: the rows dropped meanwhile (if any) become a gap. */
  private recordUnwritten(): void {
    const since = this.unwrittenSince ?? Date.now();
    this.unwrittenSince = undefined;
    if (!this.droppedSinceGap) return;
    try {
      this.options.store.recordGap({ startedAt: since, endedAt: Date.now(), overflows: 0, lostEvents: null, reason: 'unwritten', lostRows: this.droppedSinceGap });
      this.droppedSinceGap = 0;
    } catch (error) {
      this.log(`could not record the rows that were not written: ${describeStoreError(error)}`);
    }
  }

  /** Applies the retention (age and rows), in the writer's thread. */
  prune(): void {
    const { retentionDays, maxRows } = this.options.config;
    void this.pruneRows({ olderThan: retentionDays > 0 ? Date.now() - retentionDays * DAY_MS : undefined, maxRows });
  }

  private async pruneRows(options: { olderThan?: number; maxRows: number }): Promise<void> {
    if (this.pruning) return;
    this.pruning = true;
    try {
      const { error } = await this.writer.prune(options);
      if (error) this.log(`pruning failed: ${describeStoreError(jobError(error))}`);
    } finally {
      this.pruning = false;
    }
  }

  /** NEW and DESTROY events received since the recorder started. */
  eventTotals(): { created: number; destroyed: number } {
    return { ...this.totals };
  }

  status(): RecorderStatus {
    this.dropOldest();
    const events = this.events;
    let receiveBufferBytes: number | null = null;
    try {
      receiveBufferBytes = events ? events.receiveBufferBytes : null;
    } catch {
      receiveBufferBytes = null;
    }
    return {
      running: Boolean(events) && !this.error && !this.storageError && !this.namespaceError,
      error: this.storageError ?? this.namespaceError ?? this.error,
      startedAt: this.startedAt?.toISOString() ?? null,
      eventsSysctl: this.sysctl,
      receiveBufferBytes,
      received: events?.received ?? 0,
      recorded: this.recorded,
      pending: this.pending.length + (this.writing?.rows.length ?? 0),
      tracked: this.closers.size,
      overflows: events?.overflows ?? 0,
      resyncing: Boolean(this.resyncing) || Boolean(this.resyncTimer),
      eventsMeaning: eventsSettingMeaning(this.sysctl.value),
      namespace: { name: this.options.netns ?? null, identity: this.identity, resubscribed: this.resubscribed, ...(this.namespaceError ? { error: this.namespaceError } : {}) },
      unwritten: this.writeError ? this.pending.length + (this.writing?.rows.length ?? 0) : 0,
      droppedRows: this.droppedRows,
      writer: (this.writerInstance ? this.writerInstance.threaded : !this.options.store.db.memory) ? 'thread' : 'main thread',
      ...(this.writeError ? { writeError: this.writeError } : {}),
      ...(this.storageError ? { storageError: this.storageError } : {}),
      openAtStart: this.openAtStart,
      openWatched: this.open.size,
      reconcileSeconds: this.options.config.reconcileSeconds,
      lastReconciledAt: this.lastReconciledAt === null ? null : new Date(this.lastReconciledAt).toISOString(),
    };
  }

  /** Writes what is buffered and stops listening. Synchronous, so it can run in a process 'exit' handler. */
  stop(): void {
    // Entries known to have ended are written now rather than lost with the process: the writer is given them and
    // waited for (it runs on its own thread; this one blocks, as a synchronous insert would).
    this.stopping = true;
    this.recordEnded(true);
    for (;;) {
      this.flush();
      if (this.writing && !this.writerInstance?.drain(STOP_DRAIN_MS)) break;
      if (this.writeError || this.storageError || !this.pending.length) break;
    }
    this.writerInstance?.close();
    this.beat();
    for (const timer of [this.pruneTimer, this.resyncTimer, this.heartbeatTimer, this.watchTimer, this.flushTimer, this.endingTimer, this.reconcileTimer]) if (timer) clearTimeout(timer);
    this.events?.close();
    this.events = undefined;
    this.options.lines?.close();
    this.live.removeAllListeners();
  }
}
