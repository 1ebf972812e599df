// chat.db v7: new results go to `recent_results`, in the order of the log, and move to
// client_results in one sorted batch every mergeEvery entries (sessions.ts). client_results is
// keyed by client, so writing each result there at once touched one page per active client per
// commit (the largest part of a busy peer's commit); appended in log order they touch one or two
// (docs/performance.md, Round 10). Where a result is kept changes nothing a command's outcome
// depends on (docs/storage.md, "Where results are kept"), so no new rules are needed; snapshots carry
// the new table, so the Raft link's version moved with it (QCRAFT/3).
import type { Migration } from '../../storage/sqlite.js';

export const migration: Migration = {
  version: 7,
  sql: `
    CREATE TABLE recent_results (
      position INTEGER PRIMARY KEY, -- the log index of the command that made the result
      client_id TEXT NOT NULL,
      seq INTEGER NOT NULL,
      result TEXT NOT NULL,
      log_index INTEGER NOT NULL -- as in client_results: position under rules 2, else 0
    );
  `,
};
