// chat.db v6: the rules a group applies its log by, and the log position of each kept result.
//
// `chat_rules.version` is replicated state, raised only by an adoptRules entry (rules.ts): a
// change to how entries apply must start at one log index that every replica agrees on, never
// at the moment each replica's software was upgraded, or replaying an old entry would give
// another result than the one the old replicas gave. Version 1 is how v5 applied; version 2
// expires client results (sessions.ts).
//
// `client_results.log_index` is the log index of the command that made a result, recorded under
// rules 2 (0 before: those results were recorded before the switch, identically everywhere, and
// never expire by position; the per-client window still evicts them while their client is active).
import type { Migration } from '../../storage/sqlite.js';

export const migration: Migration = {
  version: 6,
  sql: `
    CREATE TABLE chat_rules (version INTEGER NOT NULL);
    INSERT INTO chat_rules (version) VALUES (1);
    ALTER TABLE client_results ADD COLUMN log_index INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX client_results_by_index ON client_results (log_index) WHERE log_index > 0;
  `,
};
