// A response body chunk can ask to be told when the server has written it. Node keeps a reference to every chunk
// it was given until its socket has handed the bytes to the kernel (a slow client: seconds), and no Web stream
// says when that is - a chunk handed on belongs to the reader for good. scripts/serve.ts passes the chunk's
// callback to Node's write, so a body that reuses its buffers (the export's ring) reuses one only after that.
// A reader that never calls back (compression, a test reading the Response) only costs the reuse, never the bytes.
import type { ServerResponse } from 'node:http';

/** The property of a chunk holding what to call once it is written (Symbol.for: every bundle sees the same key). */
export const WRITTEN = Symbol.for('conntrack-console.written');

export type WrittenChunk = Uint8Array & { [WRITTEN]?: () => void };

type Write = ServerResponse['write'];

/** Makes res.write call a chunk's WRITTEN callback once Node has written it (or failed to: the response is gone). */
export function reportWrites(res: ServerResponse): void {
  const write = res.write as (chunk: unknown, encoding?: BufferEncoding, callback?: (error?: Error | null) => void) => boolean;
  res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]): boolean {
    const written = chunk instanceof Uint8Array ? (chunk as WrittenChunk)[WRITTEN] : undefined;
    if (!written) return Reflect.apply(write, this, [chunk, ...rest]) as boolean;
    const [encodingOrCallback, maybeCallback] = rest;
    const callback = (typeof encodingOrCallback === 'function' ? encodingOrCallback : maybeCallback) as ((error?: Error | null) => void) | undefined;
    const encoding = typeof encodingOrCallback === 'string' ? (encodingOrCallback as BufferEncoding) : undefined;
    return write.call(this, chunk, encoding, (error) => {
      written();
      callback?.(error);
    });
  } as Write;
}
