// Reads of the local replica: logins, account search, conversations, unread counts, channels.
// Nothing here changes replicated state (marking messages read is the markRead command).
import type { Db } from '../storage/sqlite.js';
import { ChatError } from './errors.js';
import { verifyPassword } from './password.js';
import { checkPageSize, defaultPageSize, maxPasswordLength, nameKey } from './rules.js';
import { wildcardToGlob } from './wildcard.js';

export interface AccountView {
  readonly id: number;
  readonly username: string;
  readonly createdAt: number;
}

export interface MessageView {
  readonly id: number;
  readonly senderId: number;
  /** Null once the sender's account is deleted. */
  readonly senderName: string | null;
  readonly recipientId: number | null;
  readonly channelId: number | null;
  readonly text: string;
  readonly sentAt: number;
  readonly unread: boolean;
}

export interface ChannelView {
  readonly id: number;
  readonly name: string;
  readonly createdBy: number | null;
  readonly createdAt: number;
  readonly members: number;
}

/** One direct conversation of an account: the other side, its newest message, unread count. */
export interface ConversationView {
  readonly peerId: number;
  /** Null once that account is deleted. */
  readonly peerName: string | null;
  readonly last: MessageView;
  /** Messages from the other side to the account not yet read. */
  readonly unread: number;
}

export interface UnreadCounts {
  readonly total: number;
  readonly conversations: readonly { readonly peerId: number; readonly peerName: string | null; readonly unread: number }[];
}

/** A page of results and the cursor for the next page (null at the end). */
export interface Page<T> {
  readonly items: readonly T[];
  readonly next: string | null;
}

export interface PageRequest {
  readonly limit?: number;
  /** The `next` of the previous page. */
  readonly cursor?: string | null;
}

const messageColumns = `m.id, m.sender_id AS senderId, a.username AS senderName, m.recipient_id AS recipientId,
  m.channel_id AS channelId, m.body AS text, m.sent_at AS sentAt, m.unread`;
const messageFrom = 'messages m LEFT JOIN accounts a ON a.id = m.sender_id';

type MessageRow = Omit<MessageView, 'unread'> & { unread: number };

export class ChatQueries {
  private readonly s;

  constructor(db: Db) {
    this.s = prepareQueries(db);
  }

  account(id: number): AccountView | null {
    return this.s.accountById.get(id) ?? null;
  }

  accountByName(username: string): AccountView | null {
    return this.s.accountByKey.get(nameKey(username)) ?? null;
  }

  /**
   * Checks a username and password against this replica (scrypt, off the main thread). An
   * unknown name and a wrong password are told apart: account names are listable anyway.
   */
  async verifyLogin(username: string, password: string): Promise<AccountView> {
    const row = this.s.credentials.get(nameKey(username));
    if (row === undefined) throw new ChatError('unknown-account', `no such user: ${username}`);
    // Bounds the scrypt work one attempt can cause (no stored password is longer: a code point
    // is at most two UTF-16 units).
    if (password.length > 2 * maxPasswordLength) throw new ChatError('bad-login', 'wrong password');
    const ok = await verifyPassword(password, row.hash);
    // The account may have been deleted while scrypt ran: look it up again.
    const account = this.account(row.id);
    if (account === null) throw new ChatError('unknown-account', `no such user: ${username}`);
    if (!ok) throw new ChatError('bad-login', 'wrong password');
    return account;
  }

  /** The account a session belongs to (by the token's hash, see tokens.ts), or null. */
  sessionAccount(tokenHash: string): AccountView | null {
    return this.s.sessionAccount.get(tokenHash) ?? null;
  }

  /** The newest message id ever assigned (0 before the first message). */
  lastMessageId(): number {
    return this.s.lastMessageId.get() ?? 0;
  }

  /** Accounts whose name matches a wildcard pattern (case-insensitive), in name order. */
  listAccounts(pattern: string, page: PageRequest = {}): Page<AccountView> {
    const limit = pageSize(page);
    const rows = this.s.accountsMatching.all(wildcardToGlob(pattern), page.cursor ?? '', limit + 1);
    return paged(rows, limit, (a) => nameKey(a.username));
  }

  /** A direct conversation, newest page first; each page in chronological order. */
  conversation(actor: number, peer: number, page: PageRequest = {}): Page<MessageView> {
    const [lo, hi] = actor < peer ? [actor, peer] : [peer, actor];
    return this.messagesBefore(page, (before, limit) => this.s.conversation.all(lo, hi, before, limit));
  }

