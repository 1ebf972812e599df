// ChatApi and HostApi over a BridgeLink (the Electron preload or the WebSocket bridge): every
// method is one link.call; subscriptions are numbered by the main side and their events routed
// by number; errors come back as ChatApiError. When the link reconnects (the peer restarted),
// the bound credentials are sent again and every subscription is made again.
import type {
  AccountResult, ChannelResult, ChatApi, ChatEvent, ChatEventListener, CountResult, Credentials,
  LoginResult, MessagesResult, Page, PageOptions, PeerStatus, ReadOptions, SendResult, SessionResult,
  Unsubscribe, UnreadResult, WriteOptions, WriteResult, Account, Message, Conversation, Channel,
} from '../../../common/chat-api.js';
import { ChatApiError, isChatApiError } from '../../../common/chat-api.js';
import type { BridgeLink, BridgeMethod, BridgePush, DiscoveredGroup, HostApi, HostState } from '../../../common/bridge.js';

/** A link that can drop and come back (the WebSocket one); the preload link never drops. */
export interface ReconnectingLink extends BridgeLink {
  readonly connected: boolean;
  /** Called with true when (re)connected, false when the link dropped. */
  onConnection(listener: (connected: boolean) => void): () => void;
}

export function isReconnecting(link: BridgeLink): link is ReconnectingLink {
  return typeof (link as Partial<ReconnectingLink>).onConnection === 'function';
}

interface LocalSubscription {
  readonly listener: ChatEventListener;
  readonly options: ReadOptions | undefined;
  /** The main side's number for it on the current connection (null while subscribing). */
  remote: number | null;
  closed: boolean;
}

/** Makes the calls of a ChatApi and a HostApi over one link. */
export class BridgeClient {
  private nextId = 1;
  private readonly subscriptions = new Set<LocalSubscription>();
  private readonly byRemote = new Map<number, LocalSubscription>();
  /** Events that arrived before their subscribe reply, by subscription number. */
  private readonly early = new Map<number, ChatEvent[]>();
  private readonly hostListeners = new Set<(state: HostState) => void>();
  credentials: Credentials | null = null;

  constructor(readonly link: BridgeLink) {
    link.onPush((push) => this.onPush(push));
    if (isReconnecting(link)) {
      let wasUp = link.connected;
      link.onConnection((up) => {
        if (up && !wasUp) this.rebind();
        if (!up) {
          // The main side forgot this connection's subscriptions.
          for (const s of this.subscriptions) s.remote = null;
          this.byRemote.clear();
          this.early.clear();
        }
        wasUp = up;
      });
    }
  }

  async call<T>(method: BridgeMethod, args: readonly unknown[]): Promise<T> {
    const id = this.nextId++;
    let reply;
    try {
      reply = await this.link.call({ id, method, args: [...args] });
    } catch (err) {
      if (isChatApiError(err)) throw new ChatApiError(err.code, err.message);
      throw new ChatApiError('unavailable', `Your peer is not reachable (${err instanceof Error ? err.message : String(err)})`);
    }
    if (reply.ok) return reply.result as T;
    throw new ChatApiError(reply.error.code, reply.error.message);
  }

  onHost(listener: (state: HostState) => void): () => void {
    this.hostListeners.add(listener);
    return () => this.hostListeners.delete(listener);
  }

  async subscribe(listener: ChatEventListener, options?: ReadOptions): Promise<Unsubscribe> {
    const sub: LocalSubscription = { listener, options, remote: null, closed: false };
    this.subscriptions.add(sub);
    try {
      await this.open(sub);
    } catch (err) {
      this.subscriptions.delete(sub);
      throw err;
    }
    return () => {
      if (sub.closed) return;
      sub.closed = true;
      this.subscriptions.delete(sub);
      if (sub.remote !== null) {
        this.byRemote.delete(sub.remote);
        void this.call('unsubscribe', [sub.remote]).catch(() => undefined);
      }
    };
  }

  private async open(sub: LocalSubscription): Promise<void> {
    const number = await this.call<number>('subscribe', sub.options ? [sub.options] : []);
    if (sub.closed) {
      void this.call('unsubscribe', [number]).catch(() => undefined);
      return;
    }
    sub.remote = number;
    this.byRemote.set(number, sub);
    const early = this.early.get(number);
    this.early.delete(number);
    for (const event of early ?? []) this.deliver(sub, event);
  }

  private rebind(): void {
    if (this.credentials) void this.call('useCredentials', [this.credentials]).catch(() => undefined);
    for (const sub of this.subscriptions) {
      sub.remote = null;
      void this.open(sub).catch(() => undefined);
    }
  }

  private onPush(push: BridgePush): void {
    if (push.type === 'host') {
      for (const l of [...this.hostListeners]) l(push.state);
      return;
    }
    const sub = this.byRemote.get(push.subscription);
    if (sub) {
      this.deliver(sub, push.event);
      return;
    }
    const list = this.early.get(push.subscription) ?? [];
    list.push(push.event);
    this.early.set(push.subscription, list.slice(-200));
  }

