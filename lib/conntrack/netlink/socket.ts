// A NETLINK_NETFILTER socket with request/ACK, streaming dumps, pipelined batches and event subscription.
// Generic nfnetlink: it frames messages and matches replies, and leaves CTA_* meaning to the codecs.
import { RawNetlinkSocket } from 'netlink';
import { NETLINK_NETFILTER, NLM_F, NLMSG, subjectOf } from '../constants';
import { NetlinkError } from '../errors';
import { buildMessage, erroredSeq, errorOf, forEachMessage, type ReceivedMessage, type RequestHeader } from './message';
import { inNetns } from '@/lib/netlink/netns';

export interface SocketOptions {
  /** Network namespace (name under /var/run/netns, or a path) whose table to use; default: our own. */
  netns?: string;
  /** SO_RCVBUF in bytes. The kernel doubles it and caps it at net.core.rmem_max unless raised. */
  receiveBufferBytes?: number;
  /** A request fails with ETIMEDOUT when the kernel stays silent this long. */
  timeoutMs?: number;
  /**
   * 'bulk' reads 32 KiB at a time, which also lets the kernel fill 32 KiB per dump datagram;
   * 'events' peeks each datagram's size, which suits a stream of small event messages.
   */
  mode?: 'bulk' | 'events';
}

export const DEFAULT_TIMEOUT_MS = 15_000;
const BULK_READ_BYTES = 32 * 1024;
const DEFAULT_RECEIVE_BUFFER = 4 * 1024 * 1024;

/** What a pipelined batch item asks for; the socket adds seq and flags. */
export interface BatchItem {
  type: number;
  family: number;
  version?: number;
  attrs?: Uint8Array;
  /** Extra nlmsg flags besides NLM_F_REQUEST (e.g. CREATE|EXCL). */
  flags?: number;
}

type Pending = {
  onDatagram(buf: Buffer): void;
  onError(error: NetlinkError): void;
};

const toBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export class NfnetlinkSocket {
  private readonly raw: RawNetlinkSocket;
  private readonly timeoutMs: number;
  private seq = Math.floor(Math.random() * 0x3fffffff);
  private pending: Pending | undefined;
  private closed = false;

  private constructor(raw: RawNetlinkSocket, timeoutMs: number) {
    this.raw = raw;
    this.timeoutMs = timeoutMs;
    raw.on('message', (buf) => this.pending?.onDatagram(buf));
    raw.on('error', (error) => {
      const netlinkError = new NetlinkError({ errno: error.errno ?? 0, operation: error.syscall ?? 'netlink socket' });
      if (this.pending) this.pending.onError(netlinkError);
      else this.onIdleError?.(netlinkError);
    });
  }

  /** Errors (such as ENOBUFS on an event socket) that arrive while no request is waiting. */
  onIdleError: ((error: NetlinkError) => void) | undefined;

  static open(options: SocketOptions = {}): NfnetlinkSocket {
    const mode = options.mode ?? 'bulk';
    let raw: RawNetlinkSocket;
    try {
      raw = inNetns(
        options.netns,
        () =>
          new RawNetlinkSocket(NETLINK_NETFILTER, {
            messagePeeking: mode === 'events',
            msgBufferSize: BULK_READ_BYTES,
            recvBufferSize: options.receiveBufferBytes ?? DEFAULT_RECEIVE_BUFFER,
            sendBufferSize: 1024 * 1024,
          }),
      );
    } catch (error) {
      if (error instanceof NetlinkError) throw error;
      const errno = (error as { errno?: number }).errno;
      throw new NetlinkError({ errno: errno ?? 1, operation: 'open netlink socket', detail: errno ? undefined : String(error) });
    }
    return new NfnetlinkSocket(raw, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  }

  nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1;
    return this.seq;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.raw.close();
  }

  addMembership(group: number): void {
    this.raw.addMembership(group);
  }

  /** Receives unsolicited messages (events) when no request is waiting. */
  listen(onDatagram: (buf: Buffer) => void): void {
    this.pending = { onDatagram, onError: (error) => this.onIdleError?.(error) };
  }

  receiveBufferSize(): number {
    return this.raw.getRecvBufferSize();
  }

  private send(messages: Uint8Array[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.raw.send(messages.map(toBuffer), {}, (error) => {
        if (error) reject(new NetlinkError({ errno: error.errno ?? 0, operation: 'sendmsg' }));
        else resolve();
      });
    });
  }

  /**
   * Runs one exchange: sends the messages, passes every received datagram to onDatagram, and settles when
   * onDatagram calls finish() or fail(), on a socket error, or after timeoutMs of silence.
   */
  private exchange(
    messages: Uint8Array[],
    operation: string,
    subject: string,
    onDatagram: (buf: Buffer, finish: () => void, fail: (error: NetlinkError) => void) => void,
  ): Promise<void> {
    if (this.closed) return Promise.reject(new NetlinkError({ errno: 9, operation, detail: 'socket closed' }));
    if (this.pending) return Promise.reject(new NetlinkError({ errno: 16, operation, detail: 'socket busy' }));
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      const settle = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.pending = undefined;
        if (error) reject(error);
        else resolve();
      };
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => settle(new NetlinkError({ errno: 110, operation, detail: `no answer for ${this.timeoutMs} ms` })), this.timeoutMs);
      };
      const fail = (error: NetlinkError) => settle(error);
      this.pending = {
        onDatagram: (buf) => {
          if (settled) return;
          arm();
          try {
            onDatagram(buf, () => settle(), fail);
          } catch (error) {
            // A datagram that does not decode (CodecError) ends the exchange; never throw into the socket's emitter.
            settle(error instanceof Error ? error : new Error(String(error)));
          }
        },
        onError: (error) => settle(new NetlinkError({ errno: error.errno, operation, subject })),
      };
      arm();
      this.send(messages).catch((error: NetlinkError) => settle(new NetlinkError({ errno: error.errno, operation, subject })));
    });
  }

  /**
   * A request answered by an ACK (or an error), possibly with data messages before it. Returns the data
   * messages. (6.18: a single CT_GET reply carries NLM_F_MULTI but no NLMSG_DONE follows, hence the ACK.)
   */
  async request(header: Omit<RequestHeader, 'seq' | 'flags'> & { flags?: number }, attrs: Uint8Array | undefined, operation: string): Promise<ReceivedMessage[]> {
    const seq = this.nextSeq();
    const subject = subjectOf(header.type);
    const message = buildMessage({ ...header, seq, flags: NLM_F.REQUEST | NLM_F.ACK | (header.flags ?? 0) }, attrs);
    const replies: ReceivedMessage[] = [];
    await this.exchange([message], operation, subject, (buf, finish, fail) => {
      forEachMessage(buf, (msg) => {
        if (msg.seq !== seq) return true;
        if (msg.type === NLMSG.ERROR) {
          const errno = errorOf(msg);
          if (errno) fail(new NetlinkError({ errno, operation, subject }));
          else finish();
          return false;
        }
        if (msg.type === NLMSG.DONE) {
          finish();
          return false;
        }
        replies.push(msg);
        return true;
      });
    });
    return replies;
  }

  /**
   * A dump: every data message is passed to onMessage as it arrives (the message is only valid during the
   * call). Resolves at NLMSG_DONE.
   */
  async dump(header: Omit<RequestHeader, 'seq' | 'flags'>, attrs: Uint8Array | undefined, operation: string, onMessage: (msg: ReceivedMessage) => void): Promise<void> {
    const seq = this.nextSeq();
    const subject = subjectOf(header.type);
    const message = buildMessage({ ...header, seq, flags: NLM_F.REQUEST | NLM_F.DUMP }, attrs);
    await this.exchange([message], operation, subject, (buf, finish, fail) => {
      forEachMessage(buf, (msg) => {
        if (msg.seq !== seq) return true;
        if (msg.type === NLMSG.DONE) {
          // NLMSG_DONE carries an int: a negative errno when the dump failed part-way.
          const errno = msg.length >= 20 ? -new DataView(msg.buf.buffer, msg.buf.byteOffset + msg.offset + 16, 4).getInt32(0, true) : 0;
          if (errno > 0) fail(new NetlinkError({ errno, operation, subject }));
          else finish();
          return false;
        }
        if (msg.type === NLMSG.ERROR) {
          const errno = errorOf(msg);
          if (errno) fail(new NetlinkError({ errno, operation, subject }));
          else finish();
          return false;
        }
        onMessage(msg);
        return true;
      });
    });
  }

  /**
   * Sends many requests pipelined: `window` messages per datagram, only the last asking for an ACK, so the
   * kernel answers just the failures plus one ACK per window. Returns the errno of each item (0 = done).
   * The window keeps the worst case (every item failing) within the receive buffer.
   */
  async batch(items: readonly BatchItem[], operation: string, options: { window?: number } = {}): Promise<Int32Array> {
    const window = options.window ?? 256;
    const results = new Int32Array(items.length);
    for (let first = 0; first < items.length; first += window) {
      const last = Math.min(items.length, first + window) - 1;
      const seqBase = this.nextSeq();
      this.seq = (seqBase + (last - first)) >>> 0;
      const messages: Uint8Array[] = [];
      for (let i = first; i <= last; i++) {
        const item = items[i];
        const flags = NLM_F.REQUEST | (item.flags ?? 0) | (i === last ? NLM_F.ACK : 0);
        messages.push(buildMessage({ type: item.type, flags, seq: (seqBase + (i - first)) >>> 0, family: item.family, version: item.version }, item.attrs));
      }
      const lastSeq = (seqBase + (last - first)) >>> 0;
      await this.exchange(messages, operation, subjectOf(items[first].type), (buf, finish) => {
        forEachMessage(buf, (msg) => {
          if (msg.type !== NLMSG.ERROR) return true;
          const seq = erroredSeq(msg);
          const index = ((seq - seqBase) >>> 0) + first;
          if (index < first || index > last) return true;
          results[index] = errorOf(msg);
          if (seq === lastSeq) {
            finish();
            return false;
          }
          return true;
        });
      });
    }
    return results;
  }
}
