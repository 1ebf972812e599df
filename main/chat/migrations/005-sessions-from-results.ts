// chat.db v5: client_sessions goes. Its max_seq was always the highest seq kept in client_results
// for that client (every new command records its result; eviction deletes only results at least
// sessionWindow below the newest), so the maximum is read from client_results instead, and
// applying a command writes one row fewer (one statement and one page fewer per commit per
// active client, on every replica).
import type { Migration } from '../../storage/sqlite.js';

export const migration: Migration = {
  version: 5,
  sql: `
    DROP TABLE client_sessions;
  `,
};
