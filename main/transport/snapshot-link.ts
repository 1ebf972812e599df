// A snapshot's own connection to the follower, through the follower's one port like a Raft link:
// the snapshot preface, a frame holding the Snap message, the bytes in frames of at most 1 MiB,
// an empty frame for the end; the follower answers with one frame once the snapshot is verified
// and staged (see Answer). One connection per snapshot, so a copy of a large chat.db never
// queues behind the Raft messages, nor they behind it.
//
// Why not gRPC (as before): grpc-js servers keep Node's 64 KiB HTTP/2 window (a server cannot set
// it), and the follower's writes ran on its event loop; the copy of a 208 MB chat.db streamed at
// about 100 MB/s. Here TCP's own flow control is the back-pressure, and the follower's writes
// and fsync run on libuv's thread pool while it goes on answering heartbeats.
import type * as net from 'node:net';
import type * as tls from 'node:tls';
import type { Message, NodeId, SnapshotMeta } from '../raft/types.js';
import { decodeBatch, emptyFrame, encodeFrame, FrameReader, frameOf, snapshotPreface } from './frames.js';
import { dial } from './raft-link.js';
import { toWire, WireError } from './wire.js';

/** Where snapshot bytes come from (sender) and go to (receiver). */
export interface SnapshotStore {
  /**
   * The snapshot to send for the core's `meta`: at its index or a later one (the state as of a
   * later applied index is as good, and the follower is told which it gets), with its bytes.
   */
  read(meta: SnapshotMeta): Promise<OutgoingSnapshot>;
  /** Stages an incoming snapshot; `finish` makes it installable when the core asks for it. */
  receive(meta: SnapshotMeta, from: NodeId): SnapshotWriter;
}

export interface OutgoingSnapshot {
  readonly meta: SnapshotMeta;
  readonly chunks: AsyncIterable<Uint8Array>;
  /** Releases what the chunks hold (an open file), also when they were not read to the end. */
  close(): Promise<void>;
}

/** Chunks arrive in order, each once the one before is written. */
export interface SnapshotWriter {
  write(chunk: Uint8Array): Promise<void>;
  finish(): Promise<void>;
  /** Removes what was received; resolves once it is gone. */
  abort(): Promise<void>;
}

/** A stream silent this long (either way) is dropped by default; Raft sends the snapshot again. */
export const defaultSnapshotIdleMs = 30_000;
/** While the follower verifies what it received, it says so this many times per idle period. */
const checkingBeatsPerIdle = 6;
const chunkBytes = 1 << 20;

/** The follower's answer, one frame: `accepted`, or `refused` followed by the reason in UTF-8. */
enum Answer {
  refused = 0,
  accepted = 1,
}

export interface SnapshotLinkOptions {
  from: NodeId;
  address: string;
  /** TLS options for the handshake (certificates, the server name to check); plaintext without. */
  tls?: tls.ConnectionOptions;
  /** Aborting drops the connection (the transport closes). */
  signal: AbortSignal;
  /** A stream silent this long is dropped (defaultSnapshotIdleMs). */
  idleMs: number;
}

/** Streams `m` (a Snap) and its bytes; resolves once the follower has them verified and staged. */
export async function sendSnapshot(opts: SnapshotLinkOptions, m: Message, chunks: AsyncIterable<Uint8Array>): Promise<void> {
  opts.signal.throwIfAborted();
  const socket = dial(opts.address, opts.tls);
  const drop = (): void => void socket.destroy();
  opts.signal.addEventListener('abort', drop);
  socket.setTimeout(opts.idleMs, drop);
  let sent = false;
  try {
    // A refusal may come before the end (a bad first frame): it ends the sending too.
    await Promise.all([readAnswer(socket), writeSnapshot(socket, opts.from, m, chunks)]);
    sent = true;
  } finally {
    opts.signal.removeEventListener('abort', drop);
    if (sent) socket.end();
    else socket.destroy();
  }
}

