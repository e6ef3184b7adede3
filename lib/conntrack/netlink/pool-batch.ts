// Pipelined requests written on the libuv thread pool. The kernel runs an nfnetlink request inside the write()
// that carries it, so a write on a pool thread moves that work (a delete's hash lookup and unlinking, for
// instance) off the main thread: while a pool thread waits for the kernel to get through one window of requests,
// the main thread is already filling the next (from a dump running on another pool thread, say).
import { close, closeSync, read, write } from 'node:fs';
import { NETLINK_NETFILTER, NLM_F, NLMSG, NLMSG_HDRLEN, NFGENMSG_LEN } from '../constants';
import { NetlinkError } from '../errors';
import { erroredSeq, errorOf, scanMessages } from './message';
import { inNetns, loadAddon } from '@/lib/netlink/netns';

/** Replies are one small message per datagram (an error or the window's ACK). */
const READ_BYTES = 64 * 1024;
/** Room for the worst case, every request of the windows in flight failing (each error echoes its request). */
const RECEIVE_BUFFER = 4 * 1024 * 1024;
/** Requests per write: ~100 bytes each stays well inside the default send buffer (net.core.wmem_default). */
const DEFAULT_WINDOW = 512;
let nextSeq = Math.floor(Math.random() * 0x3fffffff);

export interface PoolBatchOptions {
  netns?: string;
  timeoutMs: number;
  operation: string;
  /** Requests per write (default 512); only the last of each asks for an ACK. */
  window?: number;
  /**
   * Called on the main thread once a window is answered: errnos[i] (0 = done) for the requests first + i, whose
   * bytes lie at window[starts[i], starts[i + 1]). For the caller to name failures or keep a sample.
   */
  onAnswered?: (first: number, errnos: Int32Array, window: Uint8Array, starts: Uint32Array) => void;
}

/** The header of one request; the batch adds the sequence number and flags (REQUEST, and ACK on a window's last). */
export interface PoolRequestHeader {
  type: number;
  family: number;
  version?: number;
  /** Extra nlmsg flags besides NLM_F_REQUEST. */
  flags?: number;
}

const writeAll = (fd: number, buffer: Uint8Array): Promise<number> =>
  new Promise((resolve, reject) => write(fd, buffer, 0, buffer.length, null, (error, bytes) => (error ? reject(error) : resolve(bytes))));
const readChunk = (fd: number, buffer: Buffer): Promise<number> =>
  new Promise((resolve, reject) => read(fd, buffer, 0, buffer.length, null, (error, bytes) => (error ? reject(error) : resolve(bytes))));

/**
 * Requests added one at a time and sent a window per write, one window in flight while the next fills.
 * finish() resolves with the errno of every request in the order added.
 */
export class PoolBatch {
  private readonly fd: number;
  private readonly window: number;
  private readonly options: PoolBatchOptions;
  /** The window being filled: message bytes and where each starts. */
  private buffer = new Uint8Array(64 * 1024);
  private used = 0;
  private starts = new Uint32Array(DEFAULT_WINDOW + 1);
  private count = 0;
  private added = 0;
  private errnos = new Int32Array(1024);
  /** The window the pool is working on; the next waits for it (one fd, one exchange at a time). */
  private inFlight: Promise<void> = Promise.resolve();
  private readonly replies = Buffer.allocUnsafe(READ_BYTES);
  private closed = false;

  constructor(options: PoolBatchOptions) {
    this.options = options;
    this.window = options.window ?? DEFAULT_WINDOW;
    this.starts = new Uint32Array(this.window + 1);
    const addon = loadAddon();
    try {
      this.fd = inNetns(options.netns, () => addon.openSocket(NETLINK_NETFILTER, RECEIVE_BUFFER, [], options.timeoutMs));
    } catch (error) {
      if (error instanceof NetlinkError) throw error;
      throw new NetlinkError({ errno: (error as { errno?: number }).errno ?? 1, operation: options.operation });
    }
  }

