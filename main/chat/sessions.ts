// Client sessions (Raft thesis §6.3): a command is identified by (client id, sequence number).
// The results of each client's last `sessionWindow` commands are kept, so a retry of any of
// them returns the first result; an older retry is refused rather than applied again.
//
// A new result is written to recent_results (in log order, one page per commit) and the whole
// table moves to client_results (keyed by client) every mergeEvery entries, all replicas at the
// same entries; recent_results is small and also held in memory, so looking a result up reads at
// most one table.
//
// Under rules 2 (adopted by the group at one log index, see migrations/006) results also
// expire: once the log is `resultsKeptFor` entries past the command that made one, it goes
// (oldest first, in batches every `expireEvery` entries), so the table is bounded by the log's
// recent history however many clients come and go. The clock is the log index, which every replica
// agrees on; the peers' wall clocks (commands carry them) need not, and one wrong clock must not
// expire everyone. A client whose results have all expired is unknown again: sequence numbers
// 1..sessionWindow start a new session (a new client's first commands may arrive in any order),
// a higher one is refused, and the client must go on under a new id, because whatever it sends
// may be a retry of a command that was applied.
import type { Db } from '../storage/sqlite.js';
import type { ChatResult } from './commands.js';

/** How many commands one client may have in flight without risking "session-expired". */
export const sessionWindow = 128;

/**
 * The newest rules this code applies by. 1: no expiry (chat.db before v6); 2: results record
 * their log index and expire, and an unknown client must begin at 1..sessionWindow. A leader
 * proposes adoptRules with it once the group's rules are older (main/peer/peer.ts).
 */
export const latestRules = 2;

export interface SessionLimits {
  /** A result expires once the log is this many entries past the command that made it. */
  readonly resultsKeptFor: number;
}

/** A million entries: over a day of a group writing ten a second; the retry horizon clients count on. */
export const defaultSessionLimits: SessionLimits = { resultsKeptFor: 1_000_000 };

/**
 * New results are kept in recent_results, in log order, and move to client_results (keyed by
 * client) at every entry whose index is a multiple of this: one sorted batch touches each
 * active client's page once per interval instead of once per commit. At most this many
 * results are in recent_results, and all of them in memory.
 */
export const mergeEvery = 1_024;
/**
 * Expired results are deleted at every entry whose index is a multiple of this, up to twice as
 * many as there were entries since (each adds one result at most), so expiry keeps up.
 */
export const expireEvery = 64;
/** Clients whose highest sequence number is kept in memory; past it the cache starts again. */
const cachedClients = 4_096;

export type SessionLookup =
  | { readonly kind: 'new'; readonly maxSeq: number }
  | { readonly kind: 'duplicate'; readonly result: ChatResult }
  | { readonly kind: 'expired'; readonly message: string };

interface RecentRow {
  client_id: string;
  seq: number;
  result: string;
}

export class ClientSessions {
  private readonly stmts;
  /**
   * Each client's highest applied sequence number, as client_results and recent_results hold it
   * (a cache: every value is read from or written to the database in the same transaction). A
   * command above it is new without any read, which is every command of a client that does not
   * retry.
   */
  private readonly maxSeqs = new Map<string, number>();
  /** recent_results, by client and sequence number: the JSON results (all of the table). */
  private readonly recent = new Map<string, Map<number, string>>();

  /** The rules in force (chat_rules), read again after an adoptRules or a rollback. */
  private rules: number;

  constructor(db: Db, private readonly limits: SessionLimits = defaultSessionLimits) {
    this.stmts = {
      rules: db.prepare<[], number>('SELECT version FROM chat_rules').pluck(),
      maxSeq: db.prepare<[string], number | null>('SELECT max(seq) FROM client_results WHERE client_id = ?').pluck(),
      result: db.prepare<[string, number], string>('SELECT result FROM client_results WHERE client_id = ? AND seq = ?').pluck(),
      record: db.prepare<[number, string, number, string, number]>('INSERT INTO recent_results (position, client_id, seq, result, log_index) VALUES (?, ?, ?, ?, ?)'),
      recent: db.prepare<[], RecentRow>('SELECT client_id, seq, result FROM recent_results'),
      merge: db.prepare(`
        INSERT INTO client_results (client_id, seq, result, log_index)
        SELECT client_id, seq, result, log_index FROM recent_results ORDER BY client_id, seq`),
      clearRecent: db.prepare('DELETE FROM recent_results'),
      evict: db.prepare<[string, number]>('DELETE FROM client_results WHERE client_id = ? AND seq <= ?'),
      expire: db.prepare<[number], string>(`
        DELETE FROM client_results WHERE (client_id, seq) IN (
          SELECT client_id, seq FROM client_results WHERE log_index > 0 AND log_index <= ? ORDER BY log_index LIMIT ${2 * expireEvery}
        ) RETURNING client_id`).pluck(),
      expireRecent: db.prepare<[number], Omit<RecentRow, 'result'>>('DELETE FROM recent_results WHERE position <= ? AND log_index > 0 RETURNING client_id, seq'),
    };
    this.rules = this.readRules();
    this.loadRecent();
  }

