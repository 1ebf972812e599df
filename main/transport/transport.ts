// Peer-to-peer transport: one long-lived outbound connection per peer (the Raft link: TLS and
// length-prefixed frames, see frames.ts) carries batches of Raft messages; a snapshot gets a
// connection of its own (snapshot-link.ts); Join and Leave are gRPC calls on the same port. A
// slow or dead peer only fills (and then overflows) its own queue: it never blocks traffic to
// the others.
import * as grpc from '@grpc/grpc-js';
import type * as net from 'node:net';
import * as tls from 'node:tls';
import { MessageType, type Message, type NodeId } from '../raft/types.js';
import { decodeBatch, emptyFrame, encodeFrame, FrameReader, raftPreface } from './frames.js';
import { PeerListener } from './listener.js';
import { loadRaftService } from './proto.js';
import { defaultKeepaliveMs, RaftLink, type Backoff } from './raft-link.js';
import { defaultSnapshotIdleMs, receiveSnapshot, sendSnapshot, type IncomingSnapshot, type SnapshotStore } from './snapshot-link.js';
import { fromWire, toWire, UnknownMessageType, WireError } from './wire.js';

export type { OutgoingSnapshot, SnapshotStore, SnapshotWriter } from './snapshot-link.js';

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

/** Mutual TLS between members: the listener's, and what dialling each member must check. */
export interface TransportTls {
  readonly serverOptions: tls.TlsOptions;
  /** The Raft and snapshot links to `id`: its certificate must name it. */
  connectOptions(id: NodeId): tls.ConnectionOptions;
}

export interface TransportOptions {
  id: NodeId;
  listen: string;
  /**
   * A second address served without TLS, for local clients (the CLI) of a TLS peer. Peer RPCs
   * on it carry no certificate, so `authenticate` refuses them.
   */
  clientListen?: string;
  /** Without it everything is plaintext (static groups). */
  tls?: TransportTls;
  snapshots: SnapshotStore;
  /**
   * Whether the client certificate behind an incoming Raft or snapshot link (undefined without
   * TLS) belongs to `claimed`; default: trust the claimed sender.
   */
  authenticate?: (certificate: tls.PeerCertificate | undefined, claimed: NodeId) => boolean;
  /** Messages queued per peer before new ones are dropped. */
  maxQueuedMessages?: number;
  /** How often an idle Raft link pings (tests shorten it); a silent link is dropped after two. */
  keepaliveMs?: number;
  /** The Raft links' reconnect backoff (defaultBackoffMs; tests lengthen it). */
  backoffMs?: Backoff;
  /** A snapshot link silent this long is dropped (defaultSnapshotIdleMs; tests shorten it). */
  snapshotIdleMs?: number;
}

