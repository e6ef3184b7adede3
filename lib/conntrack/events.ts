// Conntrack events (NEW / UPDATE / DESTROY) from the ctnetlink multicast groups.
import { EventEmitter } from 'node:events';
import { IPCTNL_MSG, NLM_F, NLMSG, ctnlMsgType, AF } from './constants';
import { NetlinkError } from './errors';
import { attrsOf, forEachMessage, nfgenOf } from './netlink/message';
import { NfnetlinkSocket } from './netlink/socket';
import { decodeConnection } from './codec/connection';
import type { ConntrackEvent } from './types';

export interface EventsOptions {
  /** SO_RCVBUF in bytes (default 8 MiB; the kernel caps it at 2 x net.core.rmem_max). */
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

export class ConntrackEvents extends EventEmitter<EventMap> {
  private readonly socket: NfnetlinkSocket;
  /** How many times the kernel reported lost events (ENOBUFS) since the subscription began. */
  overflows = 0;
  /** Events decoded so far. */
  received = 0;
  /** When the first loss happened. */
  lostSince: Date | undefined;

  constructor(options: EventsOptions & { groups: number[] }) {
    super();
    this.socket = NfnetlinkSocket.open({ netns: options.netns, mode: 'events', receiveBufferBytes: options.receiveBufferBytes ?? 8 * 1024 * 1024 });
    try {
      for (const group of options.groups) this.socket.addMembership(group);
    } catch (error) {
      this.socket.close();
      throw new NetlinkError({ errno: (error as { errno?: number }).errno ?? 1, operation: 'subscribe to conntrack events' });
    }
    this.socket.onIdleError = (error) => {
      if (error.code === 'ENOBUFS') {
        this.overflows++;
        const at = new Date();
        this.lostSince ??= at;
        this.emit('overflow', { overflows: this.overflows, at });
      } else if (this.listenerCount('error')) {
        this.emit('error', error);
      }
    };
    this.socket.listen((buf) => {
      try {
        forEachMessage(buf, (msg) => {
          if (msg.type === NLMSG.DONE || msg.type === NLMSG.ERROR) return;
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
    });
  }

  /** The receive buffer the kernel actually granted. */
  get receiveBufferBytes(): number {
    return this.socket.receiveBufferSize();
  }

  close(): void {
    this.socket.close();
    this.removeAllListeners();
  }
}