  /**
   * The direct conversations of `actor`, the most recent first. The cursor is the newest message
   * id of the last conversation on the previous page (ids are unique, so no two conversations
   * share one). Two index range scans (one per side of conv_lo/conv_hi), then one look-up each.
   */
  conversations(actor: number, page: PageRequest = {}): Page<ConversationView> {
    const limit = pageSize(page);
    const heads = this.s.conversationHeads.all({ actor, before: messageCursor(page.cursor), limit: limit + 1 });
    const { items, next } = paged(heads, limit, (id) => String(id));
    return { items: items.map((id) => this.conversationOf(actor, id)), next };
  }

  private conversationOf(actor: number, lastId: number): ConversationView {
    const last = toMessage(this.s.messageById.get(lastId) as MessageRow);
    const peerId = last.senderId === actor ? last.recipientId as number : last.senderId;
    const peerName = this.account(peerId)?.username ?? null;
    return { peerId, peerName, last, unread: this.s.unreadFromPeer.get(actor, peerId) ?? 0 };
  }

  channelHistory(channel: number, page: PageRequest = {}): Page<MessageView> {
    this.requireChannel(channel);
    return this.messagesBefore(page, (before, limit) => this.s.channelHistory.all(channel, before, limit));
  }

  unread(actor: number): UnreadCounts {
    const conversations = this.s.unreadByPeer.all(actor);
    return { total: conversations.reduce((sum, c) => sum + c.unread, 0), conversations };
  }

  /**
   * The oldest `limit` unread messages to `actor` (from `peer` only, if given). To mark exactly
   * these read, propose markRead { peer, upTo }: ids only grow, so they are all unread ≤ upTo.
   */
  nextUnread(actor: number, limit: number, peer?: number): { messages: MessageView[]; upTo: number | null } {
    checkPageSize(limit);
    const rows = peer === undefined ? this.s.unreadAll.all(actor, limit) : this.s.unreadFrom.all(actor, peer, limit);
    const messages = rows.map(toMessage);
    return { messages, upTo: messages[messages.length - 1]?.id ?? null };
  }

  channels(page: PageRequest = {}): Page<ChannelView> {
    const limit = pageSize(page);
    const rows = this.s.channels.all(page.cursor ?? '', limit + 1);
    return paged(rows, limit, (c) => nameKey(c.name));
  }

  channel(id: number): ChannelView | null {
    return this.s.channelById.get(id) ?? null;
  }

  isMember(channel: number, account: number): boolean {
    return this.s.isMember.get(channel, account) !== undefined;
  }

