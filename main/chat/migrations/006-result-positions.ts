// chat.db v6: each kept result records the log index of the command that made it, so that results
// can expire once the log has moved `resultsKeptFor` entries past them (sessions.ts). Results from
// before v6 get index 0: the index every replica would have to invent for them differs with the
// moment it migrated, so they are left out of expiry (a bounded, one-time set; the per-client
// window still evicts them while their client is active).
import type { Migration } from '../../storage/sqlite.js';

export const migration: Migration = {
  version: 6,
  sql: `
    ALTER TABLE client_results ADD COLUMN log_index INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX client_results_by_index ON client_results (log_index) WHERE log_index > 0;
  `,
};
