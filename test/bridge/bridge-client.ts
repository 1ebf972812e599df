// A test client of the WebSocket bridge: connects with chosen token, Origin and Host, sends
// requests, matches replies by id and keeps pushes. A refused upgrade resolves with its status.
import WebSocket from 'ws';
import type { BridgeMessage, BridgePush, BridgeReply } from '../../common/bridge.js';
import { waitFor } from '../helpers/wait.js';

export interface Handshake {
  readonly token?: string | null;
  /** null: send no Origin at all. */
  readonly origin?: string | null;
  readonly host?: string;
}

export class BridgeClient {
  readonly pushes: BridgePush[] = [];
  private readonly replies = new Map<number, BridgeReply>();
  private nextId = 1;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as BridgeMessage;
      if (message.type === 'reply') this.replies.set(message.id, message);
      else this.pushes.push(message);
    });
  }

  /** Opens a socket, or says with which HTTP status the upgrade was refused. */
  static connect(port: number, handshake: Handshake): Promise<BridgeClient | { refused: number }> {
    const query = handshake.token === null || handshake.token === undefined ? '' : `?token=${encodeURIComponent(handshake.token)}`;
    const headers: Record<string, string> = {};
    if (handshake.host !== undefined) headers.Host = handshake.host;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/bridge${query}`, {
      headers, ...(handshake.origin === null ? {} : { origin: handshake.origin ?? `http://127.0.0.1:${port}` }),
    });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new BridgeClient(ws)));
      ws.once('unexpected-response', (_req, res) => {
        resolve({ refused: res.statusCode ?? 0 });
        res.resume();
        ws.terminate();
      });
      ws.once('error', reject);
    });
  }

  /** Sends one request and waits for its reply. */
  async call(method: string, ...args: unknown[]): Promise<BridgeReply> {
    return this.send({ id: this.nextId++, method, args });
  }

  /** Sends anything as one frame (a string as is), and waits for the reply with `id`. */
  async send(frame: unknown, id = (frame as { id?: number }).id ?? 0): Promise<BridgeReply> {
    this.replies.delete(id);
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
    return waitFor(() => this.replies.get(id), `the reply to request ${id}`);
  }

  /** The result of a call that must succeed. */
  async ok<T = unknown>(method: string, ...args: unknown[]): Promise<T> {
    const reply = await this.call(method, ...args);
    if (!reply.ok) throw new Error(`${method} failed: ${reply.error.code}: ${reply.error.message}`);
    return reply.result as T;
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}
