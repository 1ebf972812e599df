// What each command does to chat.db. Handlers run inside the apply transaction, read nothing but
// the command and the database (no clock, no randomness, no counters of their own) and throw
// ChatError for a command that must be refused.
import type { Db } from '../storage/sqlite.js';
import type { CommandOf, CommandType, CommandValues } from './commands.js';
import { ChatError } from './errors.js';
import { MemberRows } from './members.js';
import { isPasswordHash } from './password.js';
import { latestRules } from './sessions.js';
import { checkChannelName, checkMessageText, checkRecipient, checkUsername, nameKey } from './rules.js';

/** #general is created by the first migration, so it has the first channel id everywhere. */
export const generalChannelId = 1;

/**
 * Commands whose handler makes every check before its one write statement: a refusal has written
 * nothing, and SQLite makes one statement atomic by itself, so these run without the savepoint
 * that undoes a refused command's writes (two statements fewer per command: 3 of the 16–25 µs of
 * CPU an applied message costs, measured). A handler listed here must keep that shape;
 * test/chat/apply.test.ts counts the writes of each.
 */
export const singleWriteCommands: ReadonlySet<CommandType> = new Set<CommandType>([
  'pinMember', 'adoptRules', 'login', 'logout', 'sendDirect', 'markRead', 'deleteMessages', 'joinChannel', 'leaveChannel', 'postChannel',
]);

/** `index`: the log index of the entry being applied. */
export type HandlerMap = { readonly [K in CommandType]: (cmd: CommandOf<K>, index: number) => CommandValues[K] };
type Cmd<K extends CommandType> = CommandOf<K>;
type Value<K extends CommandType> = CommandValues[K];

export class Handlers implements HandlerMap {
  private readonly s;
  private readonly members: MemberRows;

  constructor(db: Db) {
    this.s = prepareStatements(db);
    this.members = new MemberRows(db);
  }

  /** Fills a missing members row only: a pin is never overwritten by this command. */
  pinMember(cmd: Cmd<'pinMember'>, index: number): Value<'pinMember'> {
    return { pinned: this.members.insertIfAbsent(cmd.node, cmd.context, index) };
  }

  /** Raises the rules in force (never lowers them); a version this code does not know is refused. */
  adoptRules(cmd: Cmd<'adoptRules'>): Value<'adoptRules'> {
    if (cmd.version > latestRules) throw new ChatError('invalid-argument', `rules ${cmd.version} are newer than this peer's (${latestRules})`);
    this.s.raiseRules.run(cmd.version);
    return { version: this.s.rules.get() as number };
  }

  createAccount(cmd: Cmd<'createAccount'>): Value<'createAccount'> {
    checkUsername(cmd.username);
    if (!isPasswordHash(cmd.hash)) throw new ChatError('malformed-command', 'the password hash is not a valid scrypt hash');
    const key = nameKey(cmd.username);
    if (this.s.usernameTaken.get(key) !== undefined) throw new ChatError('username-taken', `the username "${cmd.username}" is taken`);
    const accountId = Number(this.s.insertAccount.run(cmd.username, key, cmd.hash, cmd.at).lastInsertRowid);
    this.s.join.run(generalChannelId, accountId, cmd.at);
    return { accountId };
  }

  deleteAccount(cmd: Cmd<'deleteAccount'>): Value<'deleteAccount'> {
    this.requireActor(cmd.actor);
    if (cmd.account !== cmd.actor) throw new ChatError('forbidden', 'only the owner can delete an account');
    const deletedMessages = this.s.deleteReceived.run(cmd.account).changes;
    this.s.endAllSessions.run(cmd.account);
    this.s.leaveAll.run(cmd.account);
    this.s.forgetCreator.run(cmd.account);
    this.s.deleteAccount.run(cmd.account);
    return { deletedMessages };
  }

  login(cmd: Cmd<'login'>): Value<'login'> {
    // The password was checked by the accepting peer; the account may have gone since.
    this.requireActor(cmd.account);
    if (this.s.sessionExists.get(cmd.tokenHash) !== undefined) throw new ChatError('invalid-argument', 'this session token is already in use');
    this.s.insertSession.run(cmd.tokenHash, cmd.account, cmd.at);
    return {};
  }

  logout(cmd: Cmd<'logout'>): Value<'logout'> {
    this.requireActor(cmd.actor);
    return { ended: this.s.endSession.run(cmd.tokenHash, cmd.actor).changes };
  }

  sendDirect(cmd: Cmd<'sendDirect'>): Value<'sendDirect'> {
    // One statement for the usual case; otherwise the checks one by one, in their order.
    const bothExist = this.s.countAccounts.get(cmd.actor, cmd.to) === 2;
    if (!bothExist) this.requireActor(cmd.actor);
    checkMessageText(cmd.text);
    checkRecipient(cmd.actor, cmd.to);
    if (!bothExist && this.s.accountExists.get(cmd.to) === undefined) throw new ChatError('unknown-recipient', `account ${cmd.to} does not exist`);
    const [lo, hi] = ordered(cmd.actor, cmd.to);
    return { messageId: Number(this.s.insertDirect.run(cmd.actor, cmd.to, lo, hi, cmd.text, cmd.at).lastInsertRowid) };
  }

