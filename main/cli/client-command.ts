// `quorum-chat client`: one ChatService call per invocation, against any peer (writes are
// forwarded to the leader by the peer; reads come from that peer's replica, so a write made
// through another peer a moment ago shows with --linearizable or --min-index). Options of
// `client` may stand before or after the command. Writes carry a request id (--request-id CLIENT:SEQ, random by default) so that a
// write that failed can be retried with the same id and is still applied exactly once.
import { Command } from 'commander';
import {
  ChatClient, parseRequestId, randomClientId,
  type Account, type Credentials, type Message, type PageOptions, type ReadOptions, type RequestId, type WriteReply,
} from './chat-client.js';
import { CliError, positiveInt, printResult, table } from './output.js';
import { promptPassword } from './password-prompt.js';

interface ClientFlags {
  readonly peer: string;
  readonly json?: boolean;
  readonly user?: string;
  readonly password?: string;
  readonly token?: string;
  readonly requestId?: string;
  readonly minIndex?: number;
  readonly linearizable?: boolean;
  readonly timeout: number;
}

interface Context {
  readonly client: ChatClient;
  readonly flags: ClientFlags;
  /** The request id of this invocation's write. */
  readonly request: RequestId;
  readonly read: ReadOptions;
  print(value: unknown, human: () => string): void;
}

/** Whether a command acts as a user (who must then be known) or not (register, login). */
type Auth = 'none' | 'required';

export function clientCommand(): Command {
  const client = new Command('client')
    .description('talk to the group through any peer (writes reach the leader through it)')
    .requiredOption('--peer <host:port>', 'the peer to call')
    .option('--json', 'print one JSON document')
    .option('--user <name>', 'act as this user (password: --password, QUORUM_CHAT_PASSWORD or a prompt)')
    .option('--password <password>', 'the user\'s password (visible in the process list: prefer the variable or the prompt)')
    .option('--token <token>', 'a session token from `login` (or QUORUM_CHAT_TOKEN)')
    .option('--request-id <client:seq>', 'request id of a write, to retry it exactly once (default: random client, seq 1)')
    .option('--min-index <n>', 'reads wait until the peer has applied this index (an appliedIndex printed earlier)', positiveInt)
    .option('--linearizable', 'reads reflect every write committed so far (asks the leader; needs a quorum)')
    .option('--timeout <seconds>', 'give up on a call after this long', positiveInt, 10);
  for (const sub of subcommands()) client.addCommand(sub);
  return client;
}

function subcommands(): Command[] {
  return [
    leaf('register', 'create an account (--user, and a password)', 'none', async (ctx) => {
      const user = requireUser(ctx.flags);
      const reply = await ctx.client.register(ctx.request, user, await password(ctx.flags));
      ctx.print(reply, () => `registered ${reply.account.username} (account ${reply.account.id})`);
    }),
    leaf('login', 'log in (--user, and a password) and print a session token valid on every peer', 'none', async (ctx) => {
      const user = requireUser(ctx.flags);
      const reply = await ctx.client.login(ctx.request, user, await password(ctx.flags));
      ctx.print(reply, () => `logged in as ${reply.account.username}, ${reply.unread} unread\n` +
        `export QUORUM_CHAT_TOKEN=${reply.token}`);
    }),
    leaf('logout', 'end the session of --token', 'required', async (ctx) => {
      const reply = await ctx.client.logout(ctx.request);
      ctx.print(written(reply, { count: reply.count }), () => 'logged out');
    }),
    leaf('accounts', 'list accounts whose name matches PATTERN (* and ?)', 'required', async (ctx, [pattern], opts) => {
      const reply = await ctx.client.listAccounts(pattern ?? '*', page(opts), ctx.read);
      ctx.print({ ...reply, next: orNull(reply.next) }, () => describeAccounts(reply.accounts, reply.next));
    }).argument('[pattern]', 'wildcard pattern', '*')
      .option('--limit <n>', 'at most this many', positiveInt)
      .option('--after <cursor>', 'the page after this cursor (printed as "next")'),
    leaf('send', 'send a direct message', 'required', async (ctx, [to, text]) => {
      const reply = await ctx.client.send(ctx.request, to as string, text as string);
      ctx.print(written(reply, { messageId: reply.messageId }), () => describeWrite(reply, `sent message ${reply.messageId} to ${to}`));
    }).argument('<to>', 'recipient username').argument('<text>', 'message text'),
    leaf('read', 'read (and mark read) the oldest unread messages', 'required', async (ctx, _args, opts) => {
      const reply = await ctx.client.readUnread(ctx.request, opts.count as number | undefined);
      ctx.print(messagesJson(reply.appliedIndex, reply.messages), () => describeMessages(reply.messages, false) || 'no unread messages');
    }).option('--count <n>', 'at most this many (default 10)', positiveInt),
    leaf('history', 'show the conversation with a user, newest page', 'required', async (ctx, [withUser], opts) => {
      const reply = await ctx.client.history(withUser as string, page(opts), ctx.read);
      ctx.print({ ...messagesJson(reply.appliedIndex, reply.messages), next: orNull(reply.next) },
        () => (describeMessages(reply.messages, true) || `no messages with ${withUser}`) + more(reply.next));
    }).argument('<with>', 'the other user')
      .option('--limit <n>', 'at most this many', positiveInt)
      .option('--after <cursor>', 'the page after this cursor (older messages)'),
    leaf('unread', 'count unread messages per conversation', 'required', async (ctx) => {
      const reply = await ctx.client.unread(ctx.read);
      ctx.print(reply, () => [`${reply.total} unread`, ...reply.conversations.map((c) => `  ${c.with}: ${c.unread}`)].join('\n'));
    }),
    leaf('delete', 'delete messages of yours', 'required', async (ctx, ids) => {
      const reply = await ctx.client.deleteMessages(ctx.request, ids.map(messageId));
      ctx.print(written(reply, { deleted: reply.count }), () => describeWrite(reply, `deleted ${reply.count} message(s)`));
    }).argument('<message-id...>', 'ids of messages you sent'),
    leaf('delete-account', 'delete your account', 'required', async (ctx) => {
      const reply = await ctx.client.deleteAccount(ctx.request);
      ctx.print(written(reply, { deletedMessages: reply.count }), () => describeWrite(reply, 'account deleted'));
    }),
    leaf('channels', 'list the group\'s channels', 'required', async (ctx, _args, opts) => {
      const reply = await ctx.client.channels(page(opts), ctx.read);
      ctx.print({ ...reply, next: orNull(reply.next) }, () => table([['CHANNEL', 'MEMBERS', 'JOINED'],
        ...reply.channels.map((c) => [`#${c.name}`, String(c.members), c.joined ? 'yes' : 'no'])]) + more(reply.next));
    }).option('--limit <n>', 'at most this many', positiveInt)
      .option('--after <cursor>', 'the page after this cursor'),
    leaf('post', 'post to a channel', 'required', async (ctx, [channel, text]) => {
      const reply = await ctx.client.post(ctx.request, channel as string, text as string);
      ctx.print(written(reply, { messageId: reply.messageId }), () => describeWrite(reply, `posted message ${reply.messageId} to #${(channel as string).replace(/^#/, '')}`));
    }).argument('<channel>', 'channel name (with or without #)').argument('<text>', 'message text'),
  ];
}

