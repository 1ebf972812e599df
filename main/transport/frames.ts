// The Raft link's framing: after a fixed preface, each frame is a 4-byte big-endian length and
// that many bytes of a protobuf `MessageBatch` (proto/raft.proto). A frame of length 0 is a
// keepalive ping, answered by the same empty frame. One frame per batch, written to a socket
// that Node coalesces with the other writes of the same turn. A snapshot link (snapshot-link.ts)
// opens with its own preface and uses the same frames for other contents.
import protobuf from 'protobufjs';
import { fileURLToPath } from 'node:url';
import { WireError, type WireMessage } from './wire.js';

/** How every version of the Raft link starts: no HTTP/2 client does (they send "PRI * HTTP/2.0"). */
export const raftPrefaceFamily = Buffer.from('QCRAFT/');
/**
 * The first bytes of this version's Raft link. The number changes whenever members of two
 * versions must not replicate with each other: then a link of another version is refused
 * (listener.ts) and a group of mixed versions behaves as if partitioned, which Raft survives,
 * rather than applying one log two ways. 2: chat.db v6 (rules that expire client results);
 * 3: chat.db v7 (snapshots carry recent_results, which v6 code cannot open); 4: snapshots on
 * their own link instead of a gRPC stream (a member of version 3 could not send us one).
 */
export const raftPreface = Buffer.from('QCRAFT/4\n');
/** The first bytes of a snapshot link of this version (one of another version is refused too). */
export const snapshotPreface = Buffer.from('QCRAFT/4 snapshot\n');
/** A frame this long is refused as malformed: the largest App a leader sends, or snapshot chunk, is about 1 MiB. */
export const maxFrameBytes = 64 << 20;
export const emptyFrame = Buffer.alloc(4);

export interface MessageBatch {
  from: string;
  messages: WireMessage[];
}

const batchType = protobuf.loadSync(fileURLToPath(new URL('../../proto/raft.proto', import.meta.url))).lookupType('quorumchat.raft.MessageBatch');
// The same conversion @grpc/proto-loader uses for the gRPC calls (proto.ts).
const decodeOptions: protobuf.IConversionOptions = { longs: Number, enums: Number, defaults: true, oneofs: true };

/** One batch as a frame: its length header and its bytes (two writes, one writev when corked). */
export function encodeFrame(batch: MessageBatch): [Buffer, Uint8Array] {
  return frameOf(batchType.encode(batch).finish());
}

/** Any bytes as a frame: their length header and the bytes. */
export function frameOf(body: Uint8Array): [Buffer, Uint8Array] {
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE(body.length, 0);
  return [header, body];
}

/** A decoded batch, still unchecked: `fromWire` validates every message before the core sees it. */
export function decodeBatch(body: Uint8Array): { from?: unknown; messages?: unknown[] } {
  try {
    return batchType.toObject(batchType.decode(body), decodeOptions);
  } catch (err) {
    throw new WireError(`undecodable batch (${(err as Error).message})`);
  }
}

/** Splits a byte stream into frame bodies, however the stream is chunked. */
export class FrameReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes needed before the next frame can be complete (chunks are joined only then). */
  private needed = 4;

  /** The complete frames `chunk` finishes (empty bodies are pings); throws on an oversized one. */
  push(chunk: Buffer): Buffer[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < this.needed) return [];
    let buffer = this.pending.length === 1 ? chunk : Buffer.concat(this.pending, this.pendingBytes);
    const frames: Buffer[] = [];
    for (let end: number; buffer.length >= 4 && buffer.length >= (end = 4 + frameLength(buffer));) {
      frames.push(buffer.subarray(4, end));
      buffer = buffer.subarray(end);
    }
    this.pending = buffer.length === 0 ? [] : [buffer];
    this.pendingBytes = buffer.length;
    this.needed = buffer.length < 4 ? 4 : 4 + frameLength(buffer);
    return frames;
  }
}

function frameLength(buffer: Buffer): number {
  const length = buffer.readUInt32BE(0);
  if (length > maxFrameBytes) throw new WireError(`frame of ${length} bytes`);
  return length;
}
