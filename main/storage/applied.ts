// The applied index of a state-machine database. It lives in that database, so that applying a
// batch of entries and recording how far we got commit in one transaction; snapshots of the
// database therefore carry their own index and term.
import type { Db } from './sqlite.js';

/** Include in the first migration of every state-machine schema. */
export const appliedTableSql = `
  CREATE TABLE raft_applied (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    idx INTEGER NOT NULL,
    term INTEGER NOT NULL
  );
  INSERT INTO raft_applied (id, idx, term) VALUES (1, 0, 0);
`;

export interface AppliedPosition {
  readonly index: number;
  readonly term: number;
}

export class AppliedIndex {
  private readonly getStmt;
  private readonly setStmt;

  constructor(db: Db) {
    this.getStmt = db.prepare<[], AppliedPosition>('SELECT idx AS "index", term FROM raft_applied WHERE id = 1');
    this.setStmt = db.prepare<[number, number]>('UPDATE raft_applied SET idx = ?, term = ? WHERE id = 1');
  }

  get(): AppliedPosition {
    const row = this.getStmt.get();
    if (row === undefined) throw new Error('raft_applied row missing');
    return row;
  }

  /** Call inside the transaction that applies the entries up to `index`. */
  set(index: number, term: number): void {
    this.setStmt.run(index, term);
  }
}
