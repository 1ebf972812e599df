// The gRPC ChatService (proto/chat.proto): every RPC is one ChatApi call made by a session built
// from the call's metadata. Failures become statuses whose details are the error's sentence,
// with the stable code in the trailing metadata `qc-code`. Nothing a client sends can throw
// into the peer: every handler ends in a reply or a status.
import * as grpc from '@grpc/grpc-js';
import { ChatApiError, type ChatApi, type ChatApiErrorCode, type ChatEvent, type ChatEventMap, type Unsubscribe } from '../../common/chat-api.js';
import type { Logger } from '../log/logger.js';
import { loadChatService } from '../transport/proto.js';
import type { ServiceRegistration } from '../transport/transport.js';
import type { ChatBackend } from './backend.js';
import { batchedWriter } from './batched-writes.js';
import { toApiError } from './errors.js';
import {
  accountsReply, callInfo, failedReply, messagesReply, readOptions, requestIdOf, statusReply, wireEvent, writeOptions, writeReply,
  type CallInfo, type ChannelHistoryRequest, type ChannelRequest, type ChannelsRequest, type DeleteMessagesRequest,
  type HistoryRequest, type ListAccountsRequest, type MarkReadRequest, type PostChannelRequest, type ReadRequest,
  type ReadUnreadRequest, type RegisterRequest, type SendDirectRequest, type TransferLeadershipRequest, type WriteRequest,
  tolerantDecoding, UndecodableRequest,
} from './grpc-wire.js';

const grpcStatus: Record<ChatApiErrorCode, grpc.status> = {
  'invalid-argument': grpc.status.INVALID_ARGUMENT,
  'invalid-username': grpc.status.INVALID_ARGUMENT,
  'invalid-password': grpc.status.INVALID_ARGUMENT,
  'invalid-message': grpc.status.INVALID_ARGUMENT,
  'invalid-channel-name': grpc.status.INVALID_ARGUMENT,
  'username-taken': grpc.status.ALREADY_EXISTS,
  'channel-exists': grpc.status.ALREADY_EXISTS,
  'already-member': grpc.status.ALREADY_EXISTS,
  'not-member': grpc.status.FAILED_PRECONDITION,
  'no-such-user': grpc.status.NOT_FOUND,
  'no-such-channel': grpc.status.NOT_FOUND,
  'no-such-message': grpc.status.NOT_FOUND,
  'not-logged-in': grpc.status.UNAUTHENTICATED,
  'wrong-password': grpc.status.UNAUTHENTICATED,
  'bad-token': grpc.status.UNAUTHENTICATED,
  forbidden: grpc.status.PERMISSION_DENIED,
  'request-expired': grpc.status.FAILED_PRECONDITION,
  'no-quorum': grpc.status.UNAVAILABLE,
  unavailable: grpc.status.UNAVAILABLE,
  timeout: grpc.status.DEADLINE_EXCEEDED,
  internal: grpc.status.INTERNAL,
};

/** Per SendStream: requests read ahead of their replies before reading pauses. */
const maxInFlightPerStream = 1_024;
/** Per Events stream: replies buffered for a reader that does not keep up before it is cut off. */
const maxBufferedEvents = 10_000;

export interface ChatGrpcService extends ServiceRegistration {
  /** Ends every open stream (the server waits for open calls when it shuts down). */
  close(): void;
}

type Handler<Req> = (api: ChatApi, request: Req, info: CallInfo) => Promise<object>;

/** Open streams, each with a way to end it; once closed, a stream that opens is ended at once. */
class OpenStreams {
  private readonly stops = new Set<() => void>();
  private closed = false;

  add(stop: () => void): void {
    if (this.closed) queueMicrotask(stop);
    else this.stops.add(stop);
  }

  delete(stop: () => void): void {
    this.stops.delete(stop);
  }

  close(): void {
    this.closed = true;
    for (const stop of [...this.stops]) stop();
  }
}

