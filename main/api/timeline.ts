// Elections and leader changes as this peer saw them, with wall-clock times: what the admin
// panel draws. Fed by the peer's 'leader' events (one per change of role, leader or term).
import type { TimelineEntry } from '../../common/chat-api.js';
import type { Peer } from '../peer/peer.js';
import { Role, type SoftState } from '../raft/types.js';

const keepEntries = 100;

export class LeaderTimeline {
  private readonly entries: TimelineEntry[] = [];
  private last: SoftState = { role: Role.Follower, leader: null, term: 0 };

  constructor(private readonly peer: Peer, private readonly now: () => number = Date.now) {
    peer.on('leader', this.onLeader);
  }

  /** Oldest first, at most the last 100. */
  recent(): readonly TimelineEntry[] {
    return [...this.entries];
  }

  close(): void {
    this.peer.off('leader', this.onLeader);
  }

  /** Runs inside the peer's Ready loop: cheap, and never throws. */
  private readonly onLeader = (soft: SoftState): void => {
    const before = this.last;
    this.last = soft;
    if (startsElection(before, soft)) this.record('election', soft.term, this.peer.id);
    if (soft.leader !== null && (soft.leader !== before.leader || soft.term !== before.term)) this.record('leader', soft.term, soft.leader);
    // The lost leader is named, so that "who was gone" can be read off the timeline.
    if (soft.leader === null && before.leader !== null) this.record('no-leader', soft.term, before.leader);
  };

  private record(kind: TimelineEntry['kind'], term: number, node: string | null): void {
    this.entries.push({ at: this.now(), term, kind, node });
    if (this.entries.length > keepEntries) this.entries.shift();
  }
}

function campaigning(role: Role): boolean {
  return role === Role.PreCandidate || role === Role.Candidate;
}

/**
 * A new campaign: entering pre-vote or vote from elsewhere, or a new round of either. A
 * pre-candidate that won its pre-vote and now asks for votes continues the same election.
 */
function startsElection(before: SoftState, soft: SoftState): boolean {
  if (!campaigning(soft.role)) return false;
  if (!campaigning(before.role)) return true;
  if (before.role === Role.PreCandidate && soft.role === Role.Candidate) return false;
  return soft.role !== before.role || soft.term !== before.term;
}
