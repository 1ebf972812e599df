// Peer-to-peer transport over gRPC: one long-lived outbound stream per peer carries batches of
// Raft messages; snapshots stream in chunks on their own call. A slow or dead peer only fills
// (and then overflows) its own queue: it never blocks traffic to the others.
import * as grpc from '@grpc/grpc-js';
import { MessageType, type Message, type NodeId, type SnapshotMeta } from '../raft/types.js';
import { loadRaftService } from './proto.js';
import { fromWire, toWire, WireError, type WireMessage } from './wire.js';

/** Where snapshot bytes come from (sender) and go to (receiver). */
export interface SnapshotStore {
  /** The bytes of the snapshot described by `meta` (or a newer one), in chunks. */
  read(meta: SnapshotMeta): AsyncIterable<Uint8Array>;
  /** Stages an incoming snapshot; `finish` makes it installable when the core asks for it. */
  receive(meta: SnapshotMeta, from: NodeId): SnapshotWriter;
}

export interface SnapshotWriter {
  write(chunk: Uint8Array): void;
  finish(): Promise<void>;
  abort(): void;
}

export interface TransportHandlers {
  /** A validated message for this node. */
  onMessage(m: Message): void;
  /** Messages to `peer` were lost (connection down or queue overflow). */
  onUnreachable(peer: NodeId): void;
  onError?(err: Error, context: string): void;
}

/** Another gRPC service served on the peer's address (the ChatService), added before start(). */
export interface ServiceRegistration {
  readonly definition: grpc.ServiceDefinition;
  readonly implementation: grpc.UntypedServiceImplementation;
}

export interface TransportOptions {
  id: NodeId;
  listen: string;
  serverCredentials: grpc.ServerCredentials;
  channelCredentials: grpc.ChannelCredentials;
  snapshots: SnapshotStore;
  /** Identify the peer behind an incoming call (TLS identity); default: trust `from`. */
  authenticate?: (call: grpc.ServerReadableStream<unknown, unknown>, claimed: NodeId) => boolean;
  /** Messages queued per peer before new ones are dropped. */
  maxQueuedMessages?: number;
}

const snapshotChunkBytes = 1 << 20;
const channelOptions: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': 64 << 20,
  'grpc.max_send_message_length': 64 << 20,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 2_000,
  'grpc.client_idle_timeout_ms': 24 * 3600 * 1000,
};

export class Transport {
  private readonly server = new grpc.Server({
    'grpc.max_receive_message_length': 64 << 20,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  });
  private readonly links = new Map<NodeId, PeerLink>();
  /** Inbound raft streams, each with a way to end it (they never end on their own). */
  private readonly inbound = new Set<() => void>();
  private readonly service = loadRaftService();
  private closed = false;
  boundPort = 0;

  constructor(private readonly opts: TransportOptions, private readonly handlers: TransportHandlers) {
    this.server.addService(this.service.service, {
      Stream: (call: grpc.ServerReadableStream<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => this.serveStream(call, cb),
      InstallSnapshot: (call: grpc.ServerReadableStream<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => this.serveSnapshot(call, cb),
    });
  }

  /** Serves another service on the same address (one port for peers and clients). */
  addService(service: ServiceRegistration): void {
    if (this.boundPort !== 0) throw new Error('transport: add services before start()');
    this.server.addService(service.definition, service.implementation);
  }

  /** Binds the server; resolves with the bound port. */
  async start(): Promise<number> {
    this.boundPort = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(this.opts.listen, this.opts.serverCredentials, (err, port) => (err ? reject(err) : resolve(port)));
    });
    return this.boundPort;
  }

  setPeer(id: NodeId, address: string): void {
    const link = this.links.get(id);
    if (link?.address === address) return;
    link?.close();
    this.links.set(id, new PeerLink(id, address, this.opts, this.service.client, this.handlers));
  }

  removePeer(id: NodeId): void {
    this.links.get(id)?.close();
    this.links.delete(id);
  }

  peerAddress(id: NodeId): string | undefined {
    return this.links.get(id)?.address;
  }

  isConnected(id: NodeId): boolean {
    return this.links.get(id)?.connected() ?? false;
  }

  /** Queues messages for their destinations; one batch per peer per call. */
  send(messages: readonly Message[]): void {
    if (this.closed) return;
    const byPeer = new Map<NodeId, Message[]>();
    for (const m of messages) {
      if (m.type === MessageType.Snap) {
        this.links.get(m.to)?.sendSnapshot(m);
        continue;
      }
      let batch = byPeer.get(m.to);
      if (batch === undefined) byPeer.set(m.to, (batch = []));
      batch.push(m);
    }
    for (const [to, batch] of byPeer) {
      const link = this.links.get(to);
      if (link === undefined) this.handlers.onUnreachable(to);
      else link.send(batch);
    }
  }

