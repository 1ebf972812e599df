// chat.db v4: an index for "my conversations" (ChatApi.conversations). messages_conversation
// (conv_lo, conv_hi, id) finds those where the caller has the lower account id; this one finds
// those where it has the higher, so that listing them never scans the whole messages table.
import type { Migration } from '../../storage/sqlite.js';

export const migration: Migration = {
  version: 4,
  sql: `
    CREATE INDEX messages_conversation_hi ON messages (conv_hi, conv_lo, id) WHERE recipient_id IS NOT NULL;
  `,
};
