// A chat replica without consensus: commands are prepared, encoded and applied as log entries
// with consecutive indexes, exactly as the peer would after commit.
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { encodeCommand, type ChatResult, type Command, type CommandValues } from '../../main/chat/commands.js';
import { ChatMachine, type AppliedCommand } from '../../main/chat/machine.js';
import { chatSchema } from '../../main/chat/migrations/index.js';
import { prepareCommand, type ChatRequest } from '../../main/chat/prepare.js';
import { ChatQueries } from '../../main/chat/queries.js';
import { latestRules, type SessionLimits } from '../../main/chat/sessions.js';
import { EntryType, type Entry } from '../../main/raft/types.js';
import { canonicalHash } from '../../main/storage/hash.js';
import { openDatabase, type Db } from '../../main/storage/sqlite.js';
import { tempDir } from './temp-dir.js';

/** Cheap scrypt for tests: the cost is a parameter stored in the hash, verified the same way. */
export const testScrypt = { N: 1 << 10, r: 8, p: 1 } as const;

export class ChatReplica {
  readonly machine: ChatMachine;
  readonly queries: ChatQueries;
  private seq = 0;
  private clock = 1_700_000_000_000;

  constructor(readonly db: Db, readonly clientId = 'test-client', limits?: SessionLimits) {
    this.machine = new ChatMachine(db, limits);
    this.queries = new ChatQueries(db);
  }

  static open(t: TestContext, clientId?: string, limits?: SessionLimits): ChatReplica {
    const db = openDatabase(join(tempDir(t, 'quorum-chat-'), 'chat.db'), chatSchema);
    t.after(() => db.close());
    return new ChatReplica(db, clientId, limits);
  }

  /** Prepares a request as the accepting peer would (fresh sequence number, test clock). */
  prepare(request: ChatRequest, seq = ++this.seq): Promise<Command> {
    return prepareCommand(request, { clientId: this.clientId, seq }, { now: () => this.clock++, scrypt: testScrypt });
  }

  /** Prepares and applies one request; returns its result. */
  async run<R extends ChatRequest>(request: R): Promise<ChatResult<R['t']>> {
    const [applied] = this.applyCommands([await this.prepare(request)]);
    if (applied === undefined) throw new Error('no result');
    return applied.result as ChatResult<R['t']>;
  }

  /** Like run(), for requests that must succeed: returns the value. */
  async ok<R extends ChatRequest>(request: R): Promise<CommandValues[R['t']]> {
    const result = await this.run(request);
    if (!result.ok) throw new Error(`${request.t} failed: ${result.code}: ${result.message}`);
    return result.value;
  }

  /** Applies the adoptRules entry a leader proposes (main/peer/peer.ts): the newest rules from here on. */
  adoptRules(): AppliedCommand[] {
    return this.applyCommands([{ c: `rules:${this.machine.applied().index}`, s: 1, at: 0, t: 'adoptRules', version: latestRules }]);
  }

  applyCommands(commands: readonly Command[]): AppliedCommand[] {
    return this.applyData(commands.map((c) => encodeCommand(c)));
  }

  /** Applies raw entry data (empty data is a leader's no-op) at the next indexes. */
  applyData(data: readonly Uint8Array[], type = EntryType.Normal): AppliedCommand[] {
    return this.machine.applyBatch(this.entries(data, type));
  }

  entries(data: readonly Uint8Array[], type = EntryType.Normal, term = 1): Entry[] {
    const first = this.machine.applied().index + 1;
    return data.map((d, i) => ({ index: first + i, term, type, data: d }));
  }

  /** A command changed behind the type checker's back, as a buggy or hostile peer might. */
  static tamper(command: Command, patch: Record<string, unknown>): Command {
    return { ...command, ...patch } as Command;
  }

  hash(): string {
    return canonicalHash(this.db);
  }

  /** Creates an account and returns its id. */
  async account(username: string, password = 'correct horse'): Promise<number> {
    return (await this.ok({ t: 'createAccount', username, password })).accountId;
  }
}
