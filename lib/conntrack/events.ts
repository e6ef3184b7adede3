// Conntrack events (NEW / UPDATE / DESTROY) from the ctnetlink multicast groups.
//
// The event socket is not the npm package's RawNetlinkSocket: that one aborts the whole process when the kernel
// reports an overflow (ENOBUFS) on an idle socket. Here a blocking socket from our addon is read with read(2) on
// the libuv thread pool, where ENOBUFS is an ordinary error: counted, reported, and the socket reads on.
import { EventEmitter } from 'node:events';
import { close, read } from 'node:fs';
import { AF, IPCTNL_MSG, NETLINK_NETFILTER, NLM_F, ctnlMsgType } from './constants';
import { NetlinkError } from './errors';
import { attrsOf, forEachMessage, nfgenOf } from './netlink/message';
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
const READ_BYTES = 256 * 1024;

export class ConntrackEvents extends EventEmitter<EventMap> {
  private readonly fd: number;
  private readonly buffer = Buffer.allocUnsafe(READ_BYTES);
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
    read(this.fd, this.buffer, 0, READ_BYTES, null, (error, bytes) => {
      if (this.closed) {
        close(this.fd, () => undefined);
        return;
      }
      if (error) this.onReadError(error);
      else if (bytes > 0) this.onDatagram(this.buffer.subarray(0, bytes));
      this.readNext();
    });
  }

  private onReadError(error: NodeJS.ErrnoException): void {
    if (error.code === 'EAGAIN' || error.code === 'EWOULDBLOCK' || error.code === 'EINTR') return;
    if (error.code === 'ENOBUFS') {
      this.overflows++;
      const at = new Date();
      this.lostSince ??= at;
      this.emit('overflow', { overflows: this.overflows, at });
      return;
    }
    if (this.listenerCount('error')) this.emit('error', new NetlinkError({ errno: error.errno ?? 5, operation: 'read conntrack events' }));
  }

  private onDatagram(buf: Buffer): void {
    try {
      forEachMessage(buf, (msg) => {
        if (msg.type !== NEW_OR_UPDATE && msg.type !== DESTROY) return;
        const { start, end } = attrsOf(msg);
        const family = nfgenOf(msg).family === AF.INET6 ? 'ipv6' : 'ipv4';
        const connection = decodeConnection(msg.buf, start, end, family);
        const kind = msg.type === DESTROY ? 'destroy' : msg.flags & (NLM_F.CREATE | NLM_F.EXCL) ? 'new' : 'update';
        this.received++;
        this.emit('event', { kind, connection });
      });
    } catch (error) {
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
