// The command vocabulary and its wire form. An entry's data is the UTF-8 JSON of one Command;
// decode() checks its shape strictly, so a malformed entry becomes an error result, never a crash.
import { z } from 'zod';
import { ChatError, type ChatErrorCode } from './errors.js';
import { maxDeleteBatch } from './rules.js';

const id = z.number().int().positive();
/** Shape bounds only; the exact rules (rules.ts) give specific error codes. */
const text = z.string().max(4 * 16_000);
const name = z.string().max(256);
/** SHA-256 of a session token, lower-case hex (tokens.ts); the token itself never enters the log. */
const tokenHash = z.string().regex(/^[0-9a-f]{64}$/, 'a token hash is 64 lower-case hex digits');
const header = {
  /** Client session id; with `s`, makes the command exactly-once (Raft thesis §6.3). */
  c: z.string().min(1).max(64),
  s: z.number().int().positive(),
  /** Milliseconds since the epoch, read by the peer that accepted the command. */
  at: z.number().int().nonnegative(),
};

export const commandSchema = z.discriminatedUnion('t', [
  z.strictObject({ ...header, t: z.literal('createAccount'), username: name, hash: z.string().max(512) }),
  z.strictObject({ ...header, t: z.literal('deleteAccount'), actor: id, account: id }),
  z.strictObject({ ...header, t: z.literal('login'), account: id, tokenHash }),
  z.strictObject({ ...header, t: z.literal('logout'), actor: id, tokenHash }),
  z.strictObject({ ...header, t: z.literal('sendDirect'), actor: id, to: id, text }),
  z.strictObject({ ...header, t: z.literal('markRead'), actor: id, peer: id.optional(), upTo: id }),
  z.strictObject({ ...header, t: z.literal('deleteMessages'), actor: id, ids: z.array(id).min(1).max(maxDeleteBatch) }),
  z.strictObject({ ...header, t: z.literal('createChannel'), actor: id, name }),
  z.strictObject({ ...header, t: z.literal('joinChannel'), actor: id, channel: id }),
  z.strictObject({ ...header, t: z.literal('leaveChannel'), actor: id, channel: id }),
  z.strictObject({ ...header, t: z.literal('postChannel'), actor: id, channel: id, text }),
  /** A member pins its own certificate (members.ts); proposed by peers, never by chat clients. */
  z.strictObject({ ...header, t: z.literal('pinMember'), node: z.string().min(1).max(256), context: z.string().min(1).max(4096) }),
  /** The group applies its log by these rules from here on (sessions.ts); proposed by a leader. */
  z.strictObject({ ...header, t: z.literal('adoptRules'), version: z.number().int().positive() }),
]);

export type Command = z.infer<typeof commandSchema>;
export type CommandType = Command['t'];
export type CommandOf<T extends CommandType> = Extract<Command, { t: T }>;

/** What each command returns when it succeeds. */
export interface CommandValues {
  createAccount: { accountId: number };
  /** How many messages addressed to the account went with it. */
  deleteAccount: { deletedMessages: number };
  login: Record<string, never>;
  /** 1, or 0 when the session had already ended. */
  logout: { ended: number };
  sendDirect: { messageId: number };
  /** `senders`: whose messages were marked (ascending), so that they can be told (read receipts). */
  markRead: { marked: number; senders: number[] };
  /** Where the deleted messages were, so that everyone who could see them can be told. */
  deleteMessages: { deleted: number; direct: { to: number; ids: number[] }[]; posts: { channel: number; ids: number[] }[] };
  createChannel: { channelId: number };
  joinChannel: Record<string, never>;
  leaveChannel: Record<string, never>;
  postChannel: { messageId: number };
  /** False when the node already had a row (first writer wins). */
  pinMember: { pinned: boolean };
  /** The rules in force after it (never lower than before). */
  adoptRules: { version: number };
}

export type ChatResult<T extends CommandType = CommandType> =
  | { readonly ok: true; readonly value: CommandValues[T] }
  | { readonly ok: false; readonly code: ChatErrorCode; readonly message: string };

export function encodeCommand(command: Command): Buffer {
  return Buffer.from(JSON.stringify(command), 'utf8');
}

/** Parses and shape-checks an entry's data; throws ChatError('malformed-command'). */
export function decodeCommand(data: Uint8Array): Command {
  let value: unknown;
  try {
    value = JSON.parse(utf8(data));
  } catch {
    throw new ChatError('malformed-command', 'the command is not valid JSON');
  }
  return parseCommand(value);
}

/** Shape-checks a command object; throws ChatError('malformed-command'). */
export function parseCommand(value: unknown): Command {
  const parsed = commandSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue === undefined || issue.path.length === 0 ? '' : ` at "${issue.path.join('.')}"`;
  throw new ChatError('malformed-command', `malformed command${where}: ${issue?.message ?? 'invalid'}`);
}

export function errorResult(err: ChatError): ChatResult {
  return { ok: false, code: err.code, message: err.message };
}

/** The client id and sequence number of a malformed entry, if they can still be read. */
export function peekHeader(data: Uint8Array): { clientId: string | null; seq: number | null } {
  try {
    const value = JSON.parse(utf8(data)) as { c?: unknown; s?: unknown };
    return { clientId: typeof value.c === 'string' ? value.c : null, seq: typeof value.s === 'number' ? value.s : null };
  } catch {
    return { clientId: null, seq: null };
  }
}

function utf8(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
}
