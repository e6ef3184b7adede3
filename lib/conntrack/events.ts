// Conntrack events (NEW / UPDATE / DESTROY) from the ctnetlink multicast groups.
//
// The event socket is not the npm package's RawNetlinkSocket: that one aborts the whole process when the kernel
// reports an overflow (ENOBUFS) on an idle socket. Here a blocking socket from our addon is read on the libuv thread
// pool (readEvents in native/netns.c), where ENOBUFS is an ordinary error: counted, reported, and the socket reads on.
// One pool job takes every datagram already queued (one event each), into one of two buffers: the next read runs
// while this thread decodes the other. A job per datagram (10,000 a second under churn) cost more than the decoding,
// and the socket's queue grew until the kernel dropped events.
import { EventEmitter } from 'node:events';
import { close } from 'node:fs';
import { AF, IPCTNL_MSG, NETLINK_NETFILTER, NLM_F, ctnlMsgType } from './constants';
import { NetlinkError } from './errors';
import { attrsOf, nfgenOf, scanMessages } from './netlink/message';
import { inNetns, loadAddon } from '@/lib/netlink/netns';
import { decodeConnection } from './codec/connection';
import type { ConntrackEvent } from './types';

export interface EventsOptions {
  /** SO_RCVBUF in bytes (default 8 MiB; as root it may exceed net.core.rmem_max). */
  receiveBufferBytes?: number;
  /** NFNLGRP_CONNTRACK_* groups (default all three). */
  groups?: number[];
  netns?: string;
}

interface EventMap {
  event: [ConntrackEvent];
  /** The kernel dropped events (ENOBUFS): resynchronise from a dump. `overflows` counts such drops so far. */
  overflow: [{ overflows: number; at: Date }];
  error: [Error];
}

const NEW_OR_UPDATE = ctnlMsgType(IPCTNL_MSG.CT_NEW);
const DESTROY = ctnlMsgType(IPCTNL_MSG.CT_DELETE);
/** How often a blocked read wakes up to notice close(). */
const READ_TIMEOUT_MS = 200;
/**
 * One read's buffer: up to ~800 events of ~300 bytes, a few milliseconds of decoding on this thread (an event loop
 * turn kept short), while 64 MiB of socket buffer holds seconds of churn.
 */
const READ_BYTES = 256 * 1024;
const EAGAIN = 11;
const ENOBUFS = 105;

export class ConntrackEvents extends EventEmitter<EventMap> {
  private readonly fd: number;
  /** Two buffers: the pool reads into one while this thread decodes the other. */
  private readonly buffers = [Buffer.allocUnsafe(READ_BYTES), Buffer.allocUnsafe(READ_BYTES)];
  private which = 0;
  private closed = false;
  /** How many times the kernel reported lost events (ENOBUFS) since the subscription began. */
  overflows = 0;
  /** Events decoded so far. */
  received = 0;
  /** When the first loss happened. */
  lostSince: Date | undefined;

  constructor(options: EventsOptions & { groups: number[] }) {
    super();
    const addon = loadAddon();
    try {
      this.fd = inNetns(options.netns, () => addon.openSocket(NETLINK_NETFILTER, options.receiveBufferBytes ?? 8 * 1024 * 1024, options.groups, READ_TIMEOUT_MS));
    } catch (error) {
      if (error instanceof NetlinkError) throw error;
      throw new NetlinkError({ errno: (error as { errno?: number }).errno ?? 1, operation: 'subscribe to conntrack events' });
    }
    this.readNext();
  }

  private readNext(): void {
    const buffer = this.buffers[this.which];
    loadAddon().readEvents(this.fd, buffer, (errno, bytes) => {
      if (this.closed) {
        close(this.fd, () => undefined);
        return;
      }
      // The next read fills the other buffer while this one is decoded.
      this.which ^= 1;
      this.readNext();
      if (bytes > 0) this.onDatagrams(buffer.subarray(0, bytes));
      if (errno) this.onReadError(errno);
    });
  }

  private onReadError(errno: number): void {
    if (errno === EAGAIN) return;
    if (errno === ENOBUFS) {
      this.overflows++;
      const at = new Date();
      this.lostSince ??= at;
      this.emit('overflow', { overflows: this.overflows, at });
      return;
    }
    if (this.listenerCount('error')) this.emit('error', new NetlinkError({ errno, operation: 'read conntrack events' }));
  }

  /** Whole datagrams back to back (each one event message); a message that does not decode is reported and skipped. */
  private onDatagrams(buf: Buffer): void {
    try {
      scanMessages(buf, (msg) => {
        if (msg.type !== NEW_OR_UPDATE && msg.type !== DESTROY) return;
        let event: ConntrackEvent;
        try {
          const { start, end } = attrsOf(msg);
          const family = nfgenOf(msg).family === AF.INET6 ? 'ipv6' : 'ipv4';
          const connection = decodeConnection(msg.buf, start, end, family);
          event = { kind: msg.type === DESTROY ? 'destroy' : msg.flags & (NLM_F.CREATE | NLM_F.EXCL) ? 'new' : 'update', connection };
        } catch (error) {
          if (this.listenerCount('error')) this.emit('error', error as Error);
          return;
        }
        this.received++;
        this.emit('event', event);
      });
    } catch (error) {
      // The lengths do not add up: the rest of this read cannot be framed.
      if (this.listenerCount('error')) this.emit('error', error as Error);
    }
  }

  /** The receive buffer the kernel actually granted. */
  get receiveBufferBytes(): number {
    return loadAddon().receiveBufferSize(this.fd);
  }

  /** Stops reading; the socket closes within READ_TIMEOUT_MS, when the pending read returns. */
  close(): void {
    this.closed = true;
    this.removeAllListeners();
  }
}
