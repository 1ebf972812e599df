// ChatApi: the one seam between the chat's users (React UI through the Electron preload or the
// WebSocket bridge, the gRPC ChatService for the CLI and tools) and a peer. It imports nothing,
// so that the renderer can use it without touching Node or main/.
//
// One ChatApi object is one client's session: login() (or useCredentials()) binds it to a user,
// and later calls act as that user. Every peer serves every call: writes are forwarded to the
// leader, reads come from the peer's own replica.
//
// Consistency: every result carries `appliedIndex`, the replica's position when it answered
// (for a write: the index at which the write was applied). Pass the highest one seen as
// `minIndex` on later calls, to any peer, to read your own writes. `linearizable` asks the
// leader to confirm first (a round trip), so that the read reflects every commit so far.
//
// Exactly-once: a write may carry a RequestId. Sent again with the same id (after a timeout,
// a lost reply, a leader change, to another peer), it is applied once, and the reply is the
// first result with `duplicate: true`. (A retry that reaches a peer before that peer has
// applied the original is answered when the original is applied there: the same first result,
// with `duplicate: false`.) Sequence numbers go 1, 2, 3... per client id; a client may have up
// to 128 writes in flight.

// ---- requests -----------------------------------------------------------------------------

export interface RequestId {
  /** 1–64 characters, random per client (device, CLI invocation, tab). */
  readonly clientId: string;
  /** 1, 2, 3, ... per client id. */
  readonly seq: number;
}

export interface ReadOptions {
  /** Wait until the answering peer has applied at least this index (read-your-writes). */
  readonly minIndex?: number;
  /** Confirm with the leader first (ReadIndex). */
  readonly linearizable?: boolean;
}

export interface WriteOptions {
  /** Makes the write exactly-once; without one, the peer assigns its own. */
  readonly request?: RequestId;
  /** Wait until the peer has applied this index before checking the session and the names. */
  readonly minIndex?: number;
}

export interface PageOptions {
  /** 1–500, default 50. */
  readonly limit?: number;
  /** The `next` of the previous page. */
  readonly cursor?: string;
}

/** Who the caller is: a session token (from login), or a name and password checked per call. */
export type Credentials =
  | { readonly token: string }
  | { readonly username: string; readonly password: string };

// ---- results ------------------------------------------------------------------------------

export interface Account {
  readonly id: number;
  readonly username: string;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
}

export interface Message {
  readonly id: number;
  /** Null once the sender's account is deleted. */
  readonly from: string | null;
  /** The recipient of a direct message (null for channel posts or a deleted recipient). */
  readonly to: string | null;
  /** The channel of a post, without "#" (null for direct messages). */
  readonly channel: string | null;
  readonly text: string;
  readonly sentAt: number;
  readonly unread: boolean;
}

export interface Channel {
  readonly id: number;
  readonly name: string;
  readonly members: number;
  /** Whether the caller is a member. */
  readonly joined: boolean;
}

export interface Applied {
  readonly appliedIndex: number;
}

export interface WriteResult extends Applied {
  /**
   * This request id had been applied on the answering peer before this call: this is its first
   * result. False for the first application, also when a retry overtook it (see above).
   */
  readonly duplicate: boolean;
}

export interface CountResult extends WriteResult {
  /** How many messages or sessions the write affected. */
  readonly count: number;
}

export interface SendResult extends WriteResult {
  readonly messageId: number;
}

export interface ChannelResult extends WriteResult {
  readonly channelId: number;
}

export interface AccountResult extends WriteResult {
  readonly account: Account;
}

export interface SessionResult extends Applied {
  readonly account: Account;
  /** Unread direct messages in total. */
  readonly unread: number;
}

export interface LoginResult extends SessionResult {
  /** Send it as the `qc-token` of later calls, to any peer; it lasts until logout. */
  readonly token: string;
}

export interface Page<T> extends Applied {
  readonly items: readonly T[];
  /** Cursor of the next page; null at the end. */
  readonly next: string | null;
}

export interface MessagesResult extends Applied {
  readonly messages: readonly Message[];
}

