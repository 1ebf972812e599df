// A small typed client for the ChatService (proto/chat.proto), shared by the CLI, the cluster
// tests and the scripts. Every call has a deadline, so nothing that uses it can hang on a
// peer that is gone; every failure becomes a ChatCallError carrying the server's one-sentence
// details and its stable `qc-code`.
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Account, Channel, Credentials, PageOptions, ReadOptions, RequestId } from '../../common/chat-api.js';
import { loadChatService } from '../transport/proto.js';

export type { Account, Channel, Credentials, PageOptions, ReadOptions, RequestId };

/** A message as the wire carries it: empty strings where ChatApi has nulls. */
export interface Message {
  readonly id: number;
  readonly from: string;
  readonly to: string;
  readonly channel: string;
  readonly text: string;
  readonly sentAt: number;
  readonly unread: boolean;
}

export interface WriteReply {
  readonly appliedIndex: number;
  readonly messageId: number;
  readonly count: number;
  readonly channelId: number;
  readonly duplicate: boolean;
  readonly request: RequestId | null;
  readonly errorCode: string;
  readonly error: string;
}

export interface AccountReply { readonly appliedIndex: number; readonly account: Account }
export interface LoginReply { readonly appliedIndex: number; readonly token: string; readonly account: Account; readonly unread: number }
export interface AccountsReply { readonly appliedIndex: number; readonly accounts: Account[]; readonly next: string }
export interface MessagesReply { readonly appliedIndex: number; readonly messages: Message[]; readonly next: string }
export interface UnreadReply {
  readonly appliedIndex: number;
  readonly total: number;
  readonly conversations: { readonly with: string; readonly unread: number }[];
}
export interface ChannelsReply { readonly appliedIndex: number; readonly channels: Channel[]; readonly next: string }

export interface Member {
  readonly id: string;
  readonly address: string;
  readonly role: string;
  readonly matchIndex: number;
  readonly reachable: boolean;
}

export interface StatusReply {
  readonly id: string;
  readonly pid: number;
  readonly role: string;
  readonly term: number;
  readonly leader: string;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly members: Member[];
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly autopilot: { at: number; action: string; node: string; reason: string; outcome: string }[];
}


export interface ChatClientOptions {
  /** Each call fails after this long (default 10 s). */
  readonly deadlineMs?: number;
  readonly credentials?: Credentials | null;
}

/** A failed call: `message` is the server's sentence, `code` its stable qc-code. */
export class ChatCallError extends Error {
  constructor(message: string, readonly code: string, readonly grpcCode: grpc.status) {
    super(message);
    this.name = 'ChatCallError';
  }
}

type Callback = (err: grpc.ServiceError | null, reply: unknown) => void;
type UnaryMethod = (request: object, metadata: grpc.Metadata, options: grpc.CallOptions, callback: Callback) => void;

const defaultDeadlineMs = 10_000;
/** A long-lived client (tests, scripts) reconnects soon after a restarted peer is back. */
const channelOptions: grpc.ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1_000,
};
/** A fresh random client id: a client's writes are exactly-once per (client id, seq). */
export function randomClientId(): string {
  return `cli-${randomBytes(9).toString('base64url')}`;
}

/** Parses `--request-id CLIENT:SEQ`. */
export function parseRequestId(text: string): RequestId {
  const match = /^(.{1,64}):([1-9]\d{0,15})$/.exec(text);
  if (match === null) throw new Error(`bad request id "${text}": expected CLIENT:SEQ (e.g. laptop-1:7)`);
  return { clientId: match[1] as string, seq: Number(match[2]) };
}

