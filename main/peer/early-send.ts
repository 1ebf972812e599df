// Which parts of a Ready may go ahead before the Ready's log write is on disk.
//
// The Ready loop writes a Ready's entries and hard state, then syncs them off the event loop;
// what depends on them waits for the sync. A leader's appends need not (Raft thesis §10.2.1):
// the leader may replicate entries before they are durable on its own disk, because an entry
// commits only once a majority has it durably, and the leader's own vote in that majority is
// safe to count early as long as nothing that reveals the new commit index leaves before the
// leader's sync. That holds here because a Ready is taken only after the previous one's sync:
// - every message of this Ready was made before it was taken, so a commit index it carries was
//   reached with followers' acknowledgements of entries sent in earlier Readies, which are
//   durable here by now;
// - the exception is a commit the leader reaches alone (a group with one voter): then the
//   commit covers this Ready's own unsynced entries, and such messages wait;
// - applying committed entries and answering reads happen after the sync anyway.
// Everything else waits: votes (the vote must be durable before it is given), a follower's
// acknowledgements (the entries must be durable before they are counted), and any message from
// a node whose role or term changes in this Ready.
import { EntryType, MessageType, Role, type Message, type Ready } from '../raft/types.js';

export interface SendOrder {
  /** Sent right after the write, while it is synced. */
  readonly now: readonly Message[];
  /** Sent once the write is durable. */
  readonly afterSync: readonly Message[];
}

export function splitBeforeSync(rd: Ready, role: Role): SendOrder {
  if (role !== Role.Leader || rd.softState !== null) return { now: [], afterSync: rd.messages };
  const firstNew = rd.entries[0]?.index ?? Infinity;
  const now: Message[] = [];
  const afterSync: Message[] = [];
  for (const m of rd.messages) {
    const replication = m.type === MessageType.App || m.type === MessageType.Commit || m.type === MessageType.Heartbeat;
    (replication && m.commit < firstNew ? now : afterSync).push(m);
  }
  return { now, afterSync };
}

/**
 * Whether the Ready's committed entries may be applied before its sync: when they all precede
 * its new entries, they were written and synced by earlier Readies (chat.db never gets ahead of
 * the durable log). Under load a leader's Ready carries both, and its clients need not wait for
 * the next sync to hear that their writes committed. Not a membership change: the core adopts
 * it at advance(), after the sync, and whoever watches the applied members table (a removal
 * waiting to be seen) must not find it ahead of the core's configuration.
 */
export function appliesBeforeSync(rd: Ready): boolean {
  const lastCommitted = rd.committed[rd.committed.length - 1]?.index ?? 0;
  if (lastCommitted >= (rd.entries[0]?.index ?? Infinity)) return false;
  return !rd.committed.some((e) => e.type === EntryType.ConfChange);
}
