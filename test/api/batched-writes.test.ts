// batchedWriter: every message written in one turn reaches the stream's _write before the first
// of them has completed (a grpc-js server stream otherwise hands them over one per completed
// write, one system call each), in order, and a failed write still ends the stream with its error.
// That the real SendStream and Events streams still answer everything through it is tested in
// streams.test.ts (200 sends in flight, each acknowledged once).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { batchedWriter } from '../../main/api/batched-writes.js';

/** An object stream whose writes complete in a later turn, as a socket's do; logs what it is handed and when. */
function slowSink(failOn?: string) {
  const handed: { message: string; pendingWrites: number }[] = [];
  let pending = 0;
  const stream = new Writable({
    objectMode: true,
    write(message: string, _encoding, callback) {
      handed.push({ message, pendingWrites: pending++ });
      setImmediate(() => {
        pending--;
        callback(message === failOn ? new Error(`could not write ${message}`) : null);
      });
    },
  });
  return { stream, handed };
}

const messages = Array.from({ length: 10 }, (_, i) => `reply ${i}`);

describe('batched writes on a server stream', () => {
  test('without it, a stream hands over one message per completed write', async () => {
    const { stream, handed } = slowSink();
    for (const m of messages) stream.write(m);
    stream.end();
    await once(stream, 'finish');
    assert.deepEqual(handed.map((h) => h.pendingWrites), messages.map(() => 0));
  });

  test('all messages of one turn are handed over together, in order', async () => {
    const { stream, handed } = slowSink();
    const write = batchedWriter<string>(stream);
    for (const m of messages) write(m);
    await new Promise((resolve) => setImmediate(resolve)); // uncorked after this turn
    assert.deepEqual(handed.map((h) => h.message), messages, 'all handed over before any completed');
    assert.deepEqual(handed.map((h) => h.pendingWrites), messages.map((_, i) => i));
    write('next turn');
    stream.end();
    await once(stream, 'finish');
    assert.deepEqual(handed.map((h) => h.message), [...messages, 'next turn']);
  });

  test('messages written from promise continuations of the same turn go together too', async () => {
    const { stream, handed } = slowSink();
    const write = batchedWriter<string>(stream);
    await Promise.all(messages.map(async (m) => {
      await Promise.resolve();
      write(m);
    }));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(handed.map((h) => h.pendingWrites), messages.map((_, i) => i));
  });

  test('a failed write ends the stream with its error', async () => {
    const { stream } = slowSink('reply 3');
    const write = batchedWriter<string>(stream);
    for (const m of messages) write(m);
    const [error] = await once(stream, 'error') as [Error];
    assert.equal(error.message, 'could not write reply 3');
    assert.equal(stream.destroyed, true);
  });
});
