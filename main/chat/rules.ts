// Input rules shared by prepare (fail fast, before proposing) and apply (an entry is data from
// another peer: it is checked again, deterministically).
import { ChatError } from './errors.js';

export const maxUsernameLength = 32;
export const minPasswordLength = 8;
/** Bounds the scrypt work one login or sign-up can cause. */
export const maxPasswordLength = 1024;
export const maxMessageLength = 16_000;
export const maxDeleteBatch = 1000;
export const maxPageSize = 500;
export const defaultPageSize = 50;

const namePattern = /^[A-Za-z0-9_.-]{1,32}$/;

export function checkUsername(username: string): void {
  if (!namePattern.test(username)) {
    throw new ChatError('invalid-username', `a username is 1–${maxUsernameLength} characters of A–Z, a–z, 0–9, "_", "." and "-"`);
  }
}

export function checkPassword(password: string): void {
  const length = codePoints(password);
  if (length < minPasswordLength) throw new ChatError('invalid-password', `a password has at least ${minPasswordLength} characters`);
  if (length > maxPasswordLength) throw new ChatError('invalid-password', `a password has at most ${maxPasswordLength} characters`);
}

export function checkMessageText(text: string): void {
  if (text.length === 0) throw new ChatError('invalid-message', 'a message cannot be empty');
  // Code points never outnumber UTF-16 units, so only long strings need counting.
  if (text.length > maxMessageLength && codePoints(text) > maxMessageLength) {
    throw new ChatError('invalid-message', `a message has at most ${maxMessageLength.toLocaleString('en')} characters`);
  }
}

export function checkRecipient(actor: number, to: number): void {
  if (to === actor) throw new ChatError('invalid-argument', 'you cannot send a direct message to yourself');
}

/** Channel names follow the username rules; a leading "#" is not part of the name. */
export function checkChannelName(name: string): void {
  if (!namePattern.test(name)) {
    throw new ChatError('invalid-channel-name', `a channel name is 1–${maxUsernameLength} characters of A–Z, a–z, 0–9, "_", "." and "-" (without "#")`);
  }
}

export function checkPageSize(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > maxPageSize) {
    throw new ChatError('invalid-argument', `a page holds 1–${maxPageSize} items`);
  }
}

/** Case-insensitive key for usernames and channel names (ASCII only, so locale-free). */
export function nameKey(name: string): string {
  return name.toLowerCase();
}

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}
