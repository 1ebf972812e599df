// Preparing a command, on the peer that accepts it and BEFORE it is proposed: everything that
// is not deterministic (the clock, the password salt and scrypt, session tokens) happens here,
// once, and travels inside the entry. Apply (machine.ts) never reads a clock or a random source.
import { parseCommand, type Command } from './commands.js';
import { ChatError } from './errors.js';
import { hashPassword, type ScryptParams } from './password.js';
import { checkChannelName, checkMessageText, checkPassword, checkRecipient, checkUsername } from './rules.js';
import { hashToken, isSessionToken } from './tokens.js';

export { newSessionToken } from './tokens.js';

type WithoutHeader<T> = T extends unknown ? Omit<T, 'c' | 's' | 'at'> : never;

/**
 * A command as a client asks for it: createAccount carries the password and login the new
 * token (from newSessionToken(), kept by the caller to hand to the user), not their hashes.
 */
export type ChatRequest =
  | WithoutHeader<Exclude<Command, { t: 'createAccount' | 'login' | 'pinMember' | 'adoptRules' }>>
  | { readonly t: 'createAccount'; readonly username: string; readonly password: string }
  | { readonly t: 'login'; readonly account: number; readonly token: string };

/** The client session a request belongs to (see sessions.ts). */
export interface ClientRef {
  readonly clientId: string;
  readonly seq: number;
}

export interface PrepareOptions {
  readonly now?: () => number;
  readonly scrypt?: ScryptParams;
}

/** Validates a request and completes it into a command ready to encode and propose. */
export async function prepareCommand(request: ChatRequest, client: ClientRef, options: PrepareOptions = {}): Promise<Command> {
  const header = { c: client.clientId, s: client.seq, at: (options.now ?? Date.now)() };
  if (request.t === 'createAccount') {
    checkUsername(request.username);
    checkPassword(request.password);
    const hash = await hashPassword(request.password, options.scrypt);
    return parseCommand({ ...header, t: 'createAccount', username: request.username, hash });
  }
  if (request.t === 'login') {
    if (!isSessionToken(request.token)) throw new ChatError('invalid-argument', 'a session token is 43 base64url characters');
    return parseCommand({ ...header, t: 'login', account: request.account, tokenHash: hashToken(request.token) });
  }
  const type = (request as { t: string }).t;
  if (type === 'pinMember' || type === 'adoptRules') throw new ChatError('invalid-argument', `${type} is proposed by peers, not clients`);
  const command = parseCommand({ ...header, ...normalize(request) });
  checkRules(command);
  return command;
}

/** The rules apply() checks again; here they fail fast, before anything is proposed. */
function checkRules(command: Command): void {
  if (command.t === 'sendDirect' || command.t === 'postChannel') checkMessageText(command.text);
  if (command.t === 'sendDirect') checkRecipient(command.actor, command.to);
  if (command.t === 'createChannel') checkChannelName(command.name);
}

function normalize(request: ChatRequest): ChatRequest {
  if (request.t === 'createChannel' && request.name.startsWith('#')) return { ...request, name: request.name.slice(1) };
  return request;
}
