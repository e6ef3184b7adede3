// The export stream's ring of chunk buffers: a buffer is written again only after the server reported its chunk
// written (WRITTEN), so a reader that keeps chunks, or a socket that holds them while a slow client reads, always
// gets the body's bytes; a cancelled export asks the body for nothing more and keeps no buffer.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { CHUNK_BYTES, ChunkRing, exportStream, type ExportBody } from '@/lib/console/export';
import { WRITTEN, type WrittenChunk } from '@/lib/process/written';

/** Piece i: its own bytes (i and the offset), sizes from a few bytes to more than a chunk buffer. */
function expectedPiece(i: number): Buffer {
  const size = i % 7 === 6 ? CHUNK_BYTES + 1000 : ((i * 104_729) % (CHUNK_BYTES - 1)) + 1;
  const piece = Buffer.allocUnsafe(size);
  for (let at = 0; at < size; at++) piece[at] = (i * 31 + at * 7) & 0xff;
  return piece;
}

/** A body as the connections export writes one: every piece in the same scratch buffer (good until the next call). */
function scratchBody(pieces: number, calls = { n: 0 }): ExportBody {
  const scratch = Buffer.allocUnsafe(CHUNK_BYTES * 2);
  let i = 0;
  return () => {
    calls.n++;
    if (i === pieces) return null;
    const piece = expectedPiece(i++);
    piece.copy(scratch);
    return scratch.subarray(0, piece.length);
  };
}

const expectedBody = (pieces: number): Buffer => Buffer.concat(Array.from({ length: pieces }, (_, i) => expectedPiece(i)));

const PIECES = 40;

describe('exportStream', () => {
  it('a reader that keeps every chunk and never reports one written gets the whole body (no buffer reused)', async () => {
    const reader = exportStream({ format: 'csv', body: scratchBody(PIECES), filename: 'x' }).body!.getReader();
    const kept: Uint8Array[] = [];
    for (let next = await reader.read(); !next.done; next = await reader.read()) kept.push(next.value);
    expect(kept).toHaveLength(PIECES);
    expect(Buffer.concat(kept).equals(expectedBody(PIECES))).toBe(true);
  });

  it('a slow socket: each chunk is still its bytes when written, then its buffer is reused', async () => {
    const reader = exportStream({ format: 'json', body: scratchBody(PIECES), filename: 'x' }).body!.getReader();
    // Chunks the "socket" holds unwritten; it writes the oldest one only when it holds several, a pause between.
    const held: WrittenChunk[] = [];
    const written: Buffer[] = [];
    const buffers = new Set<ArrayBufferLike>();
    const write = async () => {
      await new Promise((resolve) => setTimeout(resolve, 2));
      const chunk = held.shift()!;
      written.push(Buffer.from(chunk));
      chunk[WRITTEN]?.();
    };
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      held.push(next.value);
      buffers.add(next.value.buffer);
      if (held.length === 3) await write();
    }
    while (held.length) await write();
    expect(Buffer.concat(written).equals(expectedBody(PIECES))).toBe(true);
    // The ring's buffers (3 held + the one being written) and the pieces too big for one of them.
    const oversize = Array.from({ length: PIECES }, (_, i) => i).filter((i) => expectedPiece(i).length > CHUNK_BYTES).length;
    expect(buffers.size).toBeLessThanOrEqual(5 + oversize);
  });

  it('a cancelled export asks its body for nothing more', async () => {
    const calls = { n: 0 };
    const reader = exportStream({ format: 'csv', body: scratchBody(PIECES, calls), filename: 'x' }).body!.getReader();
    for (let i = 0; i < 3; i++) await reader.read();
    await reader.cancel('client gone');
    const after = calls.n;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(after).toBeLessThan(PIECES);
    expect(calls.n).toBe(after);
  });

  it('a cancelled export lets go of its body (its buffer, its caches) though the response is still held', async () => {
    // The server holds the response until the request is over; the body's memory must not wait for that.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const held = (() => {
      const scratch = Buffer.alloc(CHUNK_BYTES);
      const response = exportStream({ format: 'csv', body: () => scratch.subarray(0, 100), filename: 'x' });
      return { response, scratch: new WeakRef(scratch) };
    })();
    const reader = held.response.body!.getReader();
    await reader.read();
    await reader.read();
    await reader.cancel('client gone');
    for (let i = 0; i < 3 && held.scratch.deref(); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      gc();
    }
    expect(held.scratch.deref()).toBeUndefined();
    expect(held.response.bodyUsed).toBe(true);
  });
});

describe('ChunkRing', () => {
  it('takes a buffer again only once its chunk is reported written', () => {
    const ring = new ChunkRing();
    const a = ring.chunk(Buffer.from('first'));
    const b = ring.chunk(Buffer.from('second'));
    expect(a.buffer).not.toBe(b.buffer);
    expect(ring.made).toBe(2);
    a[WRITTEN]!();
    const c = ring.chunk(Buffer.from('third'));
    expect(c.buffer).toBe(a.buffer);
    expect(Buffer.from(b).toString()).toBe('second');
    expect(ring.made).toBe(2);
  });

  it('keeps nothing once closed: a chunk written after the end does not come back', () => {
    const ring = new ChunkRing();
    const a = ring.chunk(Buffer.from('first'));
    ring.chunk(Buffer.from('second'))[WRITTEN]!();
    expect(ring.idle).toBe(1);
    ring.close();
    expect(ring.idle).toBe(0);
    a[WRITTEN]!();
    expect(ring.idle).toBe(0);
  });
});