  /** The rules this replica applies by now. */
  get rulesVersion(): number {
    return this.rules;
  }

  /** Call after applying an adoptRules command. */
  rulesChanged(): void {
    this.rules = this.readRules();
  }

  lookup(clientId: string, seq: number): SessionLookup {
    const max = this.maxSeq(clientId);
    if (seq > max) {
      if (max === 0 && seq > sessionWindow && this.rules >= 2) {
        return { kind: 'expired', message: `client ${clientId} has no session here (it expired, or never began at a sequence number of 1 to ${sessionWindow}): go on with a new client id` };
      }
      return { kind: 'new', maxSeq: max };
    }
    const result = this.recent.get(clientId)?.get(seq) ?? this.stmts.result.get(clientId, seq);
    if (result !== undefined) return { kind: 'duplicate', result: JSON.parse(result) as ChatResult };
    if (seq <= max - sessionWindow) return { kind: 'expired', message: `command ${seq} of client ${clientId} is too old to tell whether it was applied` };
    return { kind: 'new', maxSeq: max };
  }

  /** Stores the result of a new command applied at `index`; `maxSeq` is what lookup() returned. */
  record(clientId: string, seq: number, result: ChatResult, maxSeq: number, index: number): void {
    const json = JSON.stringify(result);
    this.stmts.record.run(index, clientId, seq, json, this.rules >= 2 ? index : 0);
    this.rememberRecent(clientId, seq, json);
    if (seq > maxSeq) this.maxSeqs.set(clientId, seq);
  }

  /** Call after every entry, of any kind (the same on every replica): expires and merges results. */
  entryApplied(index: number): void {
    if (index % expireEvery === 0) this.expire(index);
    if (index % mergeEvery === 0) this.merge();
  }

  /** Call when the transaction that recorded results rolls back: the memory may be ahead of it. */
  forgetCached(): void {
    this.maxSeqs.clear();
    this.rules = this.readRules();
    this.loadRecent();
  }

  /** Deletes results the log at `index` has left `resultsKeptFor` entries behind. */
  private expire(index: number): void {
    const upTo = index - this.limits.resultsKeptFor;
    if (upTo <= 0) return;
    // Their clients' maxima are read again (the newest result may be among those gone).
    for (const clientId of this.stmts.expire.all(upTo)) this.maxSeqs.delete(clientId);
    // recent_results holds only the entries since the last merge, fewer than mergeEvery.
    if (this.limits.resultsKeptFor >= mergeEvery) return;
    for (const { client_id, seq } of this.stmts.expireRecent.all(upTo)) {
      this.maxSeqs.delete(client_id);
      const mine = this.recent.get(client_id);
      mine?.delete(seq);
      if (mine?.size === 0) this.recent.delete(client_id);
    }
  }

  /**
   * Moves recent_results into client_results, then deletes each of their clients' results more
   * than sessionWindow below its newest: retries that old are refused anyway, and the newest
   * always stays, so the maximum can be read back. Which old results are kept a while longer
   * changes no outcome (docs/storage.md, "Client sessions").
   */
  private merge(): void {
    this.stmts.merge.run();
    this.stmts.clearRecent.run();
    for (const clientId of this.recent.keys()) this.stmts.evict.run(clientId, this.maxSeq(clientId) - sessionWindow);
    this.recent.clear();
  }

  private loadRecent(): void {
    this.recent.clear();
    for (const { client_id, seq, result } of this.stmts.recent.iterate()) this.rememberRecent(client_id, seq, result);
  }

  private rememberRecent(clientId: string, seq: number, json: string): void {
    let mine = this.recent.get(clientId);
    if (mine === undefined) this.recent.set(clientId, (mine = new Map()));
    mine.set(seq, json);
  }

  private readRules(): number {
    return this.stmts.rules.get() as number;
  }

  private maxSeq(clientId: string): number {
    const cached = this.maxSeqs.get(clientId);
    if (cached !== undefined) return cached;
    let max = this.stmts.maxSeq.get(clientId) ?? 0;
    for (const seq of this.recent.get(clientId)?.keys() ?? []) max = Math.max(max, seq);
    if (this.maxSeqs.size >= cachedClients) this.maxSeqs.clear();
    this.maxSeqs.set(clientId, max);
    return max;
  }
}
