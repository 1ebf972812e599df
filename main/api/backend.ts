// What every ChatApi session of one peer shares: the peer, read barriers, fresh look-ups of
// names and sessions, authentication, and the write path (prepare → propose → applied here).
import { randomBytes } from 'node:crypto';
import { ChatApiError, type ChatApi, type Credentials, type ReadOptions, type RequestId, type WriteOptions } from '../../common/chat-api.js';
import type { CommandType, CommandValues } from '../chat/commands.js';
import { prepareCommand, type ChatRequest, type PrepareOptions } from '../chat/prepare.js';
import type { AccountView, ChannelView, ChatQueries } from '../chat/queries.js';
import { hashToken, isSessionToken } from '../chat/tokens.js';
import { silentLogger, type Logger } from '../log/logger.js';
import type { Peer } from '../peer/peer.js';
import { invalid, refusal, shown } from './errors.js';
import { EventHub } from './events.js';
import { ApiSession } from './session.js';
import { LeaderTimeline } from './timeline.js';

export interface ChatBackendOptions extends PrepareOptions {
  readonly logger?: Logger;
}

/** The authenticated caller of one call. */
export interface Caller {
  readonly account: AccountView;
  /** The session's token hash when authenticated by token (logout ends that session). */
  readonly tokenHash: string | null;
}

export interface Written<T extends CommandType> {
  readonly index: number;
  readonly value: CommandValues[T];
  readonly duplicate: boolean;
}

const maxClientIdLength = 64;

export class ChatBackend {
  readonly events: EventHub;
  /** Elections and leader changes since this backend (made with its peer) started. */
  readonly timeline: LeaderTimeline;
  readonly log: Logger;
  /** For writes sent without a request id: one client identity per backend, its own counter. */
  private clientId = ownClientId();
  private seq = 0;

  constructor(readonly peer: Peer, private readonly options: ChatBackendOptions = {}) {
    this.log = options.logger ?? silentLogger;
    this.events = new EventHub(peer, this.log);
    this.timeline = new LeaderTimeline(peer);
  }

  /** A ChatApi for one client: a UI window, one gRPC call. */
  session(credentials: Credentials | null = null): ChatApi {
    return new ApiSession(this, credentials);
  }

  /** The local replica's queries; fetched anew each time (a snapshot install replaces them). */
  get queries(): ChatQueries {
    return this.peer.queries;
  }

  /** Waits until reads here honour `read`: applied ≥ minIndex, then the leader's confirmation. */
  async barrier(read: ReadOptions = {}): Promise<void> {
    const { minIndex, linearizable } = read;
    if (minIndex !== undefined && minIndex !== 0) {
      if (!Number.isSafeInteger(minIndex) || minIndex < 0) throw invalid(`min_index ${String(minIndex)} is not an index`);
      await this.peer.waitApplied(minIndex);
    }
    if (linearizable === true) await this.peer.linearizable();
  }

  /**
   * Looks something up in this replica. A miss may only mean "created on another peer, not
   * applied here yet": then confirm with the leader (ReadIndex) and look again before saying
   * it does not exist. Hits, the common case, cost nothing extra.
   */
  async fresh<T>(lookup: () => T | null): Promise<T | null> {
    const found = lookup();
    if (found !== null) return found;
    await this.peer.linearizable();
    return lookup();
  }

  async account(username: string): Promise<AccountView> {
    if (username === '') throw invalid('a username is required');
    const account = await this.fresh(() => this.queries.accountByName(username));
    if (account === null) throw new ChatApiError('no-such-user', `no such user: ${shown(username)}`);
    return account;
  }

  async channel(name: string): Promise<ChannelView> {
    if (name === '' || name === '#') throw invalid('a channel name is required');
    const channel = await this.fresh(() => this.queries.channelByName(name));
    if (channel === null) throw new ChatApiError('no-such-channel', `no such channel: #${shown(name.replace(/^#/, ''))}`);
    return channel;
  }

  /** Checks credentials against this replica: a token's hash, or the password (scrypt). */
  async authenticate(credentials: Credentials | null): Promise<Caller> {
    if (credentials === null) throw new ChatApiError('not-logged-in', 'log in first (send qc-token, or qc-user and qc-password)');
    if ('token' in credentials) return this.tokenCaller(credentials.token);
    await this.account(credentials.username);
    return { account: await this.queries.verifyLogin(credentials.username, credentials.password), tokenHash: null };
  }

  /** Prepares a request, proposes it and resolves once applied here; a refusal throws. */
  async write<T extends CommandType>(request: Extract<ChatRequest, { t: T }>, options: WriteOptions = {}): Promise<Written<T>> {
    if (options.request !== undefined) return this.propose(request, checkRequestId(options.request));
    try {
      return await this.propose(request, { clientId: this.clientId, seq: ++this.seq });
    } catch (err) {
      if (!(err instanceof ChatApiError && err.code === 'request-expired')) throw err;
      // This backend's own session expired (main/chat/sessions.ts: it wrote nothing while the
      // group wrote a million entries). The command was refused, not applied, so it goes again
      // as the first of a new session.
      this.clientId = ownClientId();
      this.seq = 0;
      return this.propose(request, { clientId: this.clientId, seq: ++this.seq });
    }
  }

  private async propose<T extends CommandType>(request: Extract<ChatRequest, { t: T }>, client: RequestId): Promise<Written<T>> {
    const command = await prepareCommand(request, client, this.options);
    const outcome = await this.peer.write(command);
    if (!outcome.result.ok) throw refusal(outcome.result.code, outcome.result.message);
    return { index: outcome.index, value: outcome.result.value as CommandValues[T], duplicate: outcome.duplicate };
  }

  /** Ends every live subscription (before the peer stops, so that no stream holds it up). */
  close(): void {
    this.events.close();
    this.timeline.close();
  }

  private async tokenCaller(token: string): Promise<Caller> {
    // Made only when needed: an Error captures a stack, and this runs for every call.
    const expired = () => new ChatApiError('bad-token', 'the session token is not valid (logged out, or never issued): log in again');
    if (!isSessionToken(token)) throw expired();
    const tokenHash = hashToken(token);
    const account = await this.fresh(() => this.queries.sessionAccount(tokenHash));
    if (account === null) throw expired();
    return { account, tokenHash };
  }
}

function ownClientId(): string {
  return `api-${randomBytes(12).toString('base64url')}`;
}

function checkRequestId(request: RequestId): RequestId {
  const { clientId, seq } = request;
  if (typeof clientId !== 'string' || clientId.length === 0 || clientId.length > maxClientIdLength) {
    throw invalid(`a request id's client id is 1–${maxClientIdLength} characters`);
  }
  if (!Number.isSafeInteger(seq) || seq < 1) throw invalid(`a request id's sequence number is a whole number ≥ 1 (got ${String(seq)})`);
  return { clientId, seq };
}
