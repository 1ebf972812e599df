// What the always-visible status bar says, derived from the peer's status() and the link state.
import type { PeerStatus } from '../../../common/chat-api.js';

export type GroupStatusKind = 'loading' | 'connected' | 'no-quorum' | 'disconnected';

export interface GroupStatusView {
  readonly kind: GroupStatusKind;
  readonly text: string;
  readonly leader: string | null;
  readonly reachable: number;
  readonly total: number;
  readonly quorum: boolean;
}

export interface GroupStatusInput {
  /** Whether the link to this app's own peer is up. */
  readonly connected: boolean;
  /** The last status() answer (null before the first). */
  readonly status: PeerStatus | null;
  /** The leader of the last `group` event, if newer than the status (undefined: none). */
  readonly eventLeader?: string | null;
}

export function countReachable(status: PeerStatus): { reachable: number; total: number; reachableVoters: number; voters: number } {
  let reachable = 0;
  let reachableVoters = 0;
  let voters = 0;
  for (const m of status.members) {
    const up = m.id === status.id || m.reachable;
    if (up) reachable++;
    if (m.role === 'voter') {
      voters++;
      if (up) reachableVoters++;
    }
  }
  return { reachable, total: status.members.length, reachableVoters, voters };
}

/** A leader is known and reachable, and reachable voters are a majority of the voters. */
export function hasQuorum(status: PeerStatus, leader: string | null = status.leader): boolean {
  if (!leader) return false;
  const { reachableVoters, voters } = countReachable(status);
  const leaderMember = status.members.find((m) => m.id === leader);
  const leaderUp = leader === status.id || (leaderMember?.reachable ?? false);
  return leaderUp && voters > 0 && reachableVoters >= Math.floor(voters / 2) + 1;
}

function peers(n: number): string {
  return n === 1 ? 'peer' : 'peers';
}

export function deriveGroupStatus(input: GroupStatusInput): GroupStatusView {
  if (!input.connected) {
    return { kind: 'disconnected', text: 'Disconnected from your peer — reconnecting', leader: null, reachable: 0, total: 0, quorum: false };
  }
  const status = input.status;
  if (!status || status.members.length === 0) {
    return { kind: 'loading', text: 'Connecting to the group…', leader: null, reachable: 0, total: 0, quorum: false };
  }
  const leader = input.eventLeader !== undefined ? input.eventLeader : status.leader;
  const { reachable, total } = countReachable(status);
  const quorum = hasQuorum(status, leader);
  if (quorum) {
    return {
      kind: 'connected', text: `Connected — leader ${leader}, ${reachable} of ${total} ${peers(total)} reachable`,
      leader, reachable, total, quorum,
    };
  }
  return {
    kind: 'no-quorum',
    text: `No quorum — ${reachable} of ${total} ${peers(total)} reachable; your messages will be sent when the group is back`,
    leader, reachable, total, quorum,
  };
}
