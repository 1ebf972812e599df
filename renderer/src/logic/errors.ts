// Friendly text for ChatApi errors.
import { isChatApiError } from '../../../common/chat-api.js';

export interface ErrorContext {
  readonly username?: string;
  readonly channel?: string;
  readonly to?: string;
}

export function friendlyError(err: unknown, ctx: ErrorContext = {}): string {
  if (!isChatApiError(err)) return err instanceof Error ? err.message : 'Something went wrong.';
  const user = ctx.username ?? ctx.to;
  switch (err.code) {
    case 'wrong-password': return user ? `Wrong password for ${user}` : 'Wrong password';
    case 'username-taken': return user ? `The name ${user} is taken; pick another one` : 'That name is taken; pick another one';
    case 'invalid-username': return 'Names are 1–32 letters, digits, “_”, “.” or “-”';
    case 'invalid-password': return 'That password is not allowed (too short or too long)';
    case 'invalid-message': return 'That message cannot be sent (empty or too long)';
    case 'invalid-channel-name': return 'Channel names are 1–32 of A–Z a–z 0–9 _ . -';
    case 'channel-exists': return ctx.channel ? `#${ctx.channel} already exists` : 'That channel already exists';
    case 'already-member': return 'You are already a member';
    case 'not-member': return ctx.channel ? `Join #${ctx.channel} first` : 'You are not a member';
    case 'no-such-user': return user ? `There is no account named ${user}` : 'No such account';
    case 'no-such-channel': return ctx.channel ? `There is no channel #${ctx.channel}` : 'No such channel';
    case 'no-such-message': return 'That message no longer exists';
    case 'not-logged-in': return 'Please log in again';
    case 'bad-token': return 'Your session has ended; please log in again';
    case 'forbidden': return 'You are not allowed to do that';
    case 'request-expired': return 'Could not tell whether this message was sent (its retry came too late): check the conversation before sending it again';
    case 'no-quorum': return 'The group has no quorum right now; try again when more peers are back';
    case 'timeout': return 'The group did not answer in time; try again';
    case 'unavailable': return 'Your peer is not reachable right now';
    case 'invalid-argument': return err.message || 'Invalid input';
    case 'internal': return `Internal error: ${err.message}`;
    default: return err.message;
  }
}
