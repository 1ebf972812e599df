// chat.db v3: the members' pinned certificates, part of the replicated state so that a snapshot
// carries them (a node catching up from a snapshot never sees the compacted conf changes) and
// the founder, whose bootstrap entry has no context, can pin itself (a pinMember command).
// `context` is the conf change's opaque member context (JSON: addresses and fingerprint).
import type { Migration } from '../../storage/sqlite.js';

export const migration: Migration = {
  version: 3,
  sql: `
    CREATE TABLE members (
      node_id TEXT PRIMARY KEY,
      context TEXT NOT NULL,
      updated_index INTEGER NOT NULL -- the log index of the entry that wrote the row
    ) WITHOUT ROWID;
  `,
};
