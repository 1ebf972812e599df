// The UI's bridge to its peer: one message protocol carried two ways, by the Electron preload
// (IPC on the channels below) and by the WebSocket bridge a headless peer serves on 127.0.0.1.
// Both end in one dispatcher in main/, which calls a ChatApi session (one per window or
// socket) and the HostApi. Like chat-api.ts, this file imports only types and nothing of Node.
import type { ChatApi, ChatApiErrorCode, ChatEvent } from './chat-api.js';

// ---- the host: first run (create or join a group), then the member it became ----------------

/** A group announced on the LAN (mDNS). */
export interface DiscoveredGroup {
  readonly groupId: string;
  readonly groupName: string;
  /** Members seen announcing it. */
  readonly members: number;
  /** host:port of each member seen (any one can take a join). */
  readonly addresses: readonly string[];
}

/** Where this app's peer is: not in a group yet, on its way in, or a member. */
export type HostState =
  | { readonly state: 'setup' }
  | { readonly state: 'joining'; readonly groupName: string; readonly nodeId: string }
  | {
    readonly state: 'member';
    readonly groupName: string | null;
    readonly nodeId: string;
    /** Static `--peers` groups: no invite code, fixed membership. */
    readonly staticGroup: boolean;
  };

export interface HostApi {
  hostState(): Promise<HostState>;
  /** Groups announced on the LAN right now (waits briefly for answers). */
  discoverGroups(): Promise<readonly DiscoveredGroup[]>;
  /** Founds a new group with this peer as its first voter. */
  createGroup(name: string): Promise<HostState>;
  /** Joins the group of `inviteCode`, found by mDNS or through `address` (host:port). */
  joinGroup(inviteCode: string, address?: string): Promise<HostState>;
  /** The invite code others need to join (members of LAN groups only; null otherwise). */
  inviteCode(): Promise<string | null>;
}

// ---- the protocol -------------------------------------------------------------------------

/** Every method a bridge carries; anything else is refused before it reaches the peer. */
export const chatMethods = [
  'register', 'login', 'useCredentials', 'whoami', 'logout', 'deleteAccount', 'listAccounts',
  'sendDirect', 'readUnread', 'history', 'unread', 'conversations', 'markRead', 'deleteMessages',
  'channels', 'createChannel', 'joinChannel', 'leaveChannel', 'postChannel', 'channelHistory',
  'status', 'transferLeadership', 'leaveGroup', 'removeMember',
] as const satisfies readonly Exclude<keyof ChatApi, 'subscribe'>[];

export const hostMethods = ['hostState', 'discoverGroups', 'createGroup', 'joinGroup', 'inviteCode'] as const satisfies readonly (keyof HostApi)[];

/** subscribe(options) answers a subscription number; unsubscribe(number) ends it. */
export const subscriptionMethods = ['subscribe', 'unsubscribe'] as const;

export type ChatMethod = typeof chatMethods[number];
export type HostMethod = typeof hostMethods[number];
export type BridgeMethod = ChatMethod | HostMethod | typeof subscriptionMethods[number];

export interface BridgeRequest {
  /** Chosen by the caller (1 or more), echoed in the reply; a reply with id 0 answers a frame whose id could not be read. */
  readonly id: number;
  readonly method: BridgeMethod;
  readonly args: readonly unknown[];
}

export type BridgeReply =
  | { readonly type: 'reply'; readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly type: 'reply'; readonly id: number; readonly ok: false; readonly error: { readonly code: ChatApiErrorCode; readonly message: string } };

/** What the main side sends unasked: a subscription's event, or a change of the host's state. */
export type BridgePush =
  | { readonly type: 'event'; readonly subscription: number; readonly event: ChatEvent }
  | { readonly type: 'host'; readonly state: HostState };

export type BridgeMessage = BridgeReply | BridgePush;

/** The two IPC channels of the Electron preload (requests are invoke()d, pushes are sent). */
export const ipcChannels = { call: 'quorum-chat:call', push: 'quorum-chat:push' } as const;

/** What the preload exposes on `window` (contextBridge), and what the WebSocket link mimics. */
export interface BridgeLink {
  call(request: BridgeRequest): Promise<BridgeReply>;
  /** Pushes, in order; returns a function that stops listening. */
  onPush(listener: (push: BridgePush) => void): () => void;
}

/** The global name the preload exposes the link under. */
export const preloadGlobal = 'quorumChatBridge';

/** The WebSocket bridge's path; the per-launch token goes in the `token` query parameter. */
export const webSocketPath = '/bridge';