/** Runs `fn` with a client for `address`, closing it afterwards whatever happens. */
export async function withChatClient<T>(address: string, fn: (client: ChatClient) => Promise<T>): Promise<T> {
  const client = new ChatClient(address);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

export class ChatClient {
  private readonly client: grpc.Client & Record<string, UnaryMethod>;
  private readonly deadlineMs: number;
  private readonly credentials: Credentials | null;

  constructor(readonly address: string, options: ChatClientOptions = {}) {
    const Client = loadChatService().client;
    this.client = new Client(address, grpc.credentials.createInsecure(), channelOptions) as grpc.Client & Record<string, UnaryMethod>;
    this.deadlineMs = options.deadlineMs ?? defaultDeadlineMs;
    this.credentials = options.credentials ?? null;
  }

  close(): void {
    this.client.close();
  }

  register(request: RequestId, username: string, password: string): Promise<AccountReply> {
    return this.call('register', { request, username, password });
  }

  login(request: RequestId, username: string, password: string): Promise<LoginReply> {
    return this.call('login', { request, username, password });
  }

  logout(request: RequestId): Promise<WriteReply> {
    return this.call('logout', { request });
  }

  deleteAccount(request: RequestId): Promise<WriteReply> {
    return this.call('deleteAccount', { request });
  }

  listAccounts(pattern: string, page: PageOptions = {}, read: ReadOptions = {}): Promise<AccountsReply> {
    return this.call('listAccounts', { read, pattern, ...page });
  }

  send(request: RequestId, to: string, text: string): Promise<WriteReply> {
    return this.call('sendDirect', { request, to, text });
  }

  readUnread(request: RequestId, count?: number, from?: string): Promise<MessagesReply> {
    return this.call('readUnread', { request, count, from });
  }

  history(withUser: string, page: PageOptions = {}, read: ReadOptions = {}): Promise<MessagesReply> {
    return this.call('history', { read, with: withUser, ...page });
  }

  unread(read: ReadOptions = {}): Promise<UnreadReply> {
    return this.call('unread', { read });
  }

  deleteMessages(request: RequestId, ids: readonly number[]): Promise<WriteReply> {
    return this.call('deleteMessages', { request, ids });
  }

  channels(page: PageOptions = {}, read: ReadOptions = {}): Promise<ChannelsReply> {
    return this.call('channels', { read, ...page });
  }

  post(request: RequestId, channel: string, text: string): Promise<WriteReply> {
    return this.call('postChannel', { request, channel, text });
  }

  status(): Promise<StatusReply> {
    return this.call('status', {});
  }

  leaveGroup(): Promise<StatusReply> {
    return this.call('leaveGroup', {});
  }

  /** Asks this peer to have another member removed from the group (through the leader). */
  removeMember(id: string): Promise<StatusReply> {
    return this.call('removeMember', { id });
  }

  /** Opens a SendStream: many sends in flight on one call, each answered after its commit. */
  sendStream(): SendStream {
    return new SendStream(this.client, this.metadata());
  }

  private call<T>(method: string, request: object): Promise<T> {
    const fn = this.client[method];
    if (fn === undefined) throw new Error(`ChatService has no method ${method}`);
    const options = { deadline: Date.now() + this.deadlineMs };
    return new Promise((resolve, reject) => {
      fn.call(this.client, request, this.metadata(), options, (err, reply) => {
        if (err !== null) reject(toCallError(err, this.address, this.deadlineMs));
        else resolve(reply as T);
      });
    });
  }

  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    const c = this.credentials;
    if (c !== null && 'token' in c) md.set('qc-token', c.token);
    if (c !== null && 'username' in c) {
      md.set('qc-user', c.username);
      md.set('qc-password', c.password);
    }
    return md;
  }
}

interface StreamWaiter {
  resolve: (reply: WriteReply) => void;
  reject: (err: Error) => void;
}

/**
 * The client side of SendStream. send() resolves with the reply to that request (matched by
 * request id: replies come in commit order, not send order) or rejects with its error.
 */
export class SendStream {
  private readonly call: grpc.ClientDuplexStream<object, WriteReply>;
  private readonly waiters = new Map<string, StreamWaiter>();
  private failure: Error | null = null;

  constructor(client: grpc.Client, metadata: grpc.Metadata) {
    const method = (client as unknown as Record<string, (md: grpc.Metadata) => grpc.ClientDuplexStream<object, WriteReply>>).sendStream;
    if (method === undefined) throw new Error('ChatService has no method sendStream');
    this.call = method.call(client, metadata);
    this.call.on('data', (reply: WriteReply) => this.answer(reply));
    this.call.on('error', (err: grpc.ServiceError) => this.fail(toCallError(err, 'the stream', 0)));
    this.call.on('end', () => this.fail(new ChatCallError('the peer closed the stream', 'unavailable', grpc.status.UNAVAILABLE)));
  }

  send(request: RequestId, to: string, text: string): Promise<WriteReply> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiters.set(key(request), { resolve, reject });
      this.call.write({ request, to, text });
    });
  }

  /** Ends the stream; sends still waiting are rejected. */
  close(): void {
    this.call.cancel();
    this.fail(new ChatCallError('the stream was closed', 'cancelled', grpc.status.CANCELLED));
  }

  private answer(reply: WriteReply): void {
    if (reply.request === null) return;
    const waiter = this.waiters.get(key(reply.request));
    if (waiter === undefined) return;
    this.waiters.delete(key(reply.request));
    if (reply.errorCode === '') waiter.resolve(reply);
    else waiter.reject(new ChatCallError(reply.error, reply.errorCode, grpc.status.UNKNOWN));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiters.values()) w.reject(err);
    this.waiters.clear();
  }
}

function key(request: RequestId): string {
  return `${request.clientId}/${Number(request.seq)}`;
}

/** One clear sentence for a failed call: the server's own details when it gave any. */
function toCallError(err: grpc.ServiceError, address: string, deadlineMs: number): ChatCallError {
  const code = String(err.metadata?.get('qc-code')[0] ?? '');
  if (code !== '') return new ChatCallError(err.details, code, err.code);
  if (err.code === grpc.status.UNAVAILABLE) return new ChatCallError(`cannot reach ${address} (${why(err.details)})`, 'unavailable', err.code);
  if (err.code === grpc.status.DEADLINE_EXCEEDED) {
    return new ChatCallError(`no answer from ${address} within ${deadlineMs / 1000} s`, 'deadline-exceeded', err.code);
  }
  return new ChatCallError(err.details || err.message, grpc.status[err.code]?.toLowerCase() ?? 'error', err.code);
}

/** grpc-js's connection failures are long; the errno is what a person needs. */
function why(details: string): string {
  const errno = /\b(E[A-Z]{3,})\b/.exec(details)?.[1];
  if (errno === 'ECONNREFUSED') return 'connection refused: is a peer running there?';
  return errno ?? details;
}
