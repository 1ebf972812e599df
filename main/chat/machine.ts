// The replicated state machine: applies committed entries to chat.db. A whole batch of entries
// and the new applied index commit in one SQLite transaction, so after a crash every entry has
// been applied exactly once or not at all. Same log in, same database out, on every replica.
import { decodeConfChange } from '../raft/confchange.js';
import { EntryType, type Entry } from '../raft/types.js';
import { AppliedIndex, type AppliedPosition } from '../storage/applied.js';
import { crashPoint } from '../storage/crash.js';
import type { Db } from '../storage/sqlite.js';
import { decodeCommand, errorResult, peekHeader, type ChatResult, type Command, type CommandValues } from './commands.js';
import { ChatError } from './errors.js';
import { Handlers, singleWriteCommands } from './handlers.js';
import { MemberRows } from './members.js';
import { ClientSessions, defaultSessionLimits, type SessionLimits } from './sessions.js';

export interface AppliedCommand {
  readonly index: number;
  /** Null only for an entry too malformed to name its client. */
  readonly clientId: string | null;
  readonly seq: number | null;
  /** The decoded command (null for a malformed entry): lets the peer tell who is concerned. */
  readonly command: Command | null;
  readonly result: ChatResult;
  /** (clientId, seq) was applied before: `result` is the first application's. */
  readonly duplicate: boolean;
}

export class ChatMachine {
  private readonly appliedIndex: AppliedIndex;
  private readonly sessions: ClientSessions;
  private readonly handlers: Handlers;
  private readonly members: MemberRows;
  private readonly applyAll: (entries: readonly Entry[]) => AppliedCommand[];
  /** Runs one command in a savepoint, so that a refused command leaves no trace. */
  private readonly runInSavepoint: (cmd: Command, index: number) => CommandValues[keyof CommandValues];
  private position: AppliedPosition;

  constructor(db: Db, limits: SessionLimits = defaultSessionLimits) {
    this.appliedIndex = new AppliedIndex(db);
    this.sessions = new ClientSessions(db, limits);
    this.handlers = new Handlers(db);
    this.members = new MemberRows(db);
    this.applyAll = db.transaction((entries: readonly Entry[]) => this.applyInTransaction(entries));
    this.runInSavepoint = db.transaction((cmd: Command, index: number) => this.runCommand(cmd, index));
    this.position = this.appliedIndex.get();
  }

  /** The rules this replica applies entries by (sessions.ts, latestRules). */
  get rulesVersion(): number {
    return this.sessions.rulesVersion;
  }

  /** Index and term of the last applied entry (0/0 for a new database). */
  applied(): AppliedPosition {
    return this.position;
  }

  /**
   * Applies committed entries, which must follow the applied index without gap or overlap.
   * Returns one result per command entry. A conf change updates the members table (pinned
   * certificates); a no-op only advances the index.
   * Throws, applying nothing, on a database failure: the caller must stop, not skip the batch.
   */
  applyBatch(entries: readonly Entry[]): AppliedCommand[] {
    const last = entries[entries.length - 1];
    if (last === undefined) return [];
    crashPoint('apply:before');
    let results: AppliedCommand[];
    try {
      results = this.applyAll(entries);
    } catch (err) {
      this.sessions.forgetCached(); // the batch rolled back: its sequence numbers were not applied
      throw err;
    }
    this.position = { index: last.index, term: last.term };
    crashPoint('apply:after');
    return results;
  }

  private applyInTransaction(entries: readonly Entry[]): AppliedCommand[] {
    const results: AppliedCommand[] = [];
    let previous = this.position.index;
    for (const entry of entries) {
      if (entry.index !== previous + 1) {
        throw new Error(`chat: entry ${entry.index} handed to apply after ${previous}: each entry applies once, in order`);
      }
      previous = entry.index;
      if (entry.type === EntryType.Normal && entry.data.length > 0) results.push(this.applyEntry(entry));
      else if (entry.type === EntryType.ConfChange) this.applyConfChange(entry);
      this.sessions.entryApplied(entry.index); // at every entry, of any kind: the same on every replica
    }
    const last = entries[entries.length - 1] as Entry;
    this.appliedIndex.set(last.index, last.term);
    crashPoint('apply:torn');
    return results;
  }

  /**
   * A member added with a context has it recorded (replacing any older row: a re-added node may
   * have a new certificate); a removed member's row goes. Bootstrap and promote change nothing.
   */
  private applyConfChange(entry: Entry): void {
    const cc = decodeConfChange(entry.data);
    if (cc.type === 'remove') this.members.remove(cc.node);
    else if ((cc.type === 'addLearner' || cc.type === 'addVoter') && cc.context !== undefined && cc.context !== '') {
      this.members.upsert(cc.node, cc.context, entry.index);
    }
  }

  private applyEntry(entry: Entry): AppliedCommand {
    let cmd: Command;
    try {
      cmd = decodeCommand(entry.data);
    } catch (err) {
      if (!(err instanceof ChatError)) throw err;
      return { index: entry.index, ...peekHeader(entry.data), command: null, result: errorResult(err), duplicate: false };
    }
    const base = { index: entry.index, clientId: cmd.c, seq: cmd.s, command: cmd };
    const session = this.sessions.lookup(cmd.c, cmd.s);
    if (session.kind === 'duplicate') return { ...base, result: session.result, duplicate: true };
    if (session.kind === 'expired') return { ...base, result: errorResult(new ChatError('session-expired', session.message)), duplicate: false };
    const result = this.execute(cmd, entry.index);
    this.sessions.record(cmd.c, cmd.s, result, session.maxSeq, entry.index);
    if (cmd.t === 'adoptRules') this.sessions.rulesChanged(); // from the next entry on
    return { ...base, result, duplicate: false };
  }

  private runCommand(cmd: Command, index: number): CommandValues[keyof CommandValues] {
    return this.handlers[cmd.t](cmd as never, index);
  }

  private execute(cmd: Command, index: number): ChatResult {
    try {
      const value = singleWriteCommands.has(cmd.t) ? this.runCommand(cmd, index) : this.runInSavepoint(cmd, index);
      return { ok: true, value };
    } catch (err) {
      if (err instanceof ChatError) return errorResult(err);
      throw err;
    }
  }
}
