// Every failure a ChatApi call can meet, turned into one ChatApiError with a stable code: chat
// refusals (from prepare, queries or apply), the peer's (no quorum, timeouts) and our own.
import { ChatApiError, type ChatApiErrorCode } from '../../common/chat-api.js';
import { ChatError, type ChatErrorCode } from '../chat/errors.js';
import { PeerError, type PeerErrorCode } from '../peer/errors.js';

/** The chat layer speaks in ids; the API speaks in names, hence "unknown-*" → "no-such-*". */
const fromChat: Record<ChatErrorCode, ChatApiErrorCode> = {
  'malformed-command': 'invalid-argument',
  'invalid-argument': 'invalid-argument',
  'invalid-username': 'invalid-username',
  'username-taken': 'username-taken',
  'invalid-password': 'invalid-password',
  'invalid-message': 'invalid-message',
  'invalid-channel-name': 'invalid-channel-name',
  'channel-exists': 'channel-exists',
  'unknown-account': 'no-such-user',
  'unknown-recipient': 'no-such-user',
  'unknown-message': 'no-such-message',
  'unknown-channel': 'no-such-channel',
  'already-member': 'already-member',
  'not-member': 'not-member',
  forbidden: 'forbidden',
  'session-expired': 'request-expired',
  'bad-login': 'wrong-password',
};

const fromPeer: Record<PeerErrorCode, ChatApiErrorCode> = {
  'no-quorum': 'no-quorum',
  timeout: 'timeout',
  stopped: 'unavailable',
};

export function toApiError(err: unknown): ChatApiError {
  if (err instanceof ChatApiError) return err;
  if (err instanceof ChatError) return new ChatApiError(fromChat[err.code], err.message);
  if (err instanceof PeerError) return new ChatApiError(fromPeer[err.code], err.message);
  const message = err instanceof Error ? err.message : String(err);
  return new ChatApiError('internal', `internal error: ${message}`);
}

/** A refusal stored as a command's result (the entry was applied, the command refused). */
export function refusal(code: ChatErrorCode, message: string): ChatApiError {
  return new ChatApiError(fromChat[code], message);
}

export function invalid(message: string): ChatApiError {
  return new ChatApiError('invalid-argument', message);
}

/** Client input quoted in an error: one line, and short (it travels in a gRPC trailer). */
export function shown(input: string): string {
  const line = [...input.slice(0, 64)].map((c) => (c < ' ' || c === '\u007f' ? '?' : c)).join('');
  return input.length > 64 ? `${line}…` : line;
}