const versionWarningMs = 60_000;
/** An inbound Raft link silent this many keepalive periods belongs to a peer that is gone. */
const inboundIdlePeriods = 4;
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
  /** gRPC connections arrive through our listener, already decrypted (see listener.ts). */
  private readonly grpcConnections = this.server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  private readonly listener: PeerListener;
  private readonly links = new Map<NodeId, PeerLink>();
  /** Other peers' Raft links to us. */
  private readonly inbound = new Set<net.Socket>();
  /** The latest Raft link each peer opened to us (Removed goes back on it: replyInbound). */
  private readonly inboundFrom = new Map<NodeId, net.Socket>();
  /** When a member of another version may be reported again, by address. */
  private readonly versionWarnings = new Map<string, number>();
  private readonly service = loadRaftService();
  private closed = false;
  boundPort = 0;
  clientPort = 0;

  constructor(private readonly opts: TransportOptions, private readonly handlers: TransportHandlers) {
    this.listener = new PeerListener(opts.tls?.serverOptions, {
      raft: (socket) => this.serveRaftLink(socket),
      snapshot: (socket) => void receiveSnapshot(socket, {
        open: (batch) => this.openSnapshot(socket, batch),
        deliver: (m) => this.handlers.onMessage(m),
        onError: (err) => this.handlers.onError?.(err, 'peer snapshot'),
        idleMs: opts.snapshotIdleMs ?? defaultSnapshotIdleMs,
      }),
      grpc: (socket) => this.grpcConnections.injectConnection(socket),
      otherRaftVersion: (socket, preface) => this.refuseOtherVersion(socket, preface),
    });
    this.server.addService(this.service.service, {
      Join: (call: grpc.ServerUnaryCall<JoinRequest, JoinReply>, cb: grpc.sendUnaryData<JoinReply>) => this.serveMembership((h) => h.join(call), cb),
      Leave: (call: grpc.ServerUnaryCall<LeaveRequest, LeaveReply>, cb: grpc.sendUnaryData<LeaveReply>) => this.serveMembership((h) => h.leave(call), cb),
    });
  }

  /** Serves another service on the same address (one port for peers and clients). */
  addService(service: ServiceRegistration): void {
    if (this.boundPort !== 0) throw new Error('transport: add services before start()');
    this.server.addService(service.definition, service.implementation);
  }

  /** Listens (and binds the client address, if any); resolves with the bound port. */
  async start(): Promise<number> {
    this.boundPort = await this.listener.listen(this.opts.listen);
    if (this.opts.clientListen !== undefined) this.clientPort = await this.bindClients(this.opts.clientListen);
    return this.boundPort;
  }

  private bindClients(address: string): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
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
    this.links.set(id, new PeerLink(id, address, this.opts, this.handlers, (peer, body) => this.receiveReply(peer, body)));
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
      if (link !== undefined) link.send(batch);
      else if (!this.replyInbound(to, batch)) this.handlers.onUnreachable(to);
    }
  }

  /**
   * A leader tells a node it removed (and so forgot, with its address and link) that it is not a
   * member (MessageType.Removed): on the link that node opened to us, if it has one. The node's
   * RaftLink reads it (onReply).
   */
  private replyInbound(to: NodeId, batch: readonly Message[]): boolean {
    const socket = this.inboundFrom.get(to);
    if (socket === undefined || batch.some((m) => m.type !== MessageType.Removed)) return false;
    for (const part of encodeFrame({ from: this.opts.id, messages: batch.map(toWire) })) socket.write(part);
    return true;
  }

  /** A batch that came back on our link to `peer`: checked as inbound batches are, then stepped. */
  private receiveReply(peer: NodeId, body: Uint8Array): void {
    const batch = decodeBatch(body);
    if (batch.from !== peer) throw new WireError(`a reply on the link to ${peer} from ${String(batch.from)}`);
    for (const w of batch.messages ?? []) {
      const m = this.validateKnown(w, peer, true);
      if (m !== null) this.handlers.onMessage(m);
    }
  }

  /**
   * Stops sending and serving. Raft links end at once (the other peers reconnect to whoever
   * serves next); client calls still running get `graceMs` to finish.
   */
  async close(graceMs = 2_000): Promise<void> {
    this.closed = true;
    for (const link of this.links.values()) link.close();
    this.links.clear();
    this.listener.stopAccepting();
    for (const socket of this.inbound) socket.destroy();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.server.forceShutdown();
    this.grpcConnections.destroy();
    this.listener.close();
  }

  /**
   * A member of another version dials in (frames.ts): it stays apart until both run the same
   * version. Said once a minute per address: the member keeps redialling.
   */
  private refuseOtherVersion(socket: net.Socket, preface: string): void {
    const from = socket.remoteAddress ?? 'unknown';
    const now = Date.now();
    if ((this.versionWarnings.get(from) ?? 0) <= now) {
      this.versionWarnings.set(from, now + versionWarningMs);
      const ours = raftPreface.toString('latin1').trim();
      this.handlers.onError?.(new Error(`a member at ${from} speaks ${preface}, this peer ${ours}: it runs another version of Quorum Chat and stays apart until both run the same`), 'raft link');
    }
    socket.destroy();
  }

  /**
   * Another peer's Raft link: frames of message batches, each checked before the core sees it.
   * The first batch names the sender, which must be who the TLS certificate says; a malformed
   * frame ends the link (the sender reconnects).
   */
  private serveRaftLink(socket: net.Socket): void {
    this.inbound.add(socket);
    socket.on('close', () => this.inbound.delete(socket));
    socket.setTimeout(inboundIdlePeriods * (this.opts.keepaliveMs ?? defaultKeepaliveMs), () => socket.destroy()); // live links ping
    const frames = new FrameReader();
    let peer: NodeId | null = null;
    let skipped = false;
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const body of frames.push(chunk)) {
          if (body.length === 0) {
            socket.write(emptyFrame); // a keepalive ping: answer it
            continue;
          }
          const batch = decodeBatch(body);
          if (peer === null) {
            const admitted = this.admit(socket, batch.from);
            peer = admitted;
            this.inboundFrom.set(admitted, socket);
            socket.on('close', () => {
              if (this.inboundFrom.get(admitted) === socket) this.inboundFrom.delete(admitted);
            });
            this.links.get(peer)?.reconnectNow();
          }
          for (const w of batch.messages ?? []) {
            const m = this.validateKnown(w, peer, !skipped);
            if (m === null) skipped = true;
            else this.handlers.onMessage(m);
          }
        }
      } catch (err) {
        this.handlers.onError?.(err as Error, 'peer stream');
        socket.destroy();
      }
    });
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

  /** The first frame of a snapshot link: one Snap message, from the peer its certificate names. */
  private openSnapshot(socket: net.Socket, batch: { from?: unknown; messages?: unknown[] }): IncomingSnapshot {
    const peer = this.admit(socket, batch.from);
    const message = this.validate(batch.messages?.[0], peer);
    if (batch.messages?.length !== 1 || message.type !== MessageType.Snap || message.snapshot === null) {
      throw new WireError('a snapshot link must open with one snapshot message');
    }
    return { message, writer: this.opts.snapshots.receive(message.snapshot.meta, peer) };
  }

  /** The claimed sender, once the certificate it connected with (if any) is shown to be its. */
  private admit(socket: net.Socket, claimed: unknown): NodeId {
    if (typeof claimed !== 'string' || claimed === '') throw new WireError('stream without sender id');
    const certificate = socket instanceof tls.TLSSocket ? socket.getPeerCertificate() : undefined;
    if (this.opts.authenticate !== undefined && !this.opts.authenticate(certificate, claimed)) {
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
}

type MemberClient = grpc.Client & Record<keyof MembershipCalls,
  (request: unknown, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, reply?: unknown) => void) => void>;