type Action = (ctx: Context, args: string[], opts: Record<string, unknown>) => Promise<void>;

/** A client subcommand: connects with the right credentials, runs `action`, always closes. */
function leaf(name: string, description: string, auth: Auth, action: Action): Command {
  return new Command(name).description(description).action(async (...params: unknown[]) => {
    // commander passes the arguments (a variadic one as an array), then options, then the command.
    const cmd = params[params.length - 1] as Command;
    const args = (params.slice(0, -2) as (string | string[])[]).flat();
    const flags = cmd.optsWithGlobals<ClientFlags>();
    const client = new ChatClient(flags.peer, { deadlineMs: flags.timeout * 1000, credentials: await credentials(flags, auth) });
    try {
      await action(context(client, flags), args, cmd.opts());
    } finally {
      client.close();
    }
  });
}

function context(client: ChatClient, flags: ClientFlags): Context {
  return {
    client, flags,
    request: flags.requestId === undefined ? { clientId: randomClientId(), seq: 1 } : parseRequestId(flags.requestId),
    read: { minIndex: flags.minIndex, linearizable: flags.linearizable },
    print: (value, human) => printResult(flags.json === true, value, human),
  };
}

async function credentials(flags: ClientFlags, auth: Auth): Promise<Credentials | null> {
  if (auth === 'none') return null;
  const token = flags.token ?? process.env.QUORUM_CHAT_TOKEN;
  if (token !== undefined && token !== '') return { token };
  if (flags.user !== undefined) return { username: flags.user, password: await password(flags) };
  throw new CliError('who are you? give --user NAME (and a password) or --token TOKEN (from `login`)');
}

function requireUser(flags: ClientFlags): string {
  if (flags.user === undefined) throw new CliError('give the account name with --user NAME');
  return flags.user;
}

async function password(flags: ClientFlags): Promise<string> {
  return flags.password ?? process.env.QUORUM_CHAT_PASSWORD ?? await promptPassword(`password for ${flags.user ?? '?'}: `);
}

function page(opts: Record<string, unknown>): PageOptions {
  return { limit: opts.limit as number | undefined, cursor: opts.after as string | undefined };
}

function messageId(text: string): number {
  const id = Number(text);
  if (!/^[1-9]\d*$/.test(text) || !Number.isSafeInteger(id)) throw new CliError(`"${text}" is not a message id`);
  return id;
}

function describeWrite(reply: WriteReply, done: string): string {
  return reply.duplicate ? `${done} (already applied earlier under this request id)` : done;
}

function describeAccounts(accounts: readonly Account[], next: string): string {
  if (accounts.length === 0) return 'no matching accounts';
  return accounts.map((a) => `${a.username}  (account ${a.id}, since ${new Date(a.createdAt).toISOString()})`).join('\n') + more(next);
}

/** A write's JSON: where it was applied, whether it was a retry, and what it made or changed. */
function written(reply: WriteReply, result: Record<string, number>): object {
  return { appliedIndex: reply.appliedIndex, duplicate: reply.duplicate, ...result };
}

/** Messages in JSON with nulls where the wire has empty strings (as ChatApi has them). */
function messagesJson(appliedIndex: number, messages: readonly Message[]): object {
  return {
    appliedIndex,
    messages: messages.map((m) => ({ ...m, from: orNull(m.from), to: orNull(m.to), channel: orNull(m.channel) })),
  };
}

function orNull(text: string): string | null {
  return text === '' ? null : text;
}

export function describeMessages(messages: readonly Message[], showUnread: boolean): string {
  return messages.map((m) => {
    const where = m.channel !== '' ? `#${m.channel}` : m.to;
    const time = new Date(m.sentAt).toISOString().replace('T', ' ').slice(0, 19);
    const unread = showUnread && m.unread ? ' (unread)' : '';
    return `[${m.id}] ${time} ${m.from || '(deleted account)'} → ${where}${unread}: ${m.text}`;
  }).join('\n');
}

function more(next: string): string {
  return next === '' ? '' : `\nmore: --after ${next}`;
}
