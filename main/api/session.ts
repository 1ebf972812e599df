// ChatApi for one client, over the peer it runs on. Each call: wait for the caller's barrier
// (minIndex, linearizable), authenticate, map names to ids, then read the local replica or
// prepare + propose a command and answer once it is applied here. Any failure leaves as a
// ChatApiError with a stable code.
import type {
  Account, AccountResult, Channel, ChannelResult, ChatApi, ChatEventListener, Conversation, CountResult, Credentials, LoginResult, Message,
  MessagesResult, Page, PageOptions, PeerStatus, ReadOptions, SendResult, SessionResult, Unsubscribe, UnreadResult,
  WriteOptions, WriteResult,
} from '../../common/chat-api.js';
import { newSessionToken } from '../chat/prepare.js';
import { maxDeleteBatch } from '../chat/rules.js';
import type { Caller, ChatBackend } from './backend.js';
import { invalid, toApiError } from './errors.js';
import { leaveGroup, peerStatus, removeMember, transferLeadership } from './status.js';
import { accountOf, conversationsOf, messagesOf, pageOf } from './views.js';

const transferTimeoutMs = 5_000;
const removeTimeoutMs = 5_000;
const defaultUnreadCount = 10;

export class ApiSession implements ChatApi {
  /** A password check (scrypt) is done once per session object, not once per call. */
  private passwordCaller: Promise<Caller> | null = null;

  constructor(private readonly backend: ChatBackend, private credentials: Credentials | null) {}

  useCredentials(credentials: Credentials | null): void {
    this.credentials = credentials;
    this.passwordCaller = null;
  }

  register(username: string, password: string, options: WriteOptions = {}): Promise<AccountResult> {
    return this.run(async () => {
      await this.backend.barrier(options);
      const w = await this.backend.write({ t: 'createAccount', username: text(username, 'username'), password: text(password, 'password') }, options);
      const account = this.backend.queries.account(w.value.accountId) ?? { id: w.value.accountId, username, createdAt: 0 };
      return { appliedIndex: w.index, duplicate: w.duplicate, account: accountOf(account) };
    });
  }

  login(username: string, password: string, options: WriteOptions = {}): Promise<LoginResult> {
    return this.run(async () => {
      await this.backend.barrier(options);
      const { account } = await this.backend.authenticate({ username: text(username, 'username'), password: text(password, 'password') });
      const token = newSessionToken();
      let w = await this.backend.write({ t: 'login', account: account.id, token }, options);
      // A retried request id answers with the first login's result, whose token is lost (only
      // its hash was kept): open a session for this new token instead, under the peer's own id.
      if (w.duplicate) w = await this.backend.write({ t: 'login', account: account.id, token });
      this.useCredentials({ token });
      return { appliedIndex: w.index, token, account: accountOf(account), unread: this.backend.queries.unread(account.id).total };
    });
  }

  whoami(options: ReadOptions = {}): Promise<SessionResult> {
    return this.read(options, ({ account }) => ({
      appliedIndex: this.appliedIndex, account: accountOf(account), unread: this.backend.queries.unread(account.id).total,
    }));
  }

  logout(options: WriteOptions = {}): Promise<CountResult> {
    return this.write(options, async ({ account, tokenHash }) => {
      if (tokenHash === null) throw invalid('logout ends a token session; this call was authenticated with a password');
      const w = await this.backend.write({ t: 'logout', actor: account.id, tokenHash }, options);
      this.useCredentials(null);
      return { appliedIndex: w.index, duplicate: w.duplicate, count: w.value.ended };
    });
  }

  deleteAccount(options: WriteOptions = {}): Promise<CountResult> {
    return this.write(options, async ({ account }) => {
      const w = await this.backend.write({ t: 'deleteAccount', actor: account.id, account: account.id }, options);
      this.useCredentials(null);
      return { appliedIndex: w.index, duplicate: w.duplicate, count: w.value.deletedMessages };
    });
  }

  listAccounts(pattern: string, options: PageOptions & ReadOptions = {}): Promise<Page<Account>> {
    return this.read(options, () => {
      const rows = this.backend.queries.listAccounts(text(pattern, 'pattern') || '*', page(options));
      return pageOf(rows, this.appliedIndex, (items) => items.map(accountOf));
    });
  }

  sendDirect(to: string, message: string, options: WriteOptions = {}): Promise<SendResult> {
    return this.write(options, async ({ account }) => {
      const recipient = await this.backend.account(text(to, 'recipient'));
      const w = await this.backend.write({ t: 'sendDirect', actor: account.id, to: recipient.id, text: text(message, 'message') }, options);
      return { appliedIndex: w.index, duplicate: w.duplicate, messageId: w.value.messageId };
    });
  }

