// Dumps read on the libuv thread pool. The kernel builds each dump chunk inside recvmsg(), so a read on a pool
// thread moves that work off the main thread: while the main thread decodes one 32 KiB chunk, a pool thread is
// already waiting for the kernel to fill the next, and two dumps (one per family) run on both cores at once.
import { close, closeSync, read, writeSync } from 'node:fs';
import { NETLINK_NETFILTER, NLM_F, NLMSG, subjectOf } from '../constants';
import { NetlinkError } from '../errors';
import { buildMessage, errorOf, scanMessages, type ReceivedMessage, type RequestHeader } from './message';
import { inNetns, loadAddon } from '@/lib/netlink/netns';

/** The kernel fills at most 32 KiB per dump datagram (SKB_WITH_OVERHEAD(32768)); a little more never hurts. */
const READ_BYTES = 64 * 1024;
const RECEIVE_BUFFER = 4 * 1024 * 1024;
let nextSeq = Math.floor(Math.random() * 0x3fffffff);

export interface PoolDumpOptions {
  netns?: string;
  timeoutMs: number;
  header: Omit<RequestHeader, 'seq' | 'flags'>;
  attrs?: Uint8Array;
  operation: string;
  /** Called on the main thread for every data message; the message (one object, reused) is only valid during the call. */
  onMessage: (msg: ReceivedMessage) => void;
}

const readChunk = (fd: number, buffer: Buffer): Promise<number> =>
  new Promise((resolve, reject) => read(fd, buffer, 0, buffer.length, null, (error, bytes) => (error ? reject(error) : resolve(bytes))));

/** Whether the datagram ends the dump (NLMSG_DONE or an error for our request), checked before decoding. */
function endsDump(buf: Uint8Array, seq: number): boolean {
  let ends = false;
  scanMessages(buf, (msg) => {
    if (msg.seq === seq && (msg.type === NLMSG.DONE || msg.type === NLMSG.ERROR)) ends = true;
    return !ends;
  });
  return ends;
}

export async function dumpOnThreadPool(options: PoolDumpOptions): Promise<void> {
  const { operation } = options;
  const subject = subjectOf(options.header.type);
  const addon = loadAddon();
  let fd: number;
  try {
    fd = inNetns(options.netns, () => addon.openSocket(NETLINK_NETFILTER, RECEIVE_BUFFER, [], options.timeoutMs));
  } catch (error) {
    if (error instanceof NetlinkError) throw error;
    throw new NetlinkError({ errno: (error as { errno?: number }).errno ?? 1, operation });
  }
  nextSeq = (nextSeq + 1) >>> 0 || 1;
  const seq = nextSeq;
  const buffers = [Buffer.allocUnsafe(READ_BYTES), Buffer.allocUnsafe(READ_BYTES)];
  // The read the kernel is serving now, if any (the fd may only be closed once it is back).
  let inFlight: Promise<number> | undefined;
  try {
    try {
      writeSync(fd, buildMessage({ ...options.header, seq, flags: NLM_F.REQUEST | NLM_F.DUMP }, options.attrs));
    } catch (error) {
      throw new NetlinkError({ errno: (error as NodeJS.ErrnoException).errno ?? 5, operation });
    }
    let which = 0;
    let next = readChunk(fd, buffers[which]);
    inFlight = next;
    for (;;) {
      let bytes: number;
      try {
        bytes = await next;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        inFlight = undefined;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
          throw new NetlinkError({ errno: 110, operation, detail: `no answer for ${options.timeoutMs} ms` });
        }
        throw new NetlinkError({ errno: (error as NodeJS.ErrnoException).errno ?? 5, operation });
      }
      const chunk = buffers[which].subarray(0, bytes);
      const last = endsDump(chunk, seq);
      which ^= 1;
      // Ask the kernel for the next chunk before decoding this one, unless this one ends the dump.
      inFlight = undefined;
      if (!last) {
        next = readChunk(fd, buffers[which]);
        inFlight = next;
      }
      let failure: NetlinkError | undefined;
      scanMessages(chunk, (msg) => {
        if (msg.seq !== seq) return true;
        if (msg.type === NLMSG.DONE) {
          // NLMSG_DONE carries an int: a negative errno when the dump failed part-way.
          const errno = msg.length >= 20 ? -new DataView(msg.buf.buffer, msg.buf.byteOffset + msg.offset + 16, 4).getInt32(0, true) : 0;
          if (errno > 0) failure = new NetlinkError({ errno, operation, subject });
          return false;
        }
        if (msg.type === NLMSG.ERROR) {
          const errno = errorOf(msg);
          if (errno) failure = new NetlinkError({ errno, operation, subject });
          return false;
        }
        options.onMessage(msg);
        return true;
      });
      if (failure) throw failure;
      if (last) return;
    }
  } finally {
    // A read still in flight must come back before the fd may be closed (the dump keeps it short).
    if (inFlight) {
      const pending = inFlight;
      pending.then(
        () => close(fd, () => undefined),
        () => close(fd, () => undefined),
      );
    } else {
      closeSync(fd);
    }
  }
}
