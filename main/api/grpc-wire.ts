// proto/chat.proto's messages as @grpc/proto-loader hands them over (camelCase, defaults filled
// in, 64-bit numbers as JS numbers), and the ChatApi's values turned into its replies.
import * as grpc from '@grpc/grpc-js';
import type {
  Account, ChatApiError, ChatApiErrorCode, ChatEvent, Credentials, Message, Page, PageOptions, PeerStatus, ReadOptions, RequestId,
  WriteOptions, WriteResult,
} from '../../common/chat-api.js';
import { invalid, shown } from './errors.js';

// ---- requests -----------------------------------------------------------------------------

export interface WireRequestId { clientId: string; seq: number }
export interface WireRead { minIndex: number; linearizable: boolean }
export interface WirePage { limit: number; cursor: string }

export interface RegisterRequest { request: WireRequestId | null; username: string; password: string }
export interface WriteRequest { request: WireRequestId | null }
export interface ListAccountsRequest extends WirePage { read: WireRead | null; pattern: string }
export interface SendDirectRequest { request: WireRequestId | null; to: string; text: string }
export interface ReadUnreadRequest { request: WireRequestId | null; count: number; from: string }
export interface HistoryRequest extends WirePage { read: WireRead | null; with: string }
export interface ReadRequest { read: WireRead | null }
export interface MarkReadRequest { request: WireRequestId | null; with: string; upTo: number }
export interface DeleteMessagesRequest { request: WireRequestId | null; ids: number[] }
export interface ChannelsRequest extends WirePage { read: WireRead | null }
export interface ChannelRequest { request: WireRequestId | null; channel: string }
export interface PostChannelRequest { request: WireRequestId | null; channel: string; text: string }
export interface ChannelHistoryRequest extends WirePage { read: WireRead | null; channel: string }
export interface TransferLeadershipRequest { to: string }

/**
 * A request whose bytes are not the method's message. Decoding hands it to the handler in place
 * of throwing (tolerantDecoding), so the caller gets INVALID_ARGUMENT from us: when decoding
 * throws, grpc-js ends the call itself with INTERNAL, and on a SendStream that already answered
 * a request it can send no status at all, leaving the caller waiting for its deadline (grpc-js
 * 1.14.7; test/api/arbitrary-requests.test.ts found it).
 */
export class UndecodableRequest {
  constructor(readonly method: string, readonly reason: string) {}

  error(): ChatApiError {
    return invalid(`not a ${this.method} request: ${shown(this.reason)}`);
  }
}

/** `definition` with decoding that never throws: bytes that do not decode become an UndecodableRequest. */
export function tolerantDecoding(definition: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const methods = Object.entries(definition).map(([name, method]) => [name, {
    ...method,
    requestDeserialize: (bytes: Buffer): unknown => {
      try {
        return method.requestDeserialize(bytes);
      } catch (err) {
        return new UndecodableRequest(name, (err as Error).message);
      }
    },
  }]);
  return Object.fromEntries(methods) as grpc.ServiceDefinition;
}

/** What the call's metadata says: who calls, and the index their earlier calls reached. */
export interface CallInfo {
  readonly credentials: Credentials | null;
  readonly minIndex: number | undefined;
}

/** `qc-token`, or `qc-user` + `qc-password` (or `qc-password-bin`, UTF-8), and `qc-min-index`. */
export function callInfo(metadata: grpc.Metadata): CallInfo {
  return { credentials: credentialsOf(metadata), minIndex: minIndexOf(metadata) };
}

function credentialsOf(metadata: grpc.Metadata): Credentials | null {
  const token = header(metadata, 'qc-token');
  if (token !== undefined) return { token };
  const username = header(metadata, 'qc-user');
  const password = header(metadata, 'qc-password') ?? header(metadata, 'qc-password-bin');
  if (username === undefined && password === undefined) return null;
  if (username === undefined || password === undefined) throw invalid('send qc-user and qc-password together');
  return { username, password };
}

function minIndexOf(metadata: grpc.Metadata): number | undefined {
  const value = header(metadata, 'qc-min-index');
  if (value === undefined) return undefined;
  if (!/^\d{1,15}$/.test(value)) throw invalid(`qc-min-index "${shown(value)}" is not an index`);
  return Number(value);
}

function header(metadata: grpc.Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return value === undefined ? undefined : Buffer.isBuffer(value) ? value.toString('utf8') : value;
}

/** An absent RequestId arrives as null, or zeroed by proto3 defaults: both mean "none". */
export function requestIdOf(request: WireRequestId | null): RequestId | undefined {
  if (request === null || (request.clientId === '' && request.seq === 0)) return undefined;
  return { clientId: request.clientId, seq: request.seq };
}

export function writeOptions(request: WireRequestId | null, info: CallInfo): WriteOptions {
  return { request: requestIdOf(request), minIndex: info.minIndex };
}

/** The larger of ReadOptions.min_index and qc-min-index; the page, 0 and "" meaning defaults. */
export function readOptions(read: WireRead | null, info: CallInfo, page?: WirePage): ReadOptions & PageOptions {
  const minIndex = Math.max(read?.minIndex ?? 0, info.minIndex ?? 0);
  return {
    minIndex: minIndex === 0 ? undefined : minIndex,
    linearizable: read?.linearizable === true,
    limit: page === undefined || page.limit === 0 ? undefined : page.limit,
    cursor: page === undefined || page.cursor === '' ? undefined : page.cursor,
  };
}

// ---- replies ------------------------------------------------------------------------------

type WriteLike = WriteResult & { messageId?: number; count?: number; channelId?: number };

export function writeReply(r: WriteLike): object {
  return { appliedIndex: r.appliedIndex, messageId: r.messageId ?? 0, count: r.count ?? 0, channelId: r.channelId ?? 0, duplicate: r.duplicate };
}

/** A SendStream reply for a request that failed: its id and its error, nothing else. */
export function failedReply(request: WireRequestId | null, appliedIndex: number, code: ChatApiErrorCode, error: string): object {
  return { appliedIndex, request, errorCode: code, error };
}

export function wireMessage(m: Message): object {
  return { id: m.id, from: m.from ?? '', to: m.to ?? '', channel: m.channel ?? '', text: m.text, sentAt: m.sentAt, unread: m.unread };
}

export function accountsReply(p: Page<Account>): object {
  return { appliedIndex: p.appliedIndex, accounts: p.items, next: p.next ?? '' };
}

export function messagesReply(p: { appliedIndex: number; messages?: readonly Message[]; items?: readonly Message[]; next?: string | null }): object {
  return { appliedIndex: p.appliedIndex, messages: (p.messages ?? p.items ?? []).map(wireMessage), next: p.next ?? '' };
}

export function statusReply(s: PeerStatus): object {
  return { ...s, leader: s.leader ?? '', members: s.members.map((m) => ({ ...m, address: m.address ?? '', lastContact: m.lastContact ?? 0 })) };
}

/** Events other than `ended` (which ends the stream with a status instead). */
export function wireEvent(e: Exclude<ChatEvent, { type: 'ended' }>): object {
  const at = { appliedIndex: e.appliedIndex };
  switch (e.type) {
    case 'message': return { ...at, message: wireMessage(e.message) };
    case 'read': return { ...at, read: { by: e.by, upTo: e.upTo } };
    case 'deleted': return { ...at, deleted: { ids: e.ids } };
    case 'group': return { ...at, group: { leader: e.leader ?? '', term: e.term, voters: e.voters, learners: e.learners } };
  }
}
