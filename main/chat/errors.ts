// The typed error of the chat layer: a stable code for programs, a sentence for people.
// Apply turns these into stored results; queries and prepare throw them.

export type ChatErrorCode =
  | 'malformed-command'
  | 'invalid-argument'
  | 'invalid-username'
  | 'username-taken'
  | 'invalid-password'
  | 'invalid-message'
  | 'invalid-channel-name'
  | 'channel-exists'
  | 'unknown-account'
  | 'unknown-recipient'
  | 'unknown-message'
  | 'unknown-channel'
  | 'already-member'
  | 'not-member'
  | 'forbidden'
  | 'session-expired'
  | 'bad-login';

export class ChatError extends Error {
  constructor(readonly code: ChatErrorCode, message: string) {
    super(message);
    this.name = 'ChatError';
  }
}
