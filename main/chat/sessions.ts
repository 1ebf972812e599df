// Client sessions (Raft thesis §6.3): a command is identified by (client id, sequence number).
// The results of each client's last `sessionWindow` commands are kept, so a retry of any of
// them returns the first result; an older retry is refused rather than applied again.
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

/** Old results are deleted once per this many sequence numbers, not after every command. */
const evictEvery = 32;
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

export class ClientSessions {
  private readonly stmts;
  /**
   * Each client's highest applied sequence number, as client_results holds it (a cache: every
   * value is read from or written to the database in the same transaction). A command above it
   * is new without any read, which is every command of a client that does not retry.
   */
  private readonly maxSeqs = new Map<string, number>();

  /** The rules in force (chat_rules), read again after an adoptRules or a rollback. */
  private rules: number;

  constructor(db: Db, private readonly limits: SessionLimits = defaultSessionLimits) {
    this.stmts = {
      rules: db.prepare<[], number>('SELECT version FROM chat_rules').pluck(),
      maxSeq: db.prepare<[string], number | null>('SELECT max(seq) FROM client_results WHERE client_id = ?').pluck(),
      result: db.prepare<[string, number], string>('SELECT result FROM client_results WHERE client_id = ? AND seq = ?').pluck(),
      record: db.prepare<[string, number, string, number]>('INSERT INTO client_results (client_id, seq, result, log_index) VALUES (?, ?, ?, ?)'),
      evict: db.prepare<[string, number]>('DELETE FROM client_results WHERE client_id = ? AND seq <= ?'),
      expire: db.prepare<[number], string>(`
        DELETE FROM client_results WHERE (client_id, seq) IN (
          SELECT client_id, seq FROM client_results WHERE log_index > 0 AND log_index <= ? ORDER BY log_index LIMIT ${2 * expireEvery}
        ) RETURNING client_id`).pluck(),
    };
    this.rules = this.readRules();
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
    const result = this.stmts.result.get(clientId, seq);
    if (result !== undefined) return { kind: 'duplicate', result: JSON.parse(result) as ChatResult };
    if (seq <= max - sessionWindow) return { kind: 'expired', message: `command ${seq} of client ${clientId} is too old to tell whether it was applied` };
    return { kind: 'new', maxSeq: max };
  }

  /** Stores the result of a new command applied at `index`; `maxSeq` is what lookup() returned. */
  record(clientId: string, seq: number, result: ChatResult, maxSeq: number, index: number): void {
    this.stmts.record.run(clientId, seq, JSON.stringify(result), this.rules >= 2 ? index : 0);
    if (seq <= maxSeq) return;
    this.maxSeqs.set(clientId, seq);
    // Whenever the sequence crosses a multiple of evictEvery (deterministic: every replica
    // deletes at the same command). A result kept a little longer still answers its retry.
    // The newest result always stays, so the maximum can be read back from client_results.
    if (Math.floor(seq / evictEvery) > Math.floor(maxSeq / evictEvery)) this.stmts.evict.run(clientId, seq - sessionWindow);
  }

  /** At every expireEvery-th entry: deletes results the log at `index` has left `resultsKeptFor` entries behind. */
  expire(index: number): void {
    const upTo = index - this.limits.resultsKeptFor;
    if (index % expireEvery !== 0 || upTo <= 0) return;
    // Their clients' maxima are read again (the newest result may be among those gone).
    for (const clientId of this.stmts.expire.all(upTo)) this.maxSeqs.delete(clientId);
  }

  /** Call when the transaction that recorded results rolls back: the cache may be ahead of it. */
  forgetCached(): void {
    this.maxSeqs.clear();
    this.rules = this.readRules();
  }

  private readRules(): number {
    return this.stmts.rules.get() as number;
  }

  private maxSeq(clientId: string): number {
    const cached = this.maxSeqs.get(clientId);
    if (cached !== undefined) return cached;
    const max = this.stmts.maxSeq.get(clientId) ?? 0;
    if (this.maxSeqs.size >= cachedClients) this.maxSeqs.clear();
    this.maxSeqs.set(clientId, max);
    return max;
  }
}
