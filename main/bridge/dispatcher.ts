// One bridge session per UI connection (an Electron window, a WebSocket): it checks each
// request, calls the host or this connection's own ChatApi session (so each window logs in on
// its own), keeps the connection's subscriptions, and pushes events and host state changes.
// It never throws: every failure becomes a reply with a stable error code.
import { ChatApiError, type ChatApi, type ChatApiErrorCode, type ChatEvent, type Unsubscribe } from '../../common/chat-api.js';
import {
  chatMethods, hostMethods, subscriptionMethods,
  type BridgeMethod, type BridgePush, type BridgeReply, type ChatMethod, type HostApi, type HostMethod, type HostState,
} from '../../common/bridge.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { checkArgs, requestSchema } from './schemas.js';

/** What a bridge session needs of the host: AppHost (main/host) is one. */
export interface BridgeHost extends HostApi {
  /** A fresh ChatApi session; throws ChatApiError('unavailable') before the app is in a group. */
  chatSession(): ChatApi;
  on(event: 'state', listener: (state: HostState) => void): unknown;
  off(event: 'state', listener: (state: HostState) => void): unknown;
  /** Where unexpected failures are logged, unless the session is given its own logger. */
  readonly log?: Logger;
}

export interface BridgeSession {
  /** Answers one request (anything: it is checked here). */
  handle(raw: unknown): Promise<BridgeReply>;
  /** Ends the subscriptions and stops pushing. */
  close(): void;
}

export interface BridgeSessionOptions {
  /** Default: the host's log. */
  readonly logger?: Logger;
}

const known = new Set<string>([...chatMethods, ...hostMethods, ...subscriptionMethods]);
const hostSet = new Set<string>(hostMethods);

/** The reply to a request whose id could not be read. */
export const unreadableRequestId = 0;

export function createBridgeSession(host: BridgeHost, push: (p: BridgePush) => void, options: BridgeSessionOptions = {}): BridgeSession {
  return new Session(host, push, options.logger ?? host.log ?? silentLogger);
}

class Session implements BridgeSession {
  private chat: ChatApi | null = null;
  private readonly subscriptions = new Map<number, Unsubscribe>();
  private nextSubscription = 1;
  private closed = false;

  constructor(private readonly host: BridgeHost, private readonly push: (p: BridgePush) => void, private readonly log: Logger) {
    host.on('state', this.onHostState);
  }

  async handle(raw: unknown): Promise<BridgeReply> {
    const request = requestSchema.safeParse(raw);
    const id = readId(raw);
    if (!request.success) return failure(id, 'invalid-argument', 'a bridge request is { id, method, args: [...] }');
    const { method, args } = request.data;
    if (!known.has(method)) return failure(id, 'invalid-argument', `unknown method: ${method.slice(0, 64)}`);
    const checked = checkArgs(method as BridgeMethod, args);
    if (!checked.ok) return failure(id, 'invalid-argument', checked.message);
    try {
      const result = await this.call(method as BridgeMethod, checked.args);
      return { type: 'reply', id, ok: true, result: result ?? null };
    } catch (err) {
      return this.failed(id, method, err);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.off('state', this.onHostState);
    for (const unsubscribe of this.subscriptions.values()) unsubscribe();
    this.subscriptions.clear();
  }

  private async call(method: BridgeMethod, args: unknown[]): Promise<unknown> {
    if (this.closed) throw new ChatApiError('unavailable', 'this connection is closed');
    if (hostSet.has(method)) return (this.host[method as HostMethod] as (...a: unknown[]) => Promise<unknown>).apply(this.host, args);
    if (method === 'subscribe') return this.subscribe(args[0] as Parameters<ChatApi['subscribe']>[1]);
    if (method === 'unsubscribe') return this.unsubscribe(args[0] as number);
    const chat = this.chatApi();
    return (chat[method as ChatMethod] as (...a: unknown[]) => unknown).apply(chat, args);
  }

  /** This connection's session, made on first use once the app is in a group. */
  private chatApi(): ChatApi {
    this.chat ??= this.host.chatSession();
    return this.chat;
  }

  private async subscribe(options: Parameters<ChatApi['subscribe']>[1]): Promise<number> {
    const subscription = this.nextSubscription++;
    const listener = (event: ChatEvent) => {
      if (!this.closed) this.push({ type: 'event', subscription, event });
      if (event.type === 'ended') this.subscriptions.delete(subscription);
    };
    const unsubscribe = await this.chatApi().subscribe(listener, options);
    if (this.closed) unsubscribe(); // the connection closed while subscribing
    else this.subscriptions.set(subscription, unsubscribe);
    return subscription;
  }

  /** Whether that subscription was still live. */
  private unsubscribe(subscription: number): boolean {
    const unsubscribe = this.subscriptions.get(subscription);
    if (unsubscribe === undefined) return false;
    this.subscriptions.delete(subscription);
    unsubscribe();
    return true;
  }

  private readonly onHostState = (state: HostState): void => {
    if (this.closed) return;
    try {
      this.push({ type: 'host', state });
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not push the host state');
    }
  };

  private failed(id: number, method: string, err: unknown): BridgeReply {
    if (err instanceof ChatApiError && err.code === 'internal') this.log.error({ err: err.message, method }, 'a bridge call failed');
    if (err instanceof ChatApiError) return failure(id, err.code, err.message);
    // Not ours to explain to the UI: the log has the details.
    this.log.error({ err, method }, 'a bridge call failed unexpectedly');
    return failure(id, 'internal', `internal error in ${method} (details in the app's log)`);
  }
}

function readId(raw: unknown): number {
  const id = typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : undefined;
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : unreadableRequestId;
}

function failure(id: number, code: ChatApiErrorCode, message: string): BridgeReply {
  return { type: 'reply', id, ok: false, error: { code, message } };
}
