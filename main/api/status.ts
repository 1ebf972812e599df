// The peer's view of the group (for `quorum-chat status` and the admin panel), and leadership
// transfer that resolves once leadership has actually moved.
import { ChatApiError, type PeerRole, type PeerStatus } from '../../common/chat-api.js';
import type { Peer } from '../peer/peer.js';
import { ProposalDropped, type SoftState } from '../raft/types.js';
import { invalid, shown } from './errors.js';

export function peerStatus(peer: Peer): PeerStatus {
  const s = peer.status();
  // Only the leader tracks followers' progress; elsewhere every matchIndex is 0.
  const match = new Map(s.progress.map((p) => [p.id, p.match]));
  return {
    id: s.id, pid: process.pid, role: s.role as string as PeerRole, term: s.term, leader: s.leader,
    commitIndex: s.commit, appliedIndex: peer.appliedIndex,
    members: peer.members().map((m) => ({
      id: m.id, address: m.address, role: m.voter ? 'voter' : 'learner', matchIndex: match.get(m.id) ?? 0, reachable: m.reachable,
    })),
    firstIndex: s.firstIndex, lastIndex: s.lastIndex, snapshotIndex: s.snapshotIndex,
    autopilot: peer.autopilot?.recent() ?? [],
  };
}

/** Leaves the group (see ChatApi.leaveGroup); the status is the last one as a member. */
export async function leaveGroup(peer: Peer): Promise<PeerStatus> {
  if (!peer.hasDynamicMembership) throw new ChatApiError('unavailable', 'this peer belongs to a static group: its membership is fixed');
  try {
    await peer.leave();
  } catch (err) {
    if (err instanceof ChatApiError) throw err;
    throw new ChatApiError('unavailable', `could not leave: ${(err as Error).message}`);
  }
  return peerStatus(peer);
}

/** Asks the leader to hand over to `to` (default: this peer) and waits until it has. */
export async function transferLeadership(peer: Peer, to: string | undefined, timeoutMs: number): Promise<PeerStatus> {
  const target = to === undefined || to === '' ? peer.id : to;
  if (!peer.status().conf.voters.includes(target)) throw invalid(`${shown(target)} is not a voter of this group`);
  if (peer.leaderId() === target) return peerStatus(peer);
  const moved = leaderBecomes(peer, target, timeoutMs);
  try {
    peer.transferLeadership(target);
  } catch (err) {
    moved.cancel();
    if (err instanceof ProposalDropped) throw new ChatApiError('unavailable', 'the group has no leader right now: try again in a moment');
    throw err;
  }
  await moved.promise;
  return peerStatus(peer);
}

function leaderBecomes(peer: Peer, target: string, timeoutMs: number): { promise: Promise<void>; cancel: () => void } {
  let cancel = () => undefined as void;
  const promise = new Promise<void>((resolve, reject) => {
    const onLeader = (soft: SoftState) => {
      if (soft.leader !== target) return;
      cancel();
      resolve();
    };
    const timer = setTimeout(() => {
      cancel();
      reject(new ChatApiError('timeout', `leadership did not move to ${target} within ${timeoutMs / 1000} s (is it caught up and reachable?)`));
    }, timeoutMs);
    cancel = () => {
      clearTimeout(timer);
      peer.off('leader', onLeader);
    };
    peer.on('leader', onLeader);
  });
  return { promise, cancel };
}
