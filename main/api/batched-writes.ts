// Server streams whose messages leave together. A grpc-js server stream is a Node Writable with
// `_write` and no `_writev`: each message waits until the previous one has reached the socket,
// so the N replies released by one apply left in N system calls over N turns of the event loop
// (measured on a leader at 64 senders: one 54-byte writev per reply, 0.8 per write). Corked for
// the rest of the turn and given a `_writev`, the call hands all of them to HTTP/2 at once, which
// sends them in one or two socket writes. Nothing changes on the wire but the packing.
//
// Server side only, and only without server interceptors (we have none): such a call writes each
// message straight into its HTTP/2 stream, itself a Writable that queues, so several `_write`s
// may be outstanding. A grpc-js *client* call is not like that: while it starts, its
// interceptor chain holds one pending message, and a second outstanding write replaces it (the
// first send is never answered; seen in test/cluster when tried).
import type { Writable } from 'node:stream';

type WriteCallback = (error?: Error | null) => void;
type Chunk = { chunk: unknown; encoding: BufferEncoding };
type StreamInternals = Writable & {
  _writev?: (chunks: Chunk[], callback: WriteCallback) => void;
  _write(chunk: unknown, encoding: BufferEncoding, callback: WriteCallback): void;
};

/** Returns a write for `stream` that batches every message written in the same turn (one per server stream). */
export function batchedWriter<T>(stream: Writable): (message: T) => void {
  const s = stream as StreamInternals;
  s._writev = (chunks, callback) => writeEach(s, chunks, callback);
  let corked = false;
  return (message) => {
    if (!corked) {
      corked = true;
      stream.cork();
      // After the promise continuations of this turn (the other replies of the same apply).
      process.nextTick(() => {
        corked = false;
        stream.uncork();
      });
    }
    stream.write(message);
  };
}

/** Each chunk through the stream's own `_write`; `callback` once all are written or one failed. */
function writeEach(s: StreamInternals, chunks: Chunk[], callback: WriteCallback): void {
  let left = chunks.length;
  let failed = false;
  const done: WriteCallback = (error) => {
    if (failed) return;
    if (error) {
      failed = true;
      callback(error);
    } else if (--left === 0) {
      callback();
    }
  };
  for (const { chunk, encoding } of chunks) s._write(chunk, encoding, done);
}