  /**
   * Stops sending and serving. Other peers' streams to us are ended first: a graceful shutdown
   * waits for every open call, and theirs would otherwise stay open until keepalive gives up.
   * Client calls still running get `graceMs` to finish.
   */
  async close(graceMs = 2_000): Promise<void> {
    this.closed = true;
    for (const link of this.links.values()) link.close();
    this.links.clear();
    for (const end of [...this.inbound]) end();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.server.forceShutdown();
  }

  private serveStream(call: grpc.ServerReadableStream<unknown, unknown>, cb: grpc.sendUnaryData<unknown>): void {
    let peer: NodeId | null = null;
    const end = () => {
      if (this.inbound.delete(end)) cb(null, {}); // once: by the peer's end, or by our close()
    };
    this.inbound.add(end);
    call.on('data', (batch: { from?: string; messages?: unknown[] }) => {
      try {
        peer ??= this.admit(call, batch.from);
        for (const w of batch.messages ?? []) this.handlers.onMessage(this.validate(w, peer));
      } catch (err) {
        this.inbound.delete(end);
        this.refuse(call, err, cb);
      }
    });
    call.on('end', end);
    // The peer went away; it reconnects by itself.
    call.on('error', () => this.inbound.delete(end));
    call.on('cancelled', () => this.inbound.delete(end));
  }

  private serveSnapshot(call: grpc.ServerReadableStream<unknown, unknown>, cb: grpc.sendUnaryData<unknown>): void {
    let message: Message | null = null;
    let writer: SnapshotWriter | null = null;
    call.on('data', (chunk: { message?: WireMessage | null; data?: Uint8Array }) => {
      try {
        if (message === null) {
          const peer = this.admit(call, chunk.message?.from);
          message = this.validate(chunk.message, peer);
          if (message.type !== MessageType.Snap || message.snapshot === null) throw new WireError('first chunk is not a snapshot');
          writer = this.opts.snapshots.receive(message.snapshot.meta, peer);
        }
        if (chunk.data !== undefined && chunk.data.length > 0) writer?.write(chunk.data);
      } catch (err) {
        writer?.abort();
        this.refuse(call, err, cb);
      }
    });
    call.on('end', () => void this.finishSnapshot(message, writer, cb));
    call.on('error', () => (writer as SnapshotWriter | null)?.abort());
  }

  private async finishSnapshot(message: Message | null, writer: SnapshotWriter | null, cb: grpc.sendUnaryData<unknown>): Promise<void> {
    if (message === null || writer === null) {
      cb({ code: grpc.status.INVALID_ARGUMENT, details: 'empty snapshot stream' });
      return;
    }
    try {
      await writer.finish();
      this.handlers.onMessage(message);
      cb(null, { accepted: true });
    } catch (err) {
      this.handlers.onError?.(err as Error, 'snapshot receive');
      cb({ code: grpc.status.INTERNAL, details: (err as Error).message });
    }
  }

  private admit(call: grpc.ServerReadableStream<unknown, unknown>, claimed: string | undefined): NodeId {
    if (typeof claimed !== 'string' || claimed === '') throw new WireError('stream without sender id');
    if (this.opts.authenticate !== undefined && !this.opts.authenticate(call, claimed)) {
      throw new WireError(`peer is not ${claimed}`);
    }
    return claimed;
  }

  private validate(w: unknown, peer: NodeId): Message {
    const m = fromWire(w, peer);
    if (m.to !== this.opts.id) throw new WireError(`message for ${m.to} delivered to ${this.opts.id}`);
    return m;
  }

  private refuse(call: grpc.ServerReadableStream<unknown, unknown>, err: unknown, cb: grpc.sendUnaryData<unknown>): void {
    this.handlers.onError?.(err as Error, 'peer stream');
    call.removeAllListeners('data');
    cb({ code: grpc.status.INVALID_ARGUMENT, details: (err as Error).message });
  }
}

type RaftClient = grpc.Client & {
  Stream(cb: grpc.requestCallback<unknown>): grpc.ClientWritableStream<unknown>;
  InstallSnapshot(cb: grpc.requestCallback<unknown>): grpc.ClientWritableStream<unknown>;
};

