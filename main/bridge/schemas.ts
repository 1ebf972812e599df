// What each bridge method accepts, checked before anything reaches the peer: the renderer is
// trusted code, but a bug there (or a page that got hold of the socket) must meet a clear
// 'invalid-argument', never a half-understood call. Positional arguments may be null where
// they are optional: JSON turns `undefined` inside an array into null.
import { z } from 'zod';
import type { BridgeMethod } from '../../common/bridge.js';

const text = z.string({ error: 'must be text' });
const count = z.number({ error: 'must be a number' }).int('must be a whole number').min(0, 'must be ≥ 0');
const index = count.optional();

const requestId = z.strictObject({ clientId: text, seq: z.number({ error: 'must be a number' }).int('must be a whole number') });
const writeOptions = z.strictObject({ request: requestId.optional(), minIndex: index });
const readOptions = z.strictObject({ minIndex: index, linearizable: z.boolean({ error: 'must be true or false' }).optional() });
const pageOptions = readOptions.extend({ limit: count.optional(), cursor: text.optional() });
const markReadOptions = writeOptions.extend({ with: text.optional(), upTo: count.optional() });
const credentials = z.union([
  z.strictObject({ token: text }),
  z.strictObject({ username: text, password: text }),
], { error: 'must be { token } or { username, password } or null' }).nullable();
const messageIds = z.array(count, { error: 'must be a list of message ids' }).max(1_000, 'at most 1000 ids');

/** One argument: its name (for error messages), its schema, and whether it may be left out. */
interface Arg {
  readonly name: string;
  readonly schema: z.ZodType;
  readonly optional?: boolean;
}

const req = (name: string, schema: z.ZodType): Arg => ({ name, schema });
const opt = (name: string, schema: z.ZodType): Arg => ({ name, schema, optional: true });

const write = opt('options', writeOptions);
const read = opt('options', readOptions);
const paged = opt('options', pageOptions);

export const methodArgs: Record<BridgeMethod, readonly Arg[]> = {
  register: [req('username', text), req('password', text), write],
  login: [req('username', text), req('password', text), write],
  useCredentials: [req('credentials', credentials)],
  whoami: [read],
  logout: [write],
  deleteAccount: [write],
  listAccounts: [req('pattern', text), paged],
  sendDirect: [req('to', text), req('text', text), write],
  readUnread: [req('count', count), opt('from', text), write],
  history: [req('withUser', text), paged],
  unread: [read],
  conversations: [paged],
  markRead: [opt('options', markReadOptions)],
  deleteMessages: [req('ids', messageIds), write],
  channels: [paged],
  createChannel: [req('name', text), write],
  joinChannel: [req('name', text), write],
  leaveChannel: [req('name', text), write],
  postChannel: [req('name', text), req('text', text), write],
  channelHistory: [req('name', text), paged],
  status: [],
  transferLeadership: [opt('to', text)],
  leaveGroup: [],
  removeMember: [req('id', text)],
  hostState: [],
  discoverGroups: [],
  createGroup: [req('name', text)],
  joinGroup: [req('inviteCode', text), opt('address', text)],
  inviteCode: [],
  subscribe: [read],
  unsubscribe: [req('subscription', count)],
};

/** The envelope of every request; `args` is checked per method afterwards. */
export const requestSchema = z.object({
  id: z.number().int().min(0),
  method: z.string().max(64),
  args: z.array(z.unknown()).max(8).default([]),
});

/**
 * The arguments, checked and with null optional ones turned into undefined; or the sentence
 * that says what is wrong with them.
 */
export function checkArgs(method: BridgeMethod, args: readonly unknown[]): { ok: true; args: unknown[] } | { ok: false; message: string } {
  const spec = methodArgs[method];
  if (args.length > spec.length) return { ok: false, message: `${method} takes at most ${spec.length} argument${spec.length === 1 ? '' : 's'} (got ${args.length})` };
  const checked: unknown[] = [];
  for (const [i, arg] of spec.entries()) {
    const value = args[i] ?? undefined;
    if (value === undefined && (arg.optional === true || arg.schema.safeParse(null).success)) {
      checked.push(arg.optional === true ? undefined : null);
      continue;
    }
    if (value === undefined) return { ok: false, message: `${method} needs its ${arg.name} (argument ${i + 1})` };
    const parsed = arg.schema.safeParse(value);
    if (!parsed.success) return { ok: false, message: `${method}: ${arg.name}${describe(parsed.error)}` };
    checked.push(parsed.data);
  }
  return { ok: true, args: checked };
}

/** " must be text", ".limit must be a number": to follow the argument's name. */
function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return ' is not valid';
  const path = issue.path.map((p) => `.${String(p)}`).join('');
  const message = issue.code === 'unrecognized_keys' ? `has unknown field(s) ${issue.keys.join(', ')}` : issue.message;
  return `${path} ${message}`;
}
