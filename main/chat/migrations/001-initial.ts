// chat.db v1: accounts, channels (#general from the start), messages, client sessions and the
// applied index. AUTOINCREMENT keeps ids monotonic and never reused, even after deletions, and
// sqlite_sequence is replicated with the rest, so ids agree on every replica.
import { appliedTableSql } from '../../storage/applied.js';
import type { Migration } from '../../storage/sqlite.js';

export const migration: Migration = {
  version: 1,
  sql: `
    ${appliedTableSql}
    CREATE TABLE accounts (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      username TEXT NOT NULL,
      username_key TEXT NOT NULL UNIQUE, -- lower-cased: names are unique regardless of case
      password_hash TEXT NOT NULL,
      created_at INTEGER NOT NULL
    );
    CREATE TABLE channels (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      name TEXT NOT NULL,
      name_key TEXT NOT NULL UNIQUE,
      created_by INTEGER, -- NULL for #general and for channels whose creator was deleted
      created_at INTEGER NOT NULL
    );
    INSERT INTO channels (name, name_key, created_by, created_at) VALUES ('general', 'general', NULL, 0);
    CREATE TABLE channel_members (
      channel_id INTEGER NOT NULL,
      account_id INTEGER NOT NULL,
      joined_at INTEGER NOT NULL,
      PRIMARY KEY (channel_id, account_id)
    ) WITHOUT ROWID;
    CREATE INDEX channel_members_by_account ON channel_members (account_id);
    -- Direct messages have a recipient, channel posts a channel. conv_lo/conv_hi are the two
    -- account ids of a direct conversation in order, so one index serves both directions.
    CREATE TABLE messages (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      sender_id INTEGER NOT NULL,
      recipient_id INTEGER,
      channel_id INTEGER,
      conv_lo INTEGER,
      conv_hi INTEGER,
      body TEXT NOT NULL,
      sent_at INTEGER NOT NULL,
      unread INTEGER NOT NULL DEFAULT 0,
      CHECK ((recipient_id IS NULL) <> (channel_id IS NULL))
    );
    CREATE INDEX messages_conversation ON messages (conv_lo, conv_hi, id) WHERE recipient_id IS NOT NULL;
    CREATE INDEX messages_received ON messages (recipient_id) WHERE recipient_id IS NOT NULL;
    CREATE INDEX messages_unread ON messages (recipient_id, sender_id, id) WHERE unread = 1;
    CREATE INDEX messages_channel ON messages (channel_id, id) WHERE channel_id IS NOT NULL;
    -- Exactly-once: per client, the highest sequence number seen and the results of the last
    -- few commands (a window, so that a client may have several commands in flight).
    CREATE TABLE client_sessions (
      client_id TEXT PRIMARY KEY,
      max_seq INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE client_results (
      client_id TEXT NOT NULL,
      seq INTEGER NOT NULL,
      result TEXT NOT NULL,
      PRIMARY KEY (client_id, seq)
    ) WITHOUT ROWID;
  `,
};
