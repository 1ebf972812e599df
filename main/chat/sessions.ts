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
      // One statement per look-up (it runs for every command on every replica).
      lookup: db.prepare<[string, string, number], { max: number | null; result: string | null }>(
        'SELECT (SELECT max_seq FROM client_sessions WHERE client_id = ?) AS max, ' +
        '(SELECT result FROM client_results WHERE client_id = ? AND seq = ?) AS result'),
      setMax: db.prepare<[string, number]>(
        'INSERT INTO client_sessions (client_id, max_seq) VALUES (?, ?) ON CONFLICT (client_id) DO UPDATE SET max_seq = excluded.max_seq'),
      record: db.prepare<[string, number, string]>('INSERT INTO client_results (client_id, seq, result) VALUES (?, ?, ?)'),
      evict: db.prepare<[string, number]>('DELETE FROM client_results WHERE client_id = ? AND seq <= ?'),
    };
  }

  lookup(clientId: string, seq: number): SessionLookup {
    const row = this.stmts.lookup.get(clientId, clientId, seq) as { max: number | null; result: string | null };
    if (row.result !== null) return { kind: 'duplicate', result: JSON.parse(row.result) as ChatResult };
    const max = row.max ?? 0;
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
