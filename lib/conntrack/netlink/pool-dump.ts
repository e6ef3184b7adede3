// Dumps read on the libuv thread pool. The kernel builds each dump chunk inside recvmsg(), so a read on a pool
// thread moves that work off the main thread: while the main thread decodes one batch of chunks, a pool thread is
// already reading the next batch (readDump in native/netns.c: recvmsg after recvmsg, as a C program would, so the
// kernel never waits for the main thread between 32 KiB chunks), and two dumps (one per family) run side by side.
import { close, closeSync, writeSync } from 'node:fs';
import { NETLINK_NETFILTER, NLM_F, NLMSG, subjectOf } from '../constants';
import { NetlinkError } from '../errors';
import { buildMessage, errorOf, scanMessages, type ReceivedMessage, type RequestHeader } from './message';
import { inNetns, loadAddon } from '@/lib/netlink/netns';

/**
 * Bytes of datagrams per pool job (about 2,000 entries): few enough that decoding one batch is a short turn of the
 * event loop, many enough that the round trips to the main thread cost nothing next to the kernel's work.
 */
const BATCH_BYTES = 512 * 1024;
const RECEIVE_BUFFER = 4 * 1024 * 1024;
let nextSeq = Math.floor(Math.random() * 0x3fffffff);
// Module-local copies: an imported binding can compile to a getter, and these are read once per message.
const DONE = NLMSG.DONE;
const ERROR = NLMSG.ERROR;

export interface PoolDumpOptions {
  netns?: string;
  timeoutMs: number;
  header: Omit<RequestHeader, 'seq' | 'flags'>;
  attrs?: Uint8Array;
  operation: string;
  /** Called on the main thread for every data message; the message (one object, reused) is only valid during the call. */
  onMessage: (msg: ReceivedMessage) => void;
}

interface Batch {
  bytes: number;
  /** The batch holds NLMSG_DONE or NLMSG_ERROR for the request: nothing more to read. */
  ended: boolean;
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
  const buffers = [Buffer.allocUnsafe(BATCH_BYTES), Buffer.allocUnsafe(BATCH_BYTES)];
  const readBatch = (buffer: Buffer): Promise<Batch> =>
    new Promise((resolve, reject) =>
      addon.readDump(fd, buffer, seq, (errno, bytes, ended) => {
        if (errno === 11) reject(new NetlinkError({ errno: 110, operation, subject, detail: `no answer for ${options.timeoutMs} ms` }));
        else if (errno) reject(new NetlinkError({ errno, operation, subject }));
        else resolve({ bytes, ended });
      }),
    );
  // The read the kernel is serving now, if any (the fd may only be closed once it is back).
  let inFlight: Promise<Batch> | undefined;
  try {
    try {
      writeSync(fd, buildMessage({ ...options.header, seq, flags: NLM_F.REQUEST | NLM_F.DUMP }, options.attrs));
    } catch (error) {
      throw new NetlinkError({ errno: (error as NodeJS.ErrnoException).errno ?? 5, operation });
    }
    let which = 0;
    let next = readBatch(buffers[which]);
    inFlight = next;
    for (;;) {
      let batch: Batch;
      try {
        batch = await next;
      } finally {
        inFlight = undefined;
      }
      const chunk = buffers[which].subarray(0, batch.bytes);
      const last = batch.ended;
      which ^= 1;
      // Start reading the next batch before decoding this one, unless this one ends the dump.
      if (!last) {
        next = readBatch(buffers[which]);
        inFlight = next;
      }
      let failure: NetlinkError | undefined;
      scanMessages(chunk, (msg) => {
        if (msg.seq !== seq) return true;
        if (msg.type === DONE) {
          // NLMSG_DONE carries an int: a negative errno when the dump failed part-way.
          const errno = msg.length >= 20 ? -new DataView(msg.buf.buffer, msg.buf.byteOffset + msg.offset + 16, 4).getInt32(0, true) : 0;
          if (errno > 0) failure = new NetlinkError({ errno, operation, subject });
          return false;
        }
        if (msg.type === ERROR) {
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
