// The chat layer's rows (ids) as the API shows them (names).
import type { Account, Conversation, Message, Page } from '../../common/chat-api.js';
import type { AccountView, ChatQueries, ConversationView, MessageView, Page as RowPage } from '../chat/queries.js';

export function accountOf(view: AccountView): Account {
  return { id: view.id, username: view.username, createdAt: view.createdAt };
}

/** Messages with names for ids, each account and channel looked up once. */
export function messagesOf(queries: ChatQueries, views: readonly MessageView[]): Message[] {
  const account = once((id: number) => queries.account(id)?.username ?? null);
  const channel = once((id: number) => queries.channel(id)?.name ?? null);
  return views.map((m) => ({
    id: m.id,
    from: m.senderName,
    to: m.recipientId === null ? null : account(m.recipientId),
    channel: m.channelId === null ? null : channel(m.channelId),
    text: m.text,
    sentAt: m.sentAt,
    unread: m.unread,
  }));
}

export function conversationsOf(queries: ChatQueries, views: readonly ConversationView[]): Conversation[] {
  const last = messagesOf(queries, views.map((c) => c.last));
  return views.map((c, i) => ({ with: c.peerName, lastMessage: last[i] as Message, unread: c.unread }));
}

export function pageOf<R, T>(rows: RowPage<R>, appliedIndex: number, map: (items: readonly R[]) => readonly T[]): Page<T> {
  return { appliedIndex, items: map(rows.items), next: rows.next };
}

function once<T>(fn: (id: number) => T): (id: number) => T {
  const cache = new Map<number, T>();
  return (id) => {
    if (!cache.has(id)) cache.set(id, fn(id));
    return cache.get(id) as T;
  };
}
