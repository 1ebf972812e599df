// raft.db v1: node identity, hard state, the latest snapshot's metadata and the log.
import type { Migration } from '../sqlite.js';

export const migration: Migration = {
  version: 1,
  sql: `
    -- Who this node is and whom it was founded with (the membership before any snapshot).
    CREATE TABLE identity (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      node_id TEXT NOT NULL,
      founders TEXT NOT NULL -- JSON ConfState
    );
    CREATE TABLE hard_state (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      term INTEGER NOT NULL,
      vote TEXT,
      commit_index INTEGER NOT NULL
    );
    INSERT INTO hard_state (id, term, vote, commit_index) VALUES (1, 0, NULL, 0);
    -- At most one row: the latest snapshot, whose file lives in snapshots/.
    CREATE TABLE snapshot (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      idx INTEGER NOT NULL,
      term INTEGER NOT NULL,
      conf TEXT NOT NULL, -- JSON ConfState as of idx
      file TEXT NOT NULL
    );
    CREATE TABLE log (
      idx INTEGER PRIMARY KEY,
      term INTEGER NOT NULL,
      type INTEGER NOT NULL,
      data BLOB NOT NULL
    );
    -- Membership as of an index is replayed from these few entries.
    CREATE INDEX log_conf_changes ON log (idx) WHERE type = 1;
  `,
};