export function chatGrpcService(backend: ChatBackend): ChatGrpcService {
  const streams = new OpenStreams();
  const u = <Req>(handler: Handler<Req>) => unary(backend, handler);
  const implementation: grpc.UntypedServiceImplementation = {
    Register: u<RegisterRequest>((api, r, i) => api.register(r.username, r.password, writeOptions(r.request, i))
      .then((a) => ({ appliedIndex: a.appliedIndex, account: a.account }))),
    Login: u<RegisterRequest>((api, r, i) => api.login(r.username, r.password, writeOptions(r.request, i))),
    Logout: u<WriteRequest>((api, r, i) => api.logout(writeOptions(r.request, i)).then(writeReply)),
    DeleteAccount: u<WriteRequest>((api, r, i) => api.deleteAccount(writeOptions(r.request, i)).then(writeReply)),
    ListAccounts: u<ListAccountsRequest>((api, r, i) => api.listAccounts(r.pattern, readOptions(r.read, i, r)).then(accountsReply)),
    SendDirect: u<SendDirectRequest>((api, r, i) => api.sendDirect(r.to, r.text, writeOptions(r.request, i)).then(writeReply)),
    SendStream: sendStream(backend, streams),
    ReadUnread: u<ReadUnreadRequest>((api, r, i) => api.readUnread(r.count, r.from, writeOptions(r.request, i)).then(messagesReply)),
    History: u<HistoryRequest>((api, r, i) => api.history(r.with, readOptions(r.read, i, r)).then(messagesReply)),
    Unread: u<ReadRequest>((api, r, i) => api.unread(readOptions(r.read, i)).then((x) => ({ ...x, conversations: x.conversations.map((c) => ({ ...c, with: c.with ?? '' })) }))),
    MarkRead: u<MarkReadRequest>((api, r, i) => api.markRead({ with: r.with, upTo: r.upTo, ...writeOptions(r.request, i) }).then(writeReply)),
    DeleteMessages: u<DeleteMessagesRequest>((api, r, i) => api.deleteMessages(r.ids, writeOptions(r.request, i)).then(writeReply)),
    Channels: u<ChannelsRequest>((api, r, i) => api.channels(readOptions(r.read, i, r))
      .then((p) => ({ appliedIndex: p.appliedIndex, channels: p.items, next: p.next ?? '' }))),
    CreateChannel: u<ChannelRequest>((api, r, i) => api.createChannel(r.channel, writeOptions(r.request, i)).then(writeReply)),
    JoinChannel: u<ChannelRequest>((api, r, i) => api.joinChannel(r.channel, writeOptions(r.request, i)).then(writeReply)),
    LeaveChannel: u<ChannelRequest>((api, r, i) => api.leaveChannel(r.channel, writeOptions(r.request, i)).then(writeReply)),
    PostChannel: u<PostChannelRequest>((api, r, i) => api.postChannel(r.channel, r.text, writeOptions(r.request, i)).then(writeReply)),
    ChannelHistory: u<ChannelHistoryRequest>((api, r, i) => api.channelHistory(r.channel, readOptions(r.read, i, r)).then(messagesReply)),
    Events: events(backend, streams),
    Status: u<object>((api) => api.status().then(statusReply)),
    TransferLeadership: u<TransferLeadershipRequest>((api, r) => api.transferLeadership(r.to).then(statusReply)),
    LeaveGroup: u<object>((api) => api.leaveGroup().then(statusReply)),
    RemoveMember: u<{ id: string }>((api, r) => api.removeMember(r.id).then(statusReply)),
  };
  return {
    definition: tolerantDecoding(loadChatService().service),
    implementation,
    close: () => streams.close(),
  };
}

/** Runs `body` with the session and metadata of a call; bad metadata fails like any call. */
async function withSession<T>(backend: ChatBackend, metadata: grpc.Metadata, body: (api: ChatApi, info: CallInfo) => Promise<T>): Promise<T> {
  const info = callInfo(metadata);
  return body(backend.session(info.credentials), info);
}

function unary<Req>(backend: ChatBackend, handler: Handler<Req>): grpc.handleUnaryCall<Req, object> {
  return (call, callback) => {
    const request: Req | UndecodableRequest = call.request;
    if (request instanceof UndecodableRequest) return callback(statusOf(request.error(), backend.log));
    withSession(backend, call.metadata, (api, info) => handler(api, request, info)).then(
      (reply) => callback(null, reply),
      (err: unknown) => callback(statusOf(err, backend.log)),
    );
  };
}

function statusOf(err: unknown, log: Logger): grpc.ServerErrorResponse {
  const e = toApiError(err);
  if (e.code === 'internal') log.error({ err: err instanceof Error ? err.stack : String(err) }, 'ChatService call failed unexpectedly');
  const metadata = new grpc.Metadata();
  metadata.set('qc-code', e.code);
  return Object.assign(new Error(e.message), { code: grpcStatus[e.code], details: e.message, metadata });
}