  readUnread(count: number, from?: string, options: WriteOptions = {}): Promise<MessagesResult> {
    return this.write(options, async ({ account }) => {
      const peer = from === undefined || from === '' ? undefined : (await this.backend.account(from)).id;
      const next = this.backend.queries.nextUnread(account.id, count === 0 ? defaultUnreadCount : count, peer);
      const messages = messagesOf(this.backend.queries, next.messages);
      if (next.upTo === null) return { appliedIndex: this.appliedIndex, messages };
      // Ids only grow, so "unread and ≤ upTo" is exactly the messages just read.
      const w = await this.backend.write({ t: 'markRead', actor: account.id, peer, upTo: next.upTo }, options);
      return { appliedIndex: w.index, messages };
    });
  }

  history(withUser: string, options: PageOptions & ReadOptions = {}): Promise<Page<Message>> {
    return this.read(options, async ({ account }) => {
      const other = await this.backend.account(text(withUser, 'user'));
      const rows = this.backend.queries.conversation(account.id, other.id, page(options));
      return pageOf(rows, this.appliedIndex, (items) => messagesOf(this.backend.queries, items));
    });
  }

  unread(options: ReadOptions = {}): Promise<UnreadResult> {
    return this.read(options, ({ account }) => {
      const counts = this.backend.queries.unread(account.id);
      const conversations = counts.conversations.map((c) => ({ with: c.peerName, unread: c.unread }));
      return { appliedIndex: this.appliedIndex, total: counts.total, conversations };
    });
  }

  conversations(options: PageOptions & ReadOptions = {}): Promise<Page<Conversation>> {
    return this.read(options, ({ account }) => {
      const rows = this.backend.queries.conversations(account.id, page(options));
      return pageOf(rows, this.appliedIndex, (items) => conversationsOf(this.backend.queries, items));
    });
  }

  markRead(options: { readonly with?: string; readonly upTo?: number } & WriteOptions = {}): Promise<CountResult> {
    return this.write(options, async ({ account }) => {
      const peer = options.with === undefined || options.with === '' ? undefined : (await this.backend.account(options.with)).id;
      const upTo = options.upTo === undefined || options.upTo === 0 ? this.backend.queries.lastMessageId() : id(options.upTo, 'up_to');
      if (upTo === 0) return { appliedIndex: this.appliedIndex, duplicate: false, count: 0 };
      const w = await this.backend.write({ t: 'markRead', actor: account.id, peer, upTo }, options);
      return { appliedIndex: w.index, duplicate: w.duplicate, count: w.value.marked };
    });
  }

  deleteMessages(ids: readonly number[], options: WriteOptions = {}): Promise<CountResult> {
    return this.write(options, async ({ account }) => {
      const w = await this.backend.write({ t: 'deleteMessages', actor: account.id, ids: messageIds(ids) }, options);
      return { appliedIndex: w.index, duplicate: w.duplicate, count: w.value.deleted };
    });
  }

  channels(options: PageOptions & ReadOptions = {}): Promise<Page<Channel>> {
    return this.read(options, ({ account }) => {
      const joined = new Set(this.backend.queries.channelsOf(account.id).map((c) => c.id));
      const rows = this.backend.queries.channels(page(options));
      return pageOf(rows, this.appliedIndex, (items) => items.map((c) => ({ id: c.id, name: c.name, members: c.members, joined: joined.has(c.id) })));
    });
  }

  createChannel(name: string, options: WriteOptions = {}): Promise<ChannelResult> {
    return this.write(options, async ({ account }) => {
      const w = await this.backend.write({ t: 'createChannel', actor: account.id, name: text(name, 'channel name') }, options);
      return { appliedIndex: w.index, duplicate: w.duplicate, channelId: w.value.channelId };
    });
  }

  joinChannel(name: string, options: WriteOptions = {}): Promise<WriteResult> {
    return this.write(options, async ({ account }) => {
      const channel = await this.backend.channel(text(name, 'channel name'));
      const w = await this.backend.write({ t: 'joinChannel', actor: account.id, channel: channel.id }, options);
      return { appliedIndex: w.index, duplicate: w.duplicate };
    });
  }

