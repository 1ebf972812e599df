// Peer-to-peer transport over gRPC: one long-lived outbound stream per peer carries batches of
// Raft messages; snapshots stream in chunks on their own call. A slow or dead peer only fills
// (and then overflows) its own queue: it never blocks traffic to the others.
import * as grpc from '@grpc/grpc-js';
import { MessageType, type Message, type NodeId, type SnapshotMeta } from '../raft/types.js';
import { loadRaftService } from './proto.js';
import { fromWire, toWire, UnknownMessageType, WireError, type WireMessage } from './wire.js';

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
  /** Join and Leave RPCs (group peers); without them both are refused as unimplemented. */
  membership?: MembershipHandlers;
}

export interface MembershipHandlers {
  join(call: grpc.ServerUnaryCall<JoinRequest, JoinReply>): Promise<JoinReply>;
  leave(call: grpc.ServerUnaryCall<LeaveRequest, LeaveReply>): Promise<LeaveReply>;
}

/** The membership RPCs by name, with their request and reply types. */
export interface MembershipCalls {
  Join: [JoinRequest, JoinReply];
  Leave: [LeaveRequest, LeaveReply];
}

export interface LeaveRequest {
  nodeId: string;
}

export type LeaveReply = Record<string, never>;

export interface JoinRequest {
  nodeId: string;
  addresses: string[];
  fingerprint: string;
}

export interface JoinReply {
  members: { id: string; address: string }[];
}

/** Another gRPC service served on the peer's address (the ChatService), added before start(). */
export interface ServiceRegistration {
  readonly definition: grpc.ServiceDefinition;
  readonly implementation: grpc.UntypedServiceImplementation;
}

export interface TransportOptions {
  id: NodeId;
  listen: string;
  /**
   * A second address served without TLS, for local clients (the CLI) of a TLS peer. Peer RPCs
   * on it carry no certificate, so `authenticate` refuses them.
   */
  clientListen?: string;
  serverCredentials: grpc.ServerCredentials;
  channelCredentials: grpc.ChannelCredentials;
  snapshots: SnapshotStore;
  /** Extra channel options per destination (TLS: the server name each peer's certificate must show). */
  channelOptionsFor?: (id: NodeId) => grpc.ChannelOptions;
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
  // Raft streams are never retried by gRPC (a broken one is reopened and Raft resends); without
  // this, grpc-js keeps every message of a stream in a retry buffer until the call commits.
  'grpc.enable_retries': 0,
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
  clientPort = 0;

  constructor(private readonly opts: TransportOptions, private readonly handlers: TransportHandlers) {
    this.server.addService(this.service.service, {
      Stream: (call: grpc.ServerReadableStream<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => this.serveStream(call, cb),
      InstallSnapshot: (call: grpc.ServerReadableStream<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => this.serveSnapshot(call, cb),
      Join: (call: grpc.ServerUnaryCall<JoinRequest, JoinReply>, cb: grpc.sendUnaryData<JoinReply>) => this.serveMembership((h) => h.join(call), cb),
      Leave: (call: grpc.ServerUnaryCall<LeaveRequest, LeaveReply>, cb: grpc.sendUnaryData<LeaveReply>) => this.serveMembership((h) => h.leave(call), cb),
    });
  }

  /** Serves another service on the same address (one port for peers and clients). */
  addService(service: ServiceRegistration): void {
    if (this.boundPort !== 0) throw new Error('transport: add services before start()');
    this.server.addService(service.definition, service.implementation);
  }

  /** Binds the server (and the client address, if any); resolves with the bound port. */
  async start(): Promise<number> {
    this.boundPort = await this.bind(this.opts.listen, this.opts.serverCredentials);
    if (this.opts.clientListen !== undefined) this.clientPort = await this.bind(this.opts.clientListen, grpc.ServerCredentials.createInsecure());
    return this.boundPort;
  }

  private bind(address: string, credentials: grpc.ServerCredentials): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.server.bindAsync(address, credentials, (err, port) => (err ? reject(err) : resolve(port)));
    });
  }

  /** Calls Join or Leave on the member at `address` (see proto/raft.proto). */
  callMember<M extends keyof MembershipCalls>(
    method: M, address: string, request: MembershipCalls[M][0], credentials: grpc.ChannelCredentials, options: grpc.ChannelOptions, timeoutMs = 10_000,
  ): Promise<MembershipCalls[M][1]> {
    const client = new this.service.client(address, credentials, { ...channelOptions, ...options }) as unknown as MemberClient;
    return new Promise((resolve, reject) => {
      client[method](request, { deadline: Date.now() + timeoutMs }, (err, reply) => {
        client.close();
        if (err !== null || reply === undefined) reject(err ?? new Error('empty join reply'));
        else resolve(reply as MembershipCalls[M][1]);
      });
    });
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
    let skipped = false;
    const end = () => {
      if (this.inbound.delete(end)) cb(null, {}); // once: by the peer's end, or by our close()
    };
    this.inbound.add(end);
    call.on('data', (batch: { from?: string; messages?: unknown[] }) => {
      try {
        peer ??= this.admit(call, batch.from);
        for (const w of batch.messages ?? []) {
          const m = this.validateKnown(w, peer, !skipped);
          if (m === null) skipped = true;
          else this.handlers.onMessage(m);
        }
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

  private serveMembership<R>(handle: (h: MembershipHandlers) => Promise<R>, cb: grpc.sendUnaryData<R>): void {
    const handlers = this.handlers.membership;
    if (handlers === undefined) {
      cb({ code: grpc.status.UNIMPLEMENTED, details: 'this peer has a fixed membership (static group)' });
      return;
    }
    handle(handlers).then((reply) => cb(null, reply), (err: Error & { code?: number }) => {
      cb({ code: err.code ?? grpc.status.UNAVAILABLE, details: err.message });
    });
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

  /** validate(), but a message of an unknown type is dropped (null), reported once per stream. */
  private validateKnown(w: unknown, peer: NodeId, report: boolean): Message | null {
    try {
      return this.validate(w, peer);
    } catch (err) {
      if (!(err instanceof UnknownMessageType)) throw err;
      if (report) this.handlers.onError?.(err, `peer stream from ${peer}`);
      return null;
    }
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

type MemberClient = grpc.Client & Record<keyof MembershipCalls,
  (request: unknown, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, reply?: unknown) => void) => void>;

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
    const options = { ...channelOptions, ...opts.channelOptionsFor?.(id) };
    this.client = new clientCtor(address, opts.channelCredentials, options) as unknown as RaftClient;
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