/** The outbound side towards one peer: a stream, a bounded queue and a reconnect backoff. */
class PeerLink {
  private readonly client: RaftClient;
  private stream: grpc.ClientWritableStream<unknown> | null = null;
  private queue: Message[] = [];
  private blocked = false;
  private snapshotInFlight = false;
  private retryAt = 0;
  private backoffMs = 50;
  private closed = false;
  private readonly maxQueued: number;

  constructor(
    readonly id: NodeId,
    readonly address: string,
    private readonly opts: TransportOptions,
    clientCtor: grpc.ServiceClientConstructor,
    private readonly handlers: TransportHandlers,
  ) {
    this.client = new clientCtor(address, opts.channelCredentials, channelOptions) as unknown as RaftClient;
    // Connect now and stay connected (keepalive pings), so that reachability is known even for
    // peers we have not needed to send to yet.
    this.client.getChannel().getConnectivityState(true);
    this.maxQueued = opts.maxQueuedMessages ?? 10_000;
  }

  /** Whether the connection is up; asking also wakes an idle channel, so the answer stays fresh. */
  connected(): boolean {
    return this.client.getChannel().getConnectivityState(true) === grpc.connectivityState.READY;
  }

  send(batch: Message[]): void {
    if (this.closed) return;
    if (this.connected()) this.backoffMs = 50;
    if (this.blocked || this.openStream() === null) {
      this.enqueue(batch);
      return;
    }
    this.write(batch);
  }

  sendSnapshot(m: Message): void {
    if (this.closed || this.snapshotInFlight || m.snapshot === null) return;
    this.snapshotInFlight = true;
    void this.streamSnapshot(m).catch((err: Error) => {
      this.handlers.onError?.(err, `snapshot to ${this.id}`);
      this.handlers.onUnreachable(this.id);
    }).finally(() => {
      this.snapshotInFlight = false;
    });
  }

  close(): void {
    this.closed = true;
    this.stream?.end();
    this.stream = null;
    this.client.close();
  }

  private enqueue(batch: Message[]): void {
    if (this.queue.length + batch.length > this.maxQueued) {
      this.handlers.onUnreachable(this.id); // Raft tolerates the loss; it probes again
      return;
    }
    for (const m of batch) this.queue.push(m);
  }

  private write(batch: Message[]): void {
    const stream = this.stream as grpc.ClientWritableStream<unknown>;
    const ok = stream.write({ from: this.opts.id, messages: batch.map(toWire) });
    if (!ok) {
      this.blocked = true;
      stream.once('drain', () => this.flush());
    }
  }

  private flush(): void {
    this.blocked = false;
    if (this.queue.length === 0 || this.stream === null) return;
    const batch = this.queue;
    this.queue = [];
    this.write(batch);
  }

  /** The open stream, opening one unless we are backing off after a failure. */
  private openStream(): grpc.ClientWritableStream<unknown> | null {
    if (this.stream !== null) return this.stream;
    if (Date.now() < this.retryAt) return null;
    const stream = this.client.Stream(() => this.streamFailed(stream));
    stream.on('error', () => this.streamFailed(stream));
    this.stream = stream;
    return stream;
  }

  private streamFailed(stream: grpc.ClientWritableStream<unknown>): void {
    if (this.stream !== stream) return;
    this.stream = null;
    this.blocked = false;
    this.queue = [];
    this.retryAt = Date.now() + this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, 1_000);
    if (!this.closed) this.handlers.onUnreachable(this.id);
  }

  private async streamSnapshot(m: Message): Promise<void> {
    const meta = (m.snapshot as NonNullable<Message['snapshot']>).meta;
    await new Promise<void>((resolve, reject) => {
      const call = this.client.InstallSnapshot((err) => (err ? reject(err) : resolve()));
      void this.pumpSnapshot(call, m, meta).catch((err: Error) => {
        call.cancel();
        reject(err);
      });
    });
    this.backoffMs = 50;
  }

  private async pumpSnapshot(call: grpc.ClientWritableStream<unknown>, m: Message, meta: SnapshotMeta): Promise<void> {
    await writeChunk(call, { message: toWire(m) });
    for await (const data of this.opts.snapshots.read(meta)) {
      for (let at = 0; at < data.length; at += snapshotChunkBytes) {
        await writeChunk(call, { data: data.subarray(at, at + snapshotChunkBytes) });
      }
    }
    call.end();
  }
}

function writeChunk(call: grpc.ClientWritableStream<unknown>, chunk: object): Promise<void> {
  return new Promise((resolve) => {
    if (call.write(chunk)) resolve();
    else call.once('drain', () => resolve());
  });
}