export interface Conversation {
  /** The other account; null once it is deleted. */
  readonly with: string | null;
  readonly lastMessage: Message;
  /** Messages to the caller from `with` not yet read. */
  readonly unread: number;
}

export interface UnreadResult extends Applied {
  readonly total: number;
  /** Per conversation; `with` is null for a deleted account. */
  readonly conversations: readonly { readonly with: string | null; readonly unread: number }[];
}

export type PeerRole = 'leader' | 'follower' | 'candidate' | 'pre-candidate';

export interface MemberStatus {
  readonly id: string;
  readonly address: string | null;
  readonly role: 'voter' | 'learner';
  /** Known on the leader only (0 elsewhere). */
  readonly matchIndex: number;
  readonly reachable: boolean;
  /** ms since the epoch when the answering peer last heard from it (itself: now; never: null). */
  readonly lastContact: number | null;
}

export interface PeerStatus {
  readonly id: string;
  readonly pid: number;
  readonly role: PeerRole;
  readonly term: number;
  readonly leader: string | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly members: readonly MemberStatus[];
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  /** Autopilot's last membership decisions (on the leader of a group; empty elsewhere). */
  readonly autopilot: readonly AutopilotDecisionView[];
  /** Elections and leader changes this peer saw since it started, oldest first (the last 100). */
  readonly timeline: readonly TimelineEntry[];
  /** Whether members can be added and removed (LAN groups) or are fixed (static `--peers` groups). */
  readonly dynamicMembership: boolean;
}

export interface TimelineEntry {
  /** ms since the epoch. */
  readonly at: number;
  readonly term: number;
  /** `election`: this peer started one (pre-vote or vote); `leader`: `node` leads; `no-leader`: the leader was lost. */
  readonly kind: 'election' | 'leader' | 'no-leader';
  readonly node: string | null;
}

export interface AutopilotDecisionView {
  /** ms since the epoch. */
  readonly at: number;
  readonly action: 'promote' | 'remove';
  readonly node: string;
  readonly reason: string;
  readonly outcome: string;
}

// ---- live events ----------------------------------------------------------------------------

/** What a subscription receives, by type. Each event carries the index it stems from. */
export interface ChatEventMap {
  /** A new direct message to or from you, or a post in one of your channels. */
  message: { readonly message: Message };
  /** `by` read the messages you sent them, up to `upTo`. */
  read: { readonly by: string; readonly upTo: number };
  /** Messages you could see were deleted. */
  deleted: { readonly ids: readonly number[] };
  /** The leader or the membership changed (also sent first, on subscribing, as the current state). */
  group: { readonly leader: string | null; readonly term: number; readonly voters: readonly string[]; readonly learners: readonly string[] };
  /** The subscription's session is over (logout, account deleted, peer stopping); nothing follows. */
  ended: { readonly reason: 'logged-out' | 'account-deleted' | 'peer-stopping' };
}

export type ChatEventType = keyof ChatEventMap;
export type ChatEvent = { [K in ChatEventType]: { readonly type: K; readonly appliedIndex: number } & ChatEventMap[K] }[ChatEventType];
export type ChatEventListener = (event: ChatEvent) => void;
export type Unsubscribe = () => void;

// ---- errors -------------------------------------------------------------------------------

/** Stable error codes (also the gRPC `qc-code` trailer). */
export type ChatApiErrorCode =
  | 'invalid-argument' | 'invalid-username' | 'invalid-password' | 'invalid-message' | 'invalid-channel-name'
  | 'username-taken' | 'channel-exists' | 'already-member' | 'not-member'
  | 'no-such-user' | 'no-such-channel' | 'no-such-message'
  | 'not-logged-in' | 'wrong-password' | 'bad-token'
  | 'forbidden'
  /** The request id is too old to tell whether it was applied (more than 128 behind). */
  | 'request-expired'
  | 'no-quorum' | 'timeout' | 'unavailable' | 'internal';