  leaveChannel(name: string, options: WriteOptions = {}): Promise<WriteResult> {
    return this.write(options, async ({ account }) => {
      const channel = await this.backend.channel(text(name, 'channel name'));
      const w = await this.backend.write({ t: 'leaveChannel', actor: account.id, channel: channel.id }, options);
      return { appliedIndex: w.index, duplicate: w.duplicate };
    });
  }

  postChannel(name: string, message: string, options: WriteOptions = {}): Promise<SendResult> {
    return this.write(options, async ({ account }) => {
      const channel = await this.backend.channel(text(name, 'channel name'));
      const w = await this.backend.write({ t: 'postChannel', actor: account.id, channel: channel.id, text: text(message, 'message') }, options);
      return { appliedIndex: w.index, duplicate: w.duplicate, messageId: w.value.messageId };
    });
  }

  channelHistory(name: string, options: PageOptions & ReadOptions = {}): Promise<Page<Message>> {
    return this.read(options, async () => {
      const channel = await this.backend.channel(text(name, 'channel name'));
      const rows = this.backend.queries.channelHistory(channel.id, page(options));
      return pageOf(rows, this.appliedIndex, (items) => messagesOf(this.backend.queries, items));
    });
  }

  subscribe(listener: ChatEventListener, options: ReadOptions = {}): Promise<Unsubscribe> {
    return this.run(async () => {
      if (typeof listener !== 'function') throw invalid('subscribe needs a listener function');
      await this.backend.barrier(options);
      if (this.credentials === null) return this.backend.events.subscribe({ account: null, tokenHash: null }, listener);
      const { account, tokenHash } = await this.caller();
      return this.backend.events.subscribe({ account: account.id, tokenHash }, listener);
    });
  }

  status(): Promise<PeerStatus> {
    return this.run(async () => peerStatus(this.backend));
  }

  transferLeadership(to?: string): Promise<PeerStatus> {
    return this.run(() => transferLeadership(this.backend, to, transferTimeoutMs));
  }

  leaveGroup(): Promise<PeerStatus> {
    return this.run(() => leaveGroup(this.backend));
  }

  removeMember(id: string): Promise<PeerStatus> {
    return this.run(() => removeMember(this.backend, id, removeTimeoutMs));
  }

  // ---- the shape every call shares ------------------------------------------------------------

  private get appliedIndex(): number {
    return this.backend.peer.appliedIndex;
  }

  /** A read: barrier, then authenticate, then the local replica. */
  private read<T>(options: ReadOptions, body: (caller: Caller) => T | Promise<T>): Promise<T> {
    return this.run(async () => {
      await this.backend.barrier({ minIndex: options.minIndex, linearizable: options.linearizable });
      return body(await this.caller());
    });
  }

  /** A write: barrier (minIndex only: the write itself goes through the leader), then authenticate. */
  private write<T>(options: WriteOptions, body: (caller: Caller) => Promise<T>): Promise<T> {
    return this.run(async () => {
      await this.backend.barrier({ minIndex: options.minIndex });
      return body(await this.caller());
    });
  }

  private async run<T>(body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (err) {
      throw toApiError(err);
    }
  }

  private caller(): Promise<Caller> {
    const c = this.credentials;
    if (c === null || 'token' in c) return this.backend.authenticate(c);
    this.passwordCaller ??= this.backend.authenticate(c).catch((err: unknown) => {
      this.passwordCaller = null;
      throw err;
    });
    return this.passwordCaller;
  }
}

// ---- input checks for callers the type checker cannot vouch for (bridges, the wire) ---------

function text(value: unknown, what: string): string {
  if (typeof value !== 'string') throw invalid(`the ${what} must be text`);
  return value;
}

function id(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw invalid(`${what} must be a message id (a whole number ≥ 1)`);
  return value;
}

function messageIds(ids: unknown): number[] {
  if (!Array.isArray(ids) || ids.length === 0) throw invalid('name at least one message id to delete');
  if (ids.length > maxDeleteBatch) throw invalid(`at most ${maxDeleteBatch} messages can be deleted at once`);
  return ids.map((v) => id(v, 'each id'));
}

function page(options: PageOptions): { limit?: number; cursor?: string } {
  const { limit, cursor } = options;
  if (limit !== undefined && typeof limit !== 'number') throw invalid('a page limit is a number');
  // Cursors are names (≤ 32 characters) or message ids: anything longer was not one of ours.
  if (cursor !== undefined && (typeof cursor !== 'string' || cursor.length > 64)) throw invalid('that is not a page cursor from this API');
  return { limit: limit === 0 ? undefined : limit, cursor: cursor === '' ? undefined : cursor };
}
