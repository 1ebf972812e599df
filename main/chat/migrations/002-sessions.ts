// chat.db v2: login sessions, replicated so that a token issued by one peer works on every peer
// and survives a failover. Only the SHA-256 of a token is stored: a copy of chat.db (or of a
// snapshot) does not let anyone act as the user.
import type { Migration } from '../../storage/sqlite.js';

export const migration: Migration = {
  version: 2,
  sql: `
    CREATE TABLE sessions (
      token_hash TEXT PRIMARY KEY, -- lower-case hex SHA-256 of the token
      account_id INTEGER NOT NULL,
      created_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX sessions_by_account ON sessions (account_id);
  `,
};
