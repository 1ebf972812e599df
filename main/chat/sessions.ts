// Client sessions (Raft thesis §6.3): a command is identified by (client id, sequence number).
// The results of each client's last `sessionWindow` commands are kept, so a retry of any of
// them returns the first result; an older retry is refused rather than applied again.
import type { Db } from '../storage/sqlite.js';
import type { ChatResult } from './commands.js';

/** How many commands one client may have in flight without risking "session-expired". */
export const sessionWindow = 128;
/** Old results are deleted once per this many sequence numbers, not after every command. */
const evictEvery = 32;

export type SessionLookup =
  | { readonly kind: 'new'; readonly maxSeq: number }
  | { readonly kind: 'duplicate'; readonly result: ChatResult }
  | { readonly kind: 'expired' };

export class ClientSessions {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      result: db.prepare<[string, number], string>('SELECT result FROM client_results WHERE client_id = ? AND seq = ?').pluck(),
      maxSeq: db.prepare<[string], number>('SELECT max_seq FROM client_sessions WHERE client_id = ?').pluck(),
      setMax: db.prepare<[string, number]>(
        'INSERT INTO client_sessions (client_id, max_seq) VALUES (?, ?) ON CONFLICT (client_id) DO UPDATE SET max_seq = excluded.max_seq'),
      record: db.prepare<[string, number, string]>('INSERT INTO client_results (client_id, seq, result) VALUES (?, ?, ?)'),
      evict: db.prepare<[string, number]>('DELETE FROM client_results WHERE client_id = ? AND seq <= ?'),
    };
  }

  lookup(clientId: string, seq: number): SessionLookup {
    const stored = this.stmts.result.get(clientId, seq);
    if (stored !== undefined) return { kind: 'duplicate', result: JSON.parse(stored) as ChatResult };
    const max = this.stmts.maxSeq.get(clientId) ?? 0;
    return seq <= max - sessionWindow ? { kind: 'expired' } : { kind: 'new', maxSeq: max };
  }

  /** Stores the result of a new command; `maxSeq` is what lookup() returned. */
  record(clientId: string, seq: number, result: ChatResult, maxSeq: number): void {
    this.stmts.record.run(clientId, seq, JSON.stringify(result));
    if (seq <= maxSeq) return;
    this.stmts.setMax.run(clientId, seq);
    // Whenever the sequence crosses a multiple of evictEvery (deterministic: every replica
    // deletes at the same command). A result kept a little longer still answers its retry.
    if (Math.floor(seq / evictEvery) > Math.floor(maxSeq / evictEvery)) this.stmts.evict.run(clientId, seq - sessionWindow);
  }
}