  markRead(cmd: Cmd<'markRead'>): Value<'markRead'> {
    this.requireActor(cmd.actor);
    if (cmd.upTo > (this.s.lastMessageId.get() ?? 0)) throw new ChatError('unknown-message', `message ${cmd.upTo} does not exist yet`);
    if (cmd.peer === undefined) {
      const senders = this.s.unreadSenders.all(cmd.actor, cmd.upTo);
      return { marked: this.s.markAllRead.run(cmd.actor, cmd.upTo).changes, senders };
    }
    // A deleted peer still has a conversation (its messages stay with their recipients).
    if (this.s.accountExists.get(cmd.peer) === undefined && this.s.conversationExists.get(...ordered(cmd.actor, cmd.peer)) === undefined) {
      throw new ChatError('unknown-account', `account ${cmd.peer} does not exist`);
    }
    const marked = this.s.markReadFrom.run(cmd.actor, cmd.peer, cmd.upTo).changes;
    return { marked, senders: marked > 0 ? [cmd.peer] : [] };
  }

  deleteMessages(cmd: Cmd<'deleteMessages'>): Value<'deleteMessages'> {
    this.requireActor(cmd.actor);
    if (new Set(cmd.ids).size !== cmd.ids.length) throw new ChatError('invalid-argument', 'a message id is listed twice');
    const ids = JSON.stringify(cmd.ids);
    const found = this.s.messagesOf.all(ids);
    for (const { id, sender } of found) {
      if (sender === null) throw new ChatError('unknown-message', `message ${id} does not exist`);
      if (sender !== cmd.actor) throw new ChatError('forbidden', `message ${id} is not yours: only its sender can delete it`);
    }
    return { deleted: this.s.deleteMessages.run(ids).changes, ...whereMessagesWere(found) };
  }

  createChannel(cmd: Cmd<'createChannel'>): Value<'createChannel'> {
    this.requireActor(cmd.actor);
    checkChannelName(cmd.name);
    const key = nameKey(cmd.name);
    if (this.s.channelNameTaken.get(key) !== undefined) throw new ChatError('channel-exists', `#${cmd.name} already exists`);
    const channelId = Number(this.s.insertChannel.run(cmd.name, key, cmd.actor, cmd.at).lastInsertRowid);
    this.s.join.run(channelId, cmd.actor, cmd.at);
    return { channelId };
  }

  joinChannel(cmd: Cmd<'joinChannel'>): Value<'joinChannel'> {
    this.requireActor(cmd.actor);
    this.requireChannel(cmd.channel);
    if (this.isMember(cmd.channel, cmd.actor)) throw new ChatError('already-member', `you are already in channel ${cmd.channel}`);
    this.s.join.run(cmd.channel, cmd.actor, cmd.at);
    return {};
  }

  leaveChannel(cmd: Cmd<'leaveChannel'>): Value<'leaveChannel'> {
    this.requireActor(cmd.actor);
    this.requireChannel(cmd.channel);
    if (!this.isMember(cmd.channel, cmd.actor)) throw new ChatError('not-member', `you are not in channel ${cmd.channel}`);
    this.s.leave.run(cmd.channel, cmd.actor);
    return {};
  }

  postChannel(cmd: Cmd<'postChannel'>): Value<'postChannel'> {
    this.requireActor(cmd.actor);
    checkMessageText(cmd.text);
    this.requireChannel(cmd.channel);
    if (!this.isMember(cmd.channel, cmd.actor)) throw new ChatError('not-member', `join channel ${cmd.channel} before posting to it`);
    return { messageId: Number(this.s.insertPost.run(cmd.actor, cmd.channel, cmd.text, cmd.at).lastInsertRowid) };
  }

  private requireActor(actor: number): void {
    if (this.s.accountExists.get(actor) === undefined) throw new ChatError('unknown-account', `account ${actor} does not exist`);
  }

  private requireChannel(channel: number): void {
    if (this.s.channelExists.get(channel) === undefined) throw new ChatError('unknown-channel', `channel ${channel} does not exist`);
  }

  private isMember(channel: number, account: number): boolean {
    return this.s.isMember.get(channel, account) !== undefined;
  }
}

type Placed = { id: number; recipient: number | null; channel: number | null };