/** Ends a stream once: with a status for `err`, or (cancelled by the client) silently. */
function streamEnder(call: grpc.ServerWritableStream<unknown, object> | grpc.ServerDuplexStream<unknown, object>, log: Logger, cleanup: () => void) {
  let done = false;
  return {
    get done() {
      return done;
    },
    finish(err?: unknown): void {
      if (done) return;
      done = true;
      cleanup();
      if (call.cancelled) return;
      if (err === undefined) call.end();
      else call.emit('error', statusOf(err, log));
    },
  };
}

const endings: Record<ChatEventMap['ended']['reason'], ChatApiError> = {
  'logged-out': new ChatApiError('not-logged-in', 'the session ended: logged out'),
  'account-deleted': new ChatApiError('not-logged-in', 'the session ended: the account was deleted'),
  'peer-stopping': new ChatApiError('unavailable', 'this peer is shutting down: reconnect to another'),
};

/** Server stream of live events; the subscription goes when the client cancels. */
function events(backend: ChatBackend, streams: OpenStreams): grpc.handleServerStreamingCall<object, object> {
  return (call) => {
    let unsubscribe: Unsubscribe | null = null;
    const stop = () => ender.finish(endings['peer-stopping']);
    const ender = streamEnder(call, backend.log, () => {
      unsubscribe?.();
      streams.delete(stop);
    });
    streams.add(stop);
    call.on('cancelled', () => ender.finish());
    const write = batchedWriter<object>(call);
    const listener = (event: ChatEvent): void => {
      if (ender.done) return;
      if (event.type === 'ended') return ender.finish(endings[event.reason]);
      if (call.writableLength > maxBufferedEvents) return ender.finish(new ChatApiError('unavailable', 'the event stream fell behind: subscribe again'));
      write(wireEvent(event));
    };
    if (call.request instanceof UndecodableRequest) return ender.finish(call.request.error());
    withSession(backend, call.metadata, (api, info) => api.subscribe(listener, readOptions(null, info))).then(
      (unsub) => (ender.done ? unsub() : (unsubscribe = unsub)),
      (err: unknown) => ender.finish(err),
    );
  };
}

/**
 * Bidirectional stream of sends: authenticated once when it opens, each request answered once
 * it is applied (in any order, carrying its RequestId), each failure answered in its reply.
 */
function sendStream(backend: ChatBackend, streams: OpenStreams): grpc.handleBidiStreamingCall<SendDirectRequest, object> {
  return (call) => {
    let inFlight = 0;
    let inputEnded = false;
    const stop = () => ender.finish(endings['peer-stopping']);
    const ender = streamEnder(call, backend.log, () => streams.delete(stop));
    streams.add(stop);
    call.on('cancelled', () => ender.finish());
    const write = batchedWriter<object>(call);
    const settle = () => {
      if (inFlight < maxInFlightPerStream) call.resume();
      if (inputEnded && inFlight === 0) ender.finish();
    };
    const accept = (api: ChatApi) => {
      call.on('data', (request: SendDirectRequest | UndecodableRequest) => {
        if (request instanceof UndecodableRequest) return ender.finish(request.error()); // no request id to answer it by
        if (++inFlight >= maxInFlightPerStream) call.pause();
        void sendOne(backend, api, request).then((reply) => {
          inFlight--;
          if (!ender.done) write(reply);
          settle();
        });
      });
      call.on('end', () => {
        inputEnded = true;
        settle();
      });
    };
    // Requests wait in the stream's buffer until the caller is known ('data' is not listened to yet).
    withSession(backend, call.metadata, async (api, info) => {
      await api.whoami({ minIndex: info.minIndex });
      return api;
    }).then(accept, (err: unknown) => ender.finish(err));
  };
}

async function sendOne(backend: ChatBackend, api: ChatApi, request: SendDirectRequest): Promise<object> {
  try {
    const result = await api.sendDirect(request.to, request.text, { request: requestIdOf(request.request) });
    return { ...writeReply(result), request: request.request };
  } catch (err) {
    const e = toApiError(err);
    return failedReply(request.request, backend.peer.appliedIndex, e.code, e.message);
  }
}