async function writeSnapshot(socket: net.Socket, from: NodeId, m: Message, chunks: AsyncIterable<Uint8Array>): Promise<void> {
  socket.write(snapshotPreface);
  await writeFrame(socket, encodeFrame({ from, messages: [toWire(m)] }));
  for await (const data of chunks) {
    for (let at = 0; at < data.length; at += chunkBytes) await writeFrame(socket, frameOf(data.subarray(at, at + chunkBytes)));
  }
  await writeFrame(socket, [emptyFrame]);
}

/** The follower's answer: resolves when it accepted, rejects with its reason or when the link closes first. */
function readAnswer(socket: net.Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    const frames = new FrameReader();
    socket.on('data', (chunk: Buffer) => {
      try {
        const body = frames.push(chunk).find((b) => b.length > 0); // empty ones: still checking
        if (body === undefined) return;
        if (body[0] === Answer.accepted) resolve();
        else reject(new Error(`the follower refused the snapshot: ${body.subarray(1).toString('utf8')}`));
      } catch (err) {
        reject(err as Error);
      }
    });
    socket.on('error', () => undefined); // followed by 'close'
    socket.on('close', () => reject(new Error('the snapshot link closed before the follower answered')));
  });
}

/** Writes one frame; waits while the socket is full, and fails if it closes meanwhile. */
async function writeFrame(socket: net.Socket, parts: readonly Uint8Array[]): Promise<void> {
  if (socket.destroyed) throw new Error('the snapshot link closed before the snapshot was sent');
  let room = true;
  for (const part of parts) room = socket.write(part);
  if (!room) await drained(socket);
}

function drained(socket: net.Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (err?: Error): void => {
      socket.off('drain', onDrain);
      socket.off('close', onClose);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onDrain = (): void => settle();
    const onClose = (): void => settle(new Error('the snapshot link closed before the snapshot was sent'));
    socket.once('drain', onDrain);
    socket.once('close', onClose);
  });
}

/** What the first frame of a snapshot link names: the Snap message and where its bytes go. */
export interface IncomingSnapshot {
  readonly message: Message;
  readonly writer: SnapshotWriter;
}

export interface SnapshotLinkHandlers {
  /** Checks the first frame's batch (who sends, what); throws to refuse it. */
  open(batch: { from?: unknown; messages?: unknown[] }): IncomingSnapshot;
  /** The snapshot is verified and staged: the Snap message goes to the core. */
  deliver(m: Message): void;
  onError(err: Error): void;
  /** A stream silent this long is dropped (defaultSnapshotIdleMs). */
  idleMs: number;
}

/**
 * Serves one inbound snapshot link (after its preface). Reading waits for each chunk's write, so
 * a follower slower than the network holds the sender back through TCP, not through memory.
 */
export async function receiveSnapshot(socket: net.Socket, handlers: SnapshotLinkHandlers): Promise<void> {
  socket.setTimeout(handlers.idleMs, () => socket.destroy());
  socket.on('error', () => undefined); // the loop below ends with the close
  let incoming: IncomingSnapshot | null = null;
  try {
    const frames = new FrameReader();
    // Not destroyed when the loop ends: the answer has yet to leave.
    for await (const chunk of socket.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      for (const body of frames.push(chunk)) {
        if (incoming === null) incoming = handlers.open(decodeBatch(body));
        else if (body.length > 0) await incoming.writer.write(body);
        else return await finish(socket, incoming, handlers);
      }
    }
    throw new WireError('the snapshot link ended before the snapshot did');
  } catch (err) {
    await incoming?.writer.abort().catch((e: Error) => handlers.onError(e));
    handlers.onError(err as Error);
    if (!socket.destroyed) socket.end(answerFrame(Answer.refused, (err as Error).message));
  }
}

async function finish(socket: net.Socket, incoming: IncomingSnapshot, handlers: SnapshotLinkHandlers): Promise<void> {
  const beat = setInterval(() => socket.write(emptyFrame), handlers.idleMs / checkingBeatsPerIdle);
  try {
    await incoming.writer.finish();
  } finally {
    clearInterval(beat);
  }
  handlers.deliver(incoming.message);
  socket.end(answerFrame(Answer.accepted));
}

function answerFrame(answer: Answer, reason = ''): Buffer {
  return Buffer.concat(frameOf(Buffer.concat([Buffer.of(answer), Buffer.from(reason)])));
}
