// The BridgeLink over the peer's WebSocket bridge (ws://host/bridge?token=...). It reconnects with
// backoff when the socket drops (the peer may restart); calls made while it is down fail at once
// with an `unavailable` error reply, so that callers (the outbox) retry later instead of hanging.
import type { BridgeLink, BridgePush, BridgeReply, BridgeRequest, BridgeMessage } from '../../../common/bridge.js';
import { webSocketPath } from '../../../common/bridge.js';
import type { ReconnectingLink } from './remote-chat-api.js';

interface Pending {
  readonly resolve: (reply: BridgeReply) => void;
}

function unavailable(id: number, message: string): BridgeReply {
  return { type: 'reply', id, ok: false, error: { code: 'unavailable', message } };
}

export class WebSocketLink implements BridgeLink, ReconnectingLink {
  private socket: WebSocket | null = null;
  private readonly pending = new Map<number, Pending>();
  private readonly pushListeners = new Set<(push: BridgePush) => void>();
  private readonly connectionListeners = new Set<(connected: boolean) => void>();
  private attempts = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  connected = false;

  constructor(private readonly url: string) {
    this.connect();
  }

  call(request: BridgeRequest): Promise<BridgeReply> {
    const socket = this.socket;
    if (!this.connected || !socket || socket.readyState !== WebSocket.OPEN) {
      return Promise.resolve(unavailable(request.id, 'Disconnected from your peer'));
    }
    return new Promise((resolve) => {
      this.pending.set(request.id, { resolve });
      try {
        socket.send(JSON.stringify(request));
      } catch {
        this.pending.delete(request.id);
        resolve(unavailable(request.id, 'Disconnected from your peer'));
      }
    });
  }

  onPush(listener: (push: BridgePush) => void): () => void {
    this.pushListeners.add(listener);
    return () => this.pushListeners.delete(listener);
  }

  onConnection(listener: (connected: boolean) => void): () => void {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.socket?.close();
  }

  /** Try now instead of waiting out the backoff. */
  retryNow(): void {
    if (this.connected || this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.socket) this.connect();
  }

  private connect(): void {
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.attempts = 0;
      this.connected = true;
      for (const l of [...this.connectionListeners]) l(true);
    };
    socket.onmessage = (ev: MessageEvent) => {
      if (typeof ev.data !== 'string') return;
      let message: BridgeMessage;
      try {
        message = JSON.parse(ev.data) as BridgeMessage;
      } catch {
        return;
      }
      if (message.type === 'reply') {
        const p = this.pending.get(message.id);
        if (p) {
          this.pending.delete(message.id);
          p.resolve(message);
        }
      } else {
        for (const l of [...this.pushListeners]) l(message);
      }
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      const was = this.connected;
      this.connected = false;
      for (const [id, p] of this.pending) p.resolve(unavailable(id, 'Disconnected from your peer'));
      this.pending.clear();
      if (was) for (const l of [...this.connectionListeners]) l(false);
      this.scheduleReconnect();
    };
    socket.onerror = () => { /* onclose follows */ };
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    this.attempts++;
    const base = Math.min(200 * 2 ** Math.min(this.attempts - 1, 5), 3000);
    const delay = base / 2 + Math.random() * (base / 2);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }
}

const tokenKey = 'qc.bridge.token';
const peerKey = 'qc.bridge.peer';

/**
 * The bridge token (and, for the Vite dev server, the peer's host:port) from `#token=...&peer=...`,
 * then kept in sessionStorage with the hash cleared, so that a reload still works.
 */
export function takeBridgeParams(): { token: string | null; peer: string } {
  const hash = new URLSearchParams(location.hash.replace(/^#/, ''));
  const token = hash.get('token');
  const peer = hash.get('peer');
  if (token) sessionStorage.setItem(tokenKey, token);
  if (peer) sessionStorage.setItem(peerKey, peer);
  if (token || peer) history.replaceState(null, '', location.pathname + location.search);
  return { token: sessionStorage.getItem(tokenKey), peer: sessionStorage.getItem(peerKey) ?? location.host };
}

export function webSocketUrl(token: string, peer: string): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${peer}${webSocketPath}?token=${encodeURIComponent(token)}`;
}
