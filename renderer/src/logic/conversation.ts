// One conversation's messages as the UI shows them: a reducer over history pages and live
// events, and the merge with the outbox's items (pending → sent → read).
import type { Message, Page } from '../../../common/chat-api.js';
import type { OutboxItem, OutboxTarget } from './outbox.js';

/** `@name` for a direct conversation, `#name` for a channel. */
export type ConversationKey = string;

export function directKey(name: string): ConversationKey { return `@${name}`; }
export function channelKey(name: string): ConversationKey { return `#${name}`; }

export function parseKey(key: ConversationKey): OutboxTarget {
  return key.startsWith('#') ? { kind: 'channel', channel: key.slice(1) } : { kind: 'direct', to: key.slice(1) };
}

/** Whether `message` belongs to the conversation `key` of user `me`. */
export function belongsTo(message: Message, key: ConversationKey, me: string): boolean {
  const target = parseKey(key);
  if (target.kind === 'channel') return message.channel === target.channel;
  if (message.channel !== null) return false;
  return (message.from === me && message.to === target.to) || (message.from === target.to && message.to === me);
}

/** The conversation a message belongs to, for user `me`. */
export function keyOf(message: Message, me: string): ConversationKey | null {
  if (message.channel !== null) return channelKey(message.channel);
  const other = message.from === me ? message.to : message.from;
  return other === null ? null : directKey(other);
}

export interface ConversationState {
  /** Ascending by id, unique. */
  readonly messages: readonly Message[];
  /** Cursor of the next older page; null when there is none. */
  readonly older: string | null;
  readonly loaded: boolean;
  /** The other side read our messages up to this id (read events). */
  readonly readUpTo: number;
}

export const emptyConversation: ConversationState = { messages: [], older: null, loaded: false, readUpTo: 0 };

export type ConversationAction =
  | { readonly type: 'reset' }
  /** The newest page (first load) or an older page (older: true). */
  | { readonly type: 'page'; readonly page: Page<Message>; readonly older: boolean }
  | { readonly type: 'message'; readonly message: Message }
  | { readonly type: 'read'; readonly upTo: number }
  | { readonly type: 'deleted'; readonly ids: readonly number[] };

function merge(a: readonly Message[], b: readonly Message[]): Message[] {
  const byId = new Map<number, Message>();
  for (const m of a) byId.set(m.id, m);
  for (const m of b) byId.set(m.id, m);
  return [...byId.values()].sort((x, y) => x.id - y.id);
}

export function conversationReducer(state: ConversationState, action: ConversationAction): ConversationState {
  switch (action.type) {
    case 'reset':
      return emptyConversation;
    case 'page':
      return {
        ...state,
        messages: merge(state.messages, action.page.items),
        older: action.older || !state.loaded ? action.page.next : state.older,
        loaded: true,
      };
    case 'message':
      return { ...state, messages: merge(state.messages, [action.message]) };
    case 'read':
      return action.upTo > state.readUpTo ? { ...state, readUpTo: action.upTo } : state;
    case 'deleted': {
      const gone = new Set(action.ids);
      const messages = state.messages.filter((m) => !gone.has(m.id));
      return messages.length === state.messages.length ? state : { ...state, messages };
    }
  }
}

export type MessageState = 'pending' | 'sent' | 'read' | 'failed' | 'received';

/** sent (committed) or read, for a message the peer has; received for others' messages. */
export function messageState(message: Message, me: string, readUpTo: number): MessageState {
  if (message.from !== me) return 'received';
  if (message.channel !== null) return 'sent';
  return !message.unread || message.id <= readUpTo ? 'read' : 'sent';
}

export interface ViewMessage {
  /** React key: `m<id>` or the outbox key. */
  readonly key: string;
  readonly id: number | null;
  readonly from: string | null;
  readonly text: string;
  readonly sentAt: number;
  readonly own: boolean;
  readonly state: MessageState;
  /** For outbox items (pending or failed). */
  readonly item?: OutboxItem;
}

/** How far back (ms) a peer's timestamp may lag the outbox's for a match (clock skew). */
const matchSkewMs = 5000;

/**
 * The conversation's messages followed by its outbox items still pending or failed. A pending
 * item whose message already arrived as an event (the send reply is on its way) is hidden.
 */
export function viewMessages(state: ConversationState, outbox: readonly OutboxItem[], key: ConversationKey, me: string): ViewMessage[] {
  const view: ViewMessage[] = state.messages.map((m) => ({
    key: `m${m.id}`, id: m.id, from: m.from, text: m.text, sentAt: m.sentAt,
    own: m.from === me, state: messageState(m, me, state.readUpTo),
  }));
  const claimed = new Set<number>();
  for (const item of outbox) {
    if (targetKeyOf(item.target) !== key) continue;
    if (item.state === 'pending') {
      const match = state.messages.find((m) => m.from === me && m.text === item.text && !claimed.has(m.id)
        && m.sentAt >= item.createdAt - matchSkewMs);
      if (match) {
        claimed.add(match.id);
        continue;
      }
    }
    view.push({
      key: item.key, id: null, from: me, text: item.text, sentAt: item.createdAt, own: true,
      state: item.state === 'failed' ? 'failed' : 'pending', item,
    });
  }
  return view;
}

function targetKeyOf(target: OutboxTarget): ConversationKey {
  return target.kind === 'direct' ? directKey(target.to) : channelKey(target.channel);
}

/** Channel unread counts kept locally: the highest post id seen while viewing each channel. */
export function channelUnread(posts: readonly Message[], lastViewedId: number, me: string): number {
  return posts.filter((m) => m.id > lastViewedId && m.from !== me).length;
}
