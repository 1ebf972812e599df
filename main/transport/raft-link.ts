// The outbound Raft link to one peer: a TLS connection (plain TCP in static groups) carrying
// frames one way, with a bounded queue while the socket is full, a reconnect backoff, and a
// keepalive ping that notices a peer gone without a goodbye (a machine switched off, a cable
// pulled), which TCP alone would take many minutes to report.
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Message, NodeId } from '../raft/types.js';
import { emptyFrame, encodeFrame, FrameReader, raftPreface } from './frames.js';
import { splitHostPort } from './listener.js';
import { toWire } from './wire.js';

/** A ping every this long by default; a link that has not answered by the next one is dropped. */
export const defaultKeepaliveMs = 5_000;
/** A reconnect backoff in ms: it doubles from `first` to `most` after each failure. */
export interface Backoff {
  readonly first: number;
  readonly most: number;
}
export const defaultBackoffMs: Backoff = { first: 50, most: 1_000 };
/** How long a closed link may take to deliver what was written before it. */
const closeGraceMs = 2_000;

export interface RaftLinkOptions {
  from: NodeId;
  address: string;
  /** TLS options for the handshake (certificates, the server name to check); plaintext without. */
  tls?: tls.ConnectionOptions;
  /** Messages queued while the socket is full before new ones are dropped. */
  maxQueued: number;
  keepaliveMs: number;
  backoffMs?: Backoff;
  /** Messages were lost: the link went down or the queue overflowed. Raft resends. */
  onLost(): void;
  /**
   * A batch the peer sent back on this link (a frame's body; everything else that comes back is
   * a pong). Only a leader's Removed travels this way (Transport.send). Throws on a bad batch,
   * which ends the link.
   */
  onReply(body: Uint8Array): void;
}

/** A connection to `host:port` (TLS with `tlsOptions`, else plain TCP), Nagle off; throws on a malformed address. */
export function dial(address: string, tlsOptions: tls.ConnectionOptions | undefined): net.Socket {
  const { host, port } = splitHostPort(address);
  const socket = tlsOptions === undefined ? net.connect({ host, port }) : tls.connect({ ...tlsOptions, host, port });
  socket.setNoDelay(true);
  return socket;
}

export class RaftLink {
  private socket: net.Socket | null = null;
  private up = false;
  private blocked = false;
  private queue: Message[] = [];
  private retryAt = 0;
  private readonly backoff: Backoff;
  private backoffMs: number;
  private awaitingPong = false;
  private closed = false;
  private readonly keepalive: NodeJS.Timeout;

  constructor(private readonly opts: RaftLinkOptions) {
    this.backoff = opts.backoffMs ?? defaultBackoffMs;
    this.backoffMs = this.backoff.first;
    // Connect now and stay connected, so that reachability is known before the first message.
    this.open();
    this.keepalive = setInterval(() => this.ping(), opts.keepaliveMs).unref();
  }

  /** Whether the connection is up; asking also reconnects one that is down (after its backoff). */
  connected(): boolean {
    if (this.socket === null) this.open();
    return this.up;
  }

  /**
   * The peer just spoke to us, so it is back: connect now rather than when the backoff ends. A
   * follower restarted after a long outage otherwise waited up to a second (the longest backoff)
   * for the leader's heartbeats, and called an election meanwhile.
   */
  reconnectNow(): void {
    if (this.closed || this.socket !== null) return;
    this.retryAt = 0;
    this.backoffMs = this.backoff.first;
    this.open();
  }

  /** Writes one batch as one frame, or queues it while the socket is full; lost while down. */
  send(messages: Message[]): void {
    if (this.closed) return;
    if (this.blocked) {
      this.enqueue(messages);
      return;
    }
    const socket = this.socket ?? this.open();
    if (socket === null) this.opts.onLost(); // backing off after a failure
    else this.write(socket, messages);
  }

  /**
   * Sends what is already written, then closes. A leader removing a member closes its link right
   * after writing the entry that tells it so: dropping that would leave the member waiting.
   */
  close(): void {
    this.closed = true;
    clearInterval(this.keepalive);
    const socket = this.socket;
    this.socket = null;
    if (socket === null) return;
    socket.end();
    setTimeout(() => socket.destroy(), closeGraceMs).unref();
  }

  private write(socket: net.Socket, messages: Message[]): void {
    const [header, body] = encodeFrame({ from: this.opts.from, messages: messages.map(toWire) });
    // Corked until the end of this turn: every frame written in it leaves in one system call.
    if (socket.writableCorked === 0) {
      socket.cork();
      process.nextTick(() => socket.uncork());
    }
    socket.write(header);
    if (!socket.write(body)) {
      this.blocked = true;
      socket.once('drain', () => this.flush(socket));
    }
  }

  private flush(socket: net.Socket): void {
    this.blocked = false;
    if (this.socket !== socket || this.queue.length === 0) return;
    const queued = this.queue;
    this.queue = [];
    this.write(socket, queued);
  }

  private enqueue(messages: Message[]): void {
    if (this.queue.length + messages.length > this.opts.maxQueued) {
      this.opts.onLost();
      return;
    }
    for (const m of messages) this.queue.push(m);
  }

  /** A new connection, unless closed or backing off. Writes before the handshake are buffered. */
  private open(): net.Socket | null {
    if (this.closed || Date.now() < this.retryAt) return null;
    let socket: net.Socket;
    try {
      socket = dial(this.opts.address, this.opts.tls);
    } catch {
      this.retryAt = Date.now() + this.backoff.most; // addresses are checked where they come from; never crash on one
      return null;
    }
    this.socket = socket;
    this.up = false;
    this.blocked = false;
    this.awaitingPong = false;
    socket.once(this.opts.tls === undefined ? 'connect' : 'secureConnect', () => {
      this.up = true;
      this.backoffMs = this.backoff.first;
    });
    const frames = new FrameReader();
    socket.on('data', (chunk: Buffer) => {
      this.awaitingPong = false; // empty frames are pongs; anything coming back shows the peer is there
      try {
        for (const body of frames.push(chunk)) if (body.length > 0) this.opts.onReply(body);
      } catch {
        socket.destroy(); // a malformed reply ends the link (it reconnects), as on the inbound side
      }
    });
    socket.on('error', () => undefined); // followed by 'close'
    socket.on('close', () => this.down(socket));
    socket.write(raftPreface);
    return socket;
  }

  private down(socket: net.Socket): void {
    if (this.socket !== socket) return;
    this.socket = null;
    this.up = false;
    this.blocked = false;
    this.queue = [];
    this.retryAt = Date.now() + this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.backoff.most);
    if (!this.closed) this.opts.onLost();
  }

  /** Reconnects a link that is down; drops one whose peer has not answered the last ping (or handshake). */
  private ping(): void {
    const socket = this.socket;
    if (socket === null) {
      this.open();
      return;
    }
    if (this.awaitingPong) {
      socket.destroy();
      return;
    }
    this.awaitingPong = true;
    if (this.up) socket.write(emptyFrame);
  }
}
