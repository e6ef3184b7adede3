// The recorder: follows NEW / UPDATE / DESTROY of the managed table and writes one history row per ended
// connection. Nothing is written per event: rows are buffered and flushed in one transaction every
// flushIntervalMs or flushRows. When the kernel drops events (ENOBUFS) the episode is counted exactly (the socket's
// drop counter), and the table is dumped to resynchronise what the recorder remembers about live connections.
import { EventEmitter } from 'node:events';
import { Conntrack, type Connection, type ConntrackEvent, type ConntrackEvents } from '@/lib/conntrack';
import { eventSocketDrops, setEventsSysctl, type EventsSysctl } from '@/lib/conntrack/event-support';
import { causeOf, closerOf, ClosersMap, type Cause } from './causes';
import type { HistoryConfig } from './config';
import { deletionIntents } from './intents';
import type { HistoryRecord, HistoryStore } from './store';

const PRUNE_EVERY_MS = 60_000;
/** After an overflow, wait this long for the burst to pass before the resynchronising dump. */
const RESYNC_DELAY_MS = 250;
const DAY_MS = 86_400_000;

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
  private flushTimer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private episode: Episode | undefined;
  private resyncing: { destroyed: Set<number>; noted: Set<number> } | undefined;
  private dropsBaseline = 0;
  private sysctl: EventsSysctl = { value: null };
  private startedAt: Date | null = null;
  private error: string | undefined;
  private recorded = 0;

  constructor(
    private readonly options: {
      netns?: string;
      store: HistoryStore;
      config: HistoryConfig;
      log?: (message: string) => void;
      /** Told how many events each loss episode dropped (for the metrics). */
      onLost?: (lostEvents: number) => void;
    },
  ) {
    this.conntrack = new Conntrack({ netns: options.netns });
    this.closers = new ClosersMap(options.config.trackedMax);
    this.live.setMaxListeners(0);
  }

  private log(message: string): void {
    (this.options.log ?? console.warn)(`history: ${message}`);
  }

  /** Subscribes and seeds what it knows of live connections from a dump. Throws when it cannot subscribe. */
  async start(): Promise<void> {
    const { config, netns } = this.options;
    try {
      this.sysctl = config.setEventsSysctl ? setEventsSysctl(netns, 1) : { value: null };
      if (this.sysctl.error) this.log(`could not set net.netfilter.nf_conntrack_events=1 (${this.sysctl.error}): connections created while no listener exists will not be recorded`);
      const events = this.conntrack.events({ receiveBufferBytes: config.receiveBufferBytes });
      this.events = events;
      events.on('event', (event) => this.onEvent(event));
      events.on('overflow', () => this.onOverflow());
      events.on('error', (error) => this.log(`event socket: ${error.message}`));
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
      throw error;
    }
    this.startedAt = new Date();
    this.dropsBaseline = eventSocketDrops(netns) ?? 0;
    this.pruneTimer = setInterval(() => this.prune(), PRUNE_EVERY_MS).unref();
    this.prune();
    await this.resync();
  }

  private onEvent({ kind, connection }: ConntrackEvent): void {
    const id = connection.id;
    if (kind === 'destroy') {
      const closer = id === undefined ? undefined : this.closers.take(id);
      if (id !== undefined) this.resyncing?.destroyed.add(id);
      const cause = causeOf(connection, closer, deletionIntents().claim(connection));
      const record = recordOf(connection, cause, closer, Date.now());
      this.pending.push(record);
      if (this.pending.length >= this.options.config.flushRows) this.flush();
      else this.flushTimer ??= setTimeout(() => this.flush(), this.options.config.flushIntervalMs);
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
      this.options.store.recordGap({ startedAt: episode.startedAt, endedAt: Date.now(), overflows: episode.overflows, lostEvents });
    } catch (error) {
      this.log(`could not record an event-loss gap: ${(error as Error).message}`);
    }
    this.log(`the kernel dropped ${lostEvents ?? 'an unknown number of'} events (${episode.overflows} overflows): resynchronised from a dump`);
    // Events lost while the dump ran: another round.
    if (this.episode) this.resyncTimer ??= setTimeout(() => void this.resyncAfterLoss(), RESYNC_DELAY_MS);
  }

  /**
   * Reads who sent the first FIN of every live TCP connection from a dump (the flags are in dump rows), and forgets
   * connections that are gone: their DESTROY was lost, so they are not in the history (see README.md).
   */
  private async resync(): Promise<void> {
    const state = { destroyed: new Set<number>(), noted: new Set<number>() };
    this.resyncing = state;
    try {
      const live = new Set<number>();
      for await (const batch of this.conntrack.dump({ protocol: 6 })) {
        for (const connection of batch) {
          const id = connection.id;
          if (id === undefined || state.destroyed.has(id)) continue;
          live.add(id);
          const closer = closerOf(connection);
          if (closer) this.closers.note(id, closer);
        }
      }
      for (const id of state.noted) if (!state.destroyed.has(id)) live.add(id);
      this.closers.retain(live);
    } finally {
      this.resyncing = undefined;
    }
  }

  /** Writes the buffered rows in one transaction, then applies the row limit. */
  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (!this.pending.length) return;
    const rows = this.pending;
    this.pending = [];
    try {
      this.options.store.insert(rows);
      this.recorded += rows.length;
      const { maxRows } = this.options.config;
      // Prune in steps of 1% so a full table does not delete a few rows on every flush.
      if (maxRows > 0 && this.options.store.size > maxRows + Math.floor(maxRows / 100)) this.options.store.prune({ maxRows });
    } catch (error) {
      this.log(`could not write ${rows.length} history rows: ${(error as Error).message}`);
    }
  }

  /** Applies the retention (age and rows). */
  prune(): void {
    const { retentionDays, maxRows } = this.options.config;
    try {
      this.options.store.prune({ olderThan: retentionDays > 0 ? Date.now() - retentionDays * DAY_MS : undefined, maxRows });
    } catch (error) {
      this.log(`pruning failed: ${(error as Error).message}`);
    }
  }

  status(): RecorderStatus {
    const events = this.events;
    let receiveBufferBytes: number | null = null;
    try {
      receiveBufferBytes = events ? events.receiveBufferBytes : null;
    } catch {
      receiveBufferBytes = null;
    }
    return {
      running: Boolean(events) && !this.error,
      error: this.error,
      startedAt: this.startedAt?.toISOString() ?? null,
      eventsSysctl: this.sysctl,
      receiveBufferBytes,
      received: events?.received ?? 0,
      recorded: this.recorded,
      pending: this.pending.length,
      tracked: this.closers.size,
      overflows: events?.overflows ?? 0,
      resyncing: Boolean(this.resyncing) || Boolean(this.resyncTimer),
    };
  }

  /** Flushes what is buffered and stops listening. Synchronous, so it can run in a process 'exit' handler. */
  stop(): void {
    this.flush();
    for (const timer of [this.pruneTimer, this.resyncTimer]) if (timer) clearTimeout(timer);
    this.events?.close();
    this.events = undefined;
    this.live.removeAllListeners();
  }
}