  private deliver(sub: LocalSubscription, event: ChatEvent): void {
    if (sub.closed) return;
    try {
      sub.listener(event);
    } catch (err) {
      console.error('chat event listener failed', err);
    }
  }
}

export class RemoteChatApi implements ChatApi {
  constructor(private readonly client: BridgeClient) {}

  private c<T>(method: BridgeMethod, ...args: unknown[]): Promise<T> {
    // Trailing undefined arguments are dropped so that JSON carries no nulls for them.
    while (args.length > 0 && args[args.length - 1] === undefined) args.pop();
    return this.client.call<T>(method, args);
  }

  register(username: string, password: string, options?: WriteOptions): Promise<AccountResult> {
    return this.c('register', username, password, options);
  }
  async login(username: string, password: string, options?: WriteOptions): Promise<LoginResult> {
    const result = await this.c<LoginResult>('login', username, password, options);
    this.client.credentials = { token: result.token };
    return result;
  }
  useCredentials(credentials: Credentials | null): void {
    this.client.credentials = credentials;
    void this.c('useCredentials', credentials).catch(() => undefined);
  }
  whoami(options?: ReadOptions): Promise<SessionResult> { return this.c('whoami', options); }
  async logout(options?: WriteOptions): Promise<CountResult> {
    const result = await this.c<CountResult>('logout', options);
    this.client.credentials = null;
    return result;
  }
  async deleteAccount(options?: WriteOptions): Promise<CountResult> {
    const result = await this.c<CountResult>('deleteAccount', options);
    this.client.credentials = null;
    return result;
  }
  listAccounts(pattern: string, options?: PageOptions & ReadOptions): Promise<Page<Account>> {
    return this.c('listAccounts', pattern, options);
  }
  sendDirect(to: string, text: string, options?: WriteOptions): Promise<SendResult> { return this.c('sendDirect', to, text, options); }
  readUnread(count: number, from?: string, options?: WriteOptions): Promise<MessagesResult> {
    return this.c('readUnread', count, from, options);
  }
  history(withUser: string, options?: PageOptions & ReadOptions): Promise<Page<Message>> { return this.c('history', withUser, options); }
  unread(options?: ReadOptions): Promise<UnreadResult> { return this.c('unread', options); }
  conversations(options?: PageOptions & ReadOptions): Promise<Page<Conversation>> { return this.c('conversations', options); }
  markRead(options?: { readonly with?: string; readonly upTo?: number } & WriteOptions): Promise<CountResult> {
    return this.c('markRead', options);
  }
  deleteMessages(ids: readonly number[], options?: WriteOptions): Promise<CountResult> { return this.c('deleteMessages', ids, options); }
  channels(options?: PageOptions & ReadOptions): Promise<Page<Channel>> { return this.c('channels', options); }
  createChannel(name: string, options?: WriteOptions): Promise<ChannelResult> { return this.c('createChannel', name, options); }
  joinChannel(name: string, options?: WriteOptions): Promise<WriteResult> { return this.c('joinChannel', name, options); }
  leaveChannel(name: string, options?: WriteOptions): Promise<WriteResult> { return this.c('leaveChannel', name, options); }
  postChannel(name: string, text: string, options?: WriteOptions): Promise<SendResult> { return this.c('postChannel', name, text, options); }
  channelHistory(name: string, options?: PageOptions & ReadOptions): Promise<Page<Message>> { return this.c('channelHistory', name, options); }
  subscribe(listener: ChatEventListener, options?: ReadOptions): Promise<Unsubscribe> { return this.client.subscribe(listener, options); }
  status(): Promise<PeerStatus> { return this.c('status'); }
  transferLeadership(to?: string): Promise<PeerStatus> { return this.c('transferLeadership', to); }
  leaveGroup(): Promise<PeerStatus> { return this.c('leaveGroup'); }
  removeMember(id: string): Promise<PeerStatus> { return this.c('removeMember', id); }
}

export class RemoteHostApi implements HostApi {
  constructor(private readonly client: BridgeClient) {}
  hostState(): Promise<HostState> { return this.client.call('hostState', []); }
  discoverGroups(): Promise<readonly DiscoveredGroup[]> { return this.client.call('discoverGroups', []); }
  createGroup(name: string): Promise<HostState> { return this.client.call('createGroup', [name]); }
  joinGroup(inviteCode: string, address?: string): Promise<HostState> {
    return this.client.call('joinGroup', address ? [inviteCode, address] : [inviteCode]);
  }
  inviteCode(): Promise<string | null> { return this.client.call('inviteCode', []); }
  /** Pushed changes of the host's state. */
  onHostState(listener: (state: HostState) => void): () => void { return this.client.onHost(listener); }
}
