// raft.db v2: the snapshot row may name no file. A node compacts its log once chat.db is durable
// at an applied index (docs/storage.md, "Compaction"), so that row then records only how far the
// log was compacted and the membership there; a file is named only for a snapshot received from
// the leader until the next compaction. SQLite cannot relax NOT NULL in place: the one-row table
// is rebuilt.
import type { Migration } from '../sqlite.js';

export const migration: Migration = {
  version: 2,
  sql: `
    CREATE TABLE snapshot_v2 (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      idx INTEGER NOT NULL,
      term INTEGER NOT NULL,
      conf TEXT NOT NULL, -- JSON ConfState as of idx
      file TEXT -- a received snapshot's file in snapshots/; NULL: chat.db itself holds idx durably
    );
    INSERT INTO snapshot_v2 (id, idx, term, conf, file) SELECT id, idx, term, conf, file FROM snapshot;
    DROP TABLE snapshot;
    ALTER TABLE snapshot_v2 RENAME TO snapshot;
  `,
};