/** The outbound side towards one peer: its Raft link, and a snapshot link while one is sent. */
class PeerLink {
  private readonly raft: RaftLink;
  private snapshotInFlight = false;
  /** Aborted at close: drops a snapshot link in flight. */
  private readonly closing = new AbortController();

  constructor(
    readonly id: NodeId,
    readonly address: string,
    private readonly opts: TransportOptions,
    private readonly handlers: TransportHandlers,
    replies: (peer: NodeId, body: Uint8Array) => void,
  ) {
    this.raft = new RaftLink({
      from: opts.id, address, tls: opts.tls?.connectOptions(id), maxQueued: opts.maxQueuedMessages ?? 10_000,
      keepaliveMs: opts.keepaliveMs ?? defaultKeepaliveMs, backoffMs: opts.backoffMs,
      onLost: () => handlers.onUnreachable(id),
      onReply: (body) => replies(id, body),
    });
  }

  /** Whether the link is up; asking also reconnects a link that is down, so the answer stays fresh. */
  connected(): boolean {
    return this.raft.connected();
  }

  send(batch: Message[]): void {
    this.raft.send(batch);
  }

  /** The peer spoke to us: see RaftLink.reconnectNow. */
  reconnectNow(): void {
    this.raft.reconnectNow();
  }

  sendSnapshot(m: Message): void {
    if (this.closing.signal.aborted || this.snapshotInFlight || m.snapshot === null) return;
    this.snapshotInFlight = true;
    void this.streamSnapshot(m).catch((err: Error) => {
      if (this.closing.signal.aborted) return;
      this.handlers.onError?.(err, `snapshot to ${this.id}`);
      this.handlers.onUnreachable(this.id);
    }).finally(() => {
      this.snapshotInFlight = false;
    });
  }

  close(): void {
    this.closing.abort();
    this.raft.close();
  }

  private async streamSnapshot(m: Message): Promise<void> {
    const snapshot = m.snapshot as NonNullable<Message['snapshot']>;
    const outgoing = await this.opts.snapshots.read(snapshot.meta);
    try {
      // The follower is told the state it gets, which may be newer than the core's meta.
      const sent: Message = { ...m, snapshot: { ...snapshot, meta: outgoing.meta } };
      const link = {
        from: this.opts.id, address: this.address, tls: this.opts.tls?.connectOptions(this.id),
        signal: this.closing.signal, idleMs: this.opts.snapshotIdleMs ?? defaultSnapshotIdleMs,
      };
      await sendSnapshot(link, sent, outgoing.chunks);
    } finally {
      await outgoing.close();
    }
  }
}
