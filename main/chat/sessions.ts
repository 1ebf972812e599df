// Client sessions (Raft thesis §6.3): a command is identified by (client id, sequence number).
// The results of each client's last `sessionWindow` commands are kept, so a retry of any of
// them returns the first result; an older retry is refused rather than applied again.
import type { Db } from '../storage/sqlite.js';
import type { ChatResult } from './commands.js';

/** How many commands one client may have in flight without risking "session-expired". */
export const sessionWindow = 128;
/** Old results are deleted once per this many sequence numbers, not after every command. */
const evictEvery = 32;
/** Clients whose highest sequence number is kept in memory; past it the cache starts again. */
const cachedClients = 4_096;

export type SessionLookup =
  | { readonly kind: 'new'; readonly maxSeq: number }
  | { readonly kind: 'duplicate'; readonly result: ChatResult }
  | { readonly kind: 'expired' };

export class ClientSessions {
  private readonly stmts;
  /**
   * Each client's highest applied sequence number, as client_results holds it (a cache: every
   * value is read from or written to the database in the same transaction). A command above it
   * is new without any read, which is every command of a client that does not retry.
   */
  private readonly maxSeqs = new Map<string, number>();

  constructor(db: Db) {
    this.stmts = {
      maxSeq: db.prepare<[string], number | null>('SELECT max(seq) FROM client_results WHERE client_id = ?').pluck(),
      result: db.prepare<[string, number], string>('SELECT result FROM client_results WHERE client_id = ? AND seq = ?').pluck(),
      record: db.prepare<[string, number, string]>('INSERT INTO client_results (client_id, seq, result) VALUES (?, ?, ?)'),
      evict: db.prepare<[string, number]>('DELETE FROM client_results WHERE client_id = ? AND seq <= ?'),
    };
  }

  lookup(clientId: string, seq: number): SessionLookup {
    const max = this.maxSeq(clientId);
    if (seq > max) return { kind: 'new', maxSeq: max };
    const result = this.stmts.result.get(clientId, seq);
    if (result !== undefined) return { kind: 'duplicate', result: JSON.parse(result) as ChatResult };
    return seq <= max - sessionWindow ? { kind: 'expired' } : { kind: 'new', maxSeq: max };
  }

  /** Stores the result of a new command; `maxSeq` is what lookup() returned. */
  record(clientId: string, seq: number, result: ChatResult, maxSeq: number): void {
    this.stmts.record.run(clientId, seq, JSON.stringify(result));
    if (seq <= maxSeq) return;
    this.maxSeqs.set(clientId, seq);
    // Whenever the sequence crosses a multiple of evictEvery (deterministic: every replica
    // deletes at the same command). A result kept a little longer still answers its retry.
    // The newest result always stays, so the maximum can be read back from client_results.
    if (Math.floor(seq / evictEvery) > Math.floor(maxSeq / evictEvery)) this.stmts.evict.run(clientId, seq - sessionWindow);
  }

  /** Call when the transaction that recorded results rolls back: the cache may be ahead of it. */
  forgetCached(): void {
    this.maxSeqs.clear();
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