  /**
   * Adds one request. `body` writes its attributes into `out` from `at` (at most `maxBytes` of them) and returns
   * where they end; the batch has made room for them.
   */
  add(header: PoolRequestHeader, maxBytes: number, body: (out: Uint8Array, at: number) => number): void {
    if (this.closed) throw new Error('PoolBatch: already finished');
    const need = this.used + NLMSG_HDRLEN + NFGENMSG_LEN + maxBytes + 3;
    if (need > this.buffer.length) {
      const next = new Uint8Array(Math.max(need, this.buffer.length * 2));
      next.set(this.buffer.subarray(0, this.used));
      this.buffer = next;
    }
    const b = this.buffer;
    const at = this.used;
    const end = body(b, at + NLMSG_HDRLEN + NFGENMSG_LEN);
    const length = end - at;
    // nlmsghdr (host order; seq and the ACK flag are set when the window is sent) and nfgenmsg.
    b[at] = length & 0xff;
    b[at + 1] = (length >> 8) & 0xff;
    b[at + 2] = (length >> 16) & 0xff;
    b[at + 3] = length >>> 24;
    b[at + 4] = header.type & 0xff;
    b[at + 5] = header.type >> 8;
    const flags = NLM_F.REQUEST | (header.flags ?? 0);
    b[at + 6] = flags & 0xff;
    b[at + 7] = flags >> 8;
    for (let i = 8; i < 16; i++) b[at + i] = 0;
    b[at + 16] = header.family;
    b[at + 17] = header.version ?? 0;
    b[at + 18] = 0;
    b[at + 19] = 0;
    const aligned = (end + 3) & ~3;
    for (let i = end; i < aligned; i++) b[i] = 0;
    this.starts[this.count++] = at;
    this.used = aligned;
    this.added++;
    if (this.count === this.window) this.flush();
  }

  /** Hands the filled window to the pool (after the one in flight) and starts a new one. */
  private flush(): void {
    if (!this.count) return;
    const window = this.buffer.subarray(0, this.used);
    const starts = this.starts.subarray(0, this.count + 1);
    starts[this.count] = this.used;
    const first = this.added - this.count;
    this.buffer = new Uint8Array(this.buffer.length);
    this.starts = new Uint32Array(this.window + 1);
    this.used = 0;
    this.count = 0;
    this.inFlight = this.inFlight.then(() => this.exchange(window, starts, first));
    // A failed window fails every later one and finish(); until then the rejection is not unhandled.
    this.inFlight.catch(() => undefined);
  }

  /** Writes one window and reads its answers up to the ACK of its last request. */
  private async exchange(window: Uint8Array, starts: Uint32Array, first: number): Promise<void> {
    const n = starts.length - 1;
    nextSeq = (nextSeq + n) >>> 0 || n;
    const seqBase = (nextSeq - n + 1) >>> 0;
    const view = new DataView(window.buffer, window.byteOffset, window.byteLength);
    for (let i = 0; i < n; i++) view.setUint32(starts[i] + 8, (seqBase + i) >>> 0, true);
    const last = starts[n - 1];
    view.setUint16(last + 6, view.getUint16(last + 6, true) | NLM_F.ACK, true);
    const lastSeq = (seqBase + n - 1) >>> 0;
    const errnos = new Int32Array(n);
    const { operation } = this.options;
    try {
      const written = await writeAll(this.fd, window);
      if (written !== window.length) throw new NetlinkError({ errno: 90, operation, detail: `wrote ${written} of ${window.length} bytes` });
      for (let done = false; !done; ) {
        const bytes = await readChunk(this.fd, this.replies);
        scanMessages(this.replies.subarray(0, bytes), (msg) => {
          if (msg.type !== NLMSG.ERROR) return true;
          const seq = erroredSeq(msg);
          const index = (seq - seqBase) >>> 0;
          if (index >= n) return true;
          errnos[index] = errorOf(msg);
          if (seq === lastSeq) done = true;
          return !done;
        });
      }
    } catch (error) {
      if (error instanceof NetlinkError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EWOULDBLOCK') throw new NetlinkError({ errno: 110, operation, detail: `no answer for ${this.options.timeoutMs} ms` });
      throw new NetlinkError({ errno: (error as NodeJS.ErrnoException).errno ?? 5, operation });
    }
    if (this.errnos.length < first + n) {
      const grown = new Int32Array(Math.max(first + n, this.errnos.length * 2));
      grown.set(this.errnos);
      this.errnos = grown;
    }
    this.errnos.set(errnos, first);
    this.options.onAnswered?.(first, errnos, window, starts);
  }

  /** Number of requests added so far. */
  get size(): number {
    return this.added;
  }

  /** Sends what is left, waits for every answer, closes the socket; the errno of each request in order. */
  async finish(): Promise<Int32Array> {
    this.flush();
    try {
      await this.inFlight;
    } finally {
      this.close();
    }
    return this.errnos.slice(0, this.added);
  }

  /** Drops the requests not yet sent, waits for the window in flight, closes the socket. */
  async abort(): Promise<void> {
    this.count = 0;
    this.used = 0;
    await this.inFlight.catch(() => undefined);
    this.close();
  }

  /** Closes the socket once the window in flight is back (a pool thread may still be using the fd). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.inFlight.then(
      () => closeSync(this.fd),
      () => close(this.fd, () => undefined),
    );
  }
}