/** Groups message ids by recipient (direct) and by channel (posts), in the order given. */
function whereMessagesWere(messages: readonly Placed[]): Pick<Value<'deleteMessages'>, 'direct' | 'posts'> {
  const direct = new Map<number, number[]>();
  const posts = new Map<number, number[]>();
  for (const m of messages) {
    const [groups, key] = m.recipient !== null ? [direct, m.recipient] : [posts, m.channel as number];
    const ids = groups.get(key);
    if (ids === undefined) groups.set(key, [m.id]);
    else ids.push(m.id);
  }
  return {
    direct: [...direct].map(([to, ids]) => ({ to, ids })),
    posts: [...posts].map(([channel, ids]) => ({ channel, ids })),
  };
}

/** The two ids of a direct conversation, smaller first. */
function ordered(a: number, b: number): [number, number] {
  return a < b ? [a, b] : [b, a];
}

function prepareStatements(db: Db) {
  const exists = (sql: string) => db.prepare<unknown[], number>(sql).pluck();
  return {
    accountExists: exists('SELECT 1 FROM accounts WHERE id = ?'),
    rules: db.prepare<[], number>('SELECT version FROM chat_rules').pluck(),
    raiseRules: db.prepare<[number]>('UPDATE chat_rules SET version = max(version, ?)'),
    countAccounts: db.prepare<[number, number], number>('SELECT count(*) FROM accounts WHERE id IN (?, ?)').pluck(),
    usernameTaken: exists('SELECT 1 FROM accounts WHERE username_key = ?'),
    channelExists: exists('SELECT 1 FROM channels WHERE id = ?'),
    channelNameTaken: exists('SELECT 1 FROM channels WHERE name_key = ?'),
    isMember: exists('SELECT 1 FROM channel_members WHERE channel_id = ? AND account_id = ?'),
    conversationExists: exists('SELECT 1 FROM messages WHERE conv_lo = ? AND conv_hi = ? AND recipient_id IS NOT NULL LIMIT 1'),
    lastMessageId: db.prepare<[], number>("SELECT seq FROM sqlite_sequence WHERE name = 'messages'").pluck(),
    insertAccount: db.prepare<[string, string, string, number]>(
      'INSERT INTO accounts (username, username_key, password_hash, created_at) VALUES (?, ?, ?, ?)'),
    deleteAccount: db.prepare<[number]>('DELETE FROM accounts WHERE id = ?'),
    sessionExists: exists('SELECT 1 FROM sessions WHERE token_hash = ?'),
    insertSession: db.prepare<[string, number, number]>('INSERT INTO sessions (token_hash, account_id, created_at) VALUES (?, ?, ?)'),
    endSession: db.prepare<[string, number]>('DELETE FROM sessions WHERE token_hash = ? AND account_id = ?'),
    endAllSessions: db.prepare<[number]>('DELETE FROM sessions WHERE account_id = ?'),
    deleteReceived: db.prepare<[number]>('DELETE FROM messages WHERE recipient_id = ?'),
    leaveAll: db.prepare<[number]>('DELETE FROM channel_members WHERE account_id = ?'),
    forgetCreator: db.prepare<[number]>('UPDATE channels SET created_by = NULL WHERE created_by = ?'),
    insertDirect: db.prepare<[number, number, number, number, string, number]>(
      'INSERT INTO messages (sender_id, recipient_id, conv_lo, conv_hi, body, sent_at, unread) VALUES (?, ?, ?, ?, ?, ?, 1)'),
    insertPost: db.prepare<[number, number, string, number]>(
      'INSERT INTO messages (sender_id, channel_id, body, sent_at) VALUES (?, ?, ?, ?)'),
    markAllRead: db.prepare<[number, number]>('UPDATE messages SET unread = 0 WHERE recipient_id = ? AND unread = 1 AND id <= ?'),
    markReadFrom: db.prepare<[number, number, number]>(
      'UPDATE messages SET unread = 0 WHERE recipient_id = ? AND sender_id = ? AND unread = 1 AND id <= ?'),
    messagesOf: db.prepare<[string], Placed & { sender: number | null }>(
      `SELECT j.value AS id, m.sender_id AS sender, m.recipient_id AS recipient, m.channel_id AS channel
       FROM json_each(?) j LEFT JOIN messages m ON m.id = j.value ORDER BY j.key`),
    unreadSenders: db.prepare<[number, number], number>(
      'SELECT DISTINCT sender_id FROM messages WHERE recipient_id = ? AND unread = 1 AND id <= ? ORDER BY sender_id').pluck(),
    deleteMessages: db.prepare<[string]>('DELETE FROM messages WHERE id IN (SELECT value FROM json_each(?))'),
    insertChannel: db.prepare<[string, string, number, number]>(
      'INSERT INTO channels (name, name_key, created_by, created_at) VALUES (?, ?, ?, ?)'),
    join: db.prepare<[number, number, number]>('INSERT INTO channel_members (channel_id, account_id, joined_at) VALUES (?, ?, ?)'),
    leave: db.prepare<[number, number]>('DELETE FROM channel_members WHERE channel_id = ? AND account_id = ?'),
  };
}