/** Every ChatApi failure: `message` is one sentence for people, `code` is for programs. */
export class ChatApiError extends Error {
  constructor(readonly code: ChatApiErrorCode, message: string) {
    super(message);
    this.name = 'ChatApiError';
  }
}

/** True for a ChatApiError, also one rebuilt from plain data after crossing a bridge. */
export function isChatApiError(err: unknown): err is { code: ChatApiErrorCode; message: string } {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string'
    && typeof (err as { message?: unknown }).message === 'string';
}

// ---- the interface --------------------------------------------------------------------------

export interface ChatApi {
  /** Creates an account (the password is hashed by the peer; it never enters the log). */
  register(username: string, password: string, options?: WriteOptions): Promise<AccountResult>;
  /** Checks the password, opens a replicated session and binds this object to it. */
  login(username: string, password: string, options?: WriteOptions): Promise<LoginResult>;
  /** Binds this object to credentials without checking them (e.g. a token kept across a reload). */
  useCredentials(credentials: Credentials | null): void;
  /** Checks the bound credentials: who am I, and how many unread messages. */
  whoami(options?: ReadOptions): Promise<SessionResult>;
  /** Ends the bound session on every peer. */
  logout(options?: WriteOptions): Promise<CountResult>;
  /** Deletes the caller's account: messages it received go with it; those it sent stay, from nobody. */
  deleteAccount(options?: WriteOptions): Promise<CountResult>;
  /** Accounts whose name matches `pattern` (`*` any run, `?` one character), in name order. */
  listAccounts(pattern: string, options?: PageOptions & ReadOptions): Promise<Page<Account>>;

  sendDirect(to: string, text: string, options?: WriteOptions): Promise<SendResult>;
  /** The oldest `count` unread messages (from `from` only, if given), which are then marked read. */
  readUnread(count: number, from?: string, options?: WriteOptions): Promise<MessagesResult>;
  /** The conversation with `withUser`: newest page first, each page in chronological order. */
  history(withUser: string, options?: PageOptions & ReadOptions): Promise<Page<Message>>;
  unread(options?: ReadOptions): Promise<UnreadResult>;
  /** The caller's direct conversations, the most recent first, each with its last message. */
  conversations(options?: PageOptions & ReadOptions): Promise<Page<Conversation>>;
  /** Marks messages to the caller read up to `upTo` (default: all), from `with` only if given. */
  markRead(options?: { readonly with?: string; readonly upTo?: number } & WriteOptions): Promise<CountResult>;
  /** Deletes some of the caller's own messages (1–1000 ids, all or nothing). */
  deleteMessages(ids: readonly number[], options?: WriteOptions): Promise<CountResult>;

  channels(options?: PageOptions & ReadOptions): Promise<Page<Channel>>;
  /** Channel names are 1–32 of A–Z a–z 0–9 _ . - ; a leading "#" is ignored everywhere. */
  createChannel(name: string, options?: WriteOptions): Promise<ChannelResult>;
  joinChannel(name: string, options?: WriteOptions): Promise<WriteResult>;
  leaveChannel(name: string, options?: WriteOptions): Promise<WriteResult>;
  postChannel(name: string, text: string, options?: WriteOptions): Promise<SendResult>;
  channelHistory(name: string, options?: PageOptions & ReadOptions): Promise<Page<Message>>;

  /**
   * Live events: the caller's (when bound to credentials) and the group's (for everyone). The
   * first event is the current `group` state, so a subscriber knows it is listening.
   */
  subscribe(listener: ChatEventListener, options?: ReadOptions): Promise<Unsubscribe>;

  /** The answering peer's view of the group. */
  status(): Promise<PeerStatus>;
  /** Moves leadership to `to` (default: the answering peer); resolves once it has moved. */
  transferLeadership(to?: string): Promise<PeerStatus>;
  /**
   * Removes the answering peer from its group (through the leader) and resolves once that is
   * committed; the peer then stops. Static groups (fixed membership) refuse.
   */
  leaveGroup(): Promise<PeerStatus>;
  /** Removes member `id` from the group (through the leader); static groups refuse. */
  removeMember(id: string): Promise<PeerStatus>;
}