  channelByName(name: string): ChannelView | null {
    return this.s.channelByKey.get(nameKey(name.replace(/^#/, ''))) ?? null;
  }

  channelsOf(actor: number): ChannelView[] {
    return this.s.channelsOf.all(actor);
  }

  private messagesBefore(page: PageRequest, fetch: (before: number, limit: number) => MessageRow[]): Page<MessageView> {
    const limit = pageSize(page);
    const rows = fetch(messageCursor(page.cursor), limit + 1);
    const newestFirst = paged(rows, limit, (m) => String(m.id));
    return { items: newestFirst.items.map(toMessage).reverse(), next: newestFirst.next };
  }

  private requireChannel(channel: number): void {
    if (this.s.channelById.get(channel) === undefined) throw new ChatError('unknown-channel', `channel ${channel} does not exist`);
  }
}

function prepareQueries(db: Db) {
  const channelColumns = `c.id, c.name, c.created_by AS createdBy, c.created_at AS createdAt,
    (SELECT count(*) FROM channel_members cm WHERE cm.channel_id = c.id) AS members`;
  return {
    accountById: db.prepare<[number], AccountView>('SELECT id, username, created_at AS createdAt FROM accounts WHERE id = ?'),
    accountByKey: db.prepare<[string], AccountView>('SELECT id, username, created_at AS createdAt FROM accounts WHERE username_key = ?'),
    credentials: db.prepare<[string], { id: number; hash: string }>('SELECT id, password_hash AS hash FROM accounts WHERE username_key = ?'),
    sessionAccount: db.prepare<[string], AccountView>(
      'SELECT a.id, a.username, a.created_at AS createdAt FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.token_hash = ?'),
    lastMessageId: db.prepare<[], number>("SELECT seq FROM sqlite_sequence WHERE name = 'messages'").pluck(),
    isMember: db.prepare<[number, number], number>('SELECT 1 FROM channel_members WHERE channel_id = ? AND account_id = ?').pluck(),
    accountsMatching: db.prepare<[string, string, number], AccountView>(
      `SELECT id, username, created_at AS createdAt FROM accounts
       WHERE username_key GLOB ? AND username_key > ? ORDER BY username_key LIMIT ?`),
    conversation: db.prepare<[number, number, number, number], MessageRow>(
      `SELECT ${messageColumns} FROM ${messageFrom}
       WHERE m.conv_lo = ? AND m.conv_hi = ? AND m.recipient_id IS NOT NULL AND m.id < ? ORDER BY m.id DESC LIMIT ?`),
    conversationHeads: db.prepare<[{ actor: number; before: number; limit: number }], number>(
      `SELECT last FROM (
         SELECT max(id) AS last FROM messages WHERE conv_lo = @actor AND recipient_id IS NOT NULL GROUP BY conv_hi
         UNION ALL
         SELECT max(id) AS last FROM messages WHERE conv_hi = @actor AND recipient_id IS NOT NULL GROUP BY conv_lo
       ) WHERE last < @before ORDER BY last DESC LIMIT @limit`).pluck(),
    messageById: db.prepare<[number], MessageRow>(`SELECT ${messageColumns} FROM ${messageFrom} WHERE m.id = ?`),
    unreadFromPeer: db.prepare<[number, number], number>(
      'SELECT count(*) FROM messages WHERE recipient_id = ? AND sender_id = ? AND unread = 1').pluck(),
    channelHistory: db.prepare<[number, number, number], MessageRow>(
      `SELECT ${messageColumns} FROM ${messageFrom}
       WHERE m.channel_id = ? AND m.id < ? ORDER BY m.id DESC LIMIT ?`),
    unreadByPeer: db.prepare<[number], UnreadCounts['conversations'][number]>(
      `SELECT m.sender_id AS peerId, a.username AS peerName, count(*) AS unread FROM ${messageFrom}
       WHERE m.recipient_id = ? AND m.unread = 1 GROUP BY m.sender_id ORDER BY m.sender_id`),
    unreadAll: db.prepare<[number, number], MessageRow>(
      `SELECT ${messageColumns} FROM ${messageFrom} WHERE m.recipient_id = ? AND m.unread = 1 ORDER BY m.id LIMIT ?`),
    unreadFrom: db.prepare<[number, number, number], MessageRow>(
      `SELECT ${messageColumns} FROM ${messageFrom}
       WHERE m.recipient_id = ? AND m.sender_id = ? AND m.unread = 1 ORDER BY m.id LIMIT ?`),
    channels: db.prepare<[string, number], ChannelView>(
      `SELECT ${channelColumns} FROM channels c WHERE c.name_key > ? ORDER BY c.name_key LIMIT ?`),
    channelById: db.prepare<[number], ChannelView>(`SELECT ${channelColumns} FROM channels c WHERE c.id = ?`),
    channelByKey: db.prepare<[string], ChannelView>(`SELECT ${channelColumns} FROM channels c WHERE c.name_key = ?`),
    channelsOf: db.prepare<[number], ChannelView>(
      `SELECT ${channelColumns} FROM channels c JOIN channel_members me ON me.channel_id = c.id
       WHERE me.account_id = ? ORDER BY c.name_key`),
  };
}

function pageSize(page: PageRequest): number {
  const limit = page.limit ?? defaultPageSize;
  checkPageSize(limit);
  return limit;
}

/** Rows fetched with limit + 1: the extra row only tells that there is a next page. */
function paged<T>(rows: T[], limit: number, cursorOf: (last: T) => string): Page<T> {
  if (rows.length <= limit) return { items: rows, next: null };
  const items = rows.slice(0, limit);
  return { items, next: cursorOf(items[limit - 1] as T) };
}

function messageCursor(cursor: string | null | undefined): number {
  if (cursor === undefined || cursor === null) return Number.MAX_SAFE_INTEGER;
  const id = Number(cursor);
  if (!/^[1-9]\d*$/.test(cursor) || !Number.isSafeInteger(id)) throw new ChatError('invalid-argument', `"${cursor}" is not a message cursor`);
  return id;
}

function toMessage(row: MessageRow): MessageView {
  return { ...row, unread: row.unread === 1 };
}
