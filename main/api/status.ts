// The peer's view of the group (for `quorum-chat status` and the admin panel), leadership
// transfer that resolves once leadership has actually moved, and removing members.
import { ChatApiError, type PeerRole, type PeerStatus } from '../../common/chat-api.js';
import type { Peer } from '../peer/peer.js';
import { ProposalDropped, Role } from '../raft/types.js';
import { invalid, shown } from './errors.js';
import type { LeaderTimeline } from './timeline.js';

/** What a status is made of: the peer, and the elections it saw. */
export interface StatusSource {
  readonly peer: Peer;
  readonly timeline: LeaderTimeline;
}

export function peerStatus({ peer, timeline }: StatusSource): PeerStatus {
  const s = peer.status();
  const now = Date.now();
  // Only the leader tracks followers' progress; elsewhere every matchIndex is 0.
  const match = new Map(s.progress.map((p) => [p.id, p.match]));
  return {
    id: s.id, pid: process.pid, role: s.role as string as PeerRole, term: s.term, leader: s.leader,
    commitIndex: s.commit, appliedIndex: peer.appliedIndex,
    members: peer.members().map((m) => ({
      id: m.id, address: m.address, role: m.voter ? 'voter' : 'learner', matchIndex: match.get(m.id) ?? 0, reachable: m.reachable,
      lastContact: m.id === peer.id ? now : peer.lastHeardFrom(m.id) ?? null,
    })),
    firstIndex: s.firstIndex, lastIndex: s.lastIndex, snapshotIndex: s.snapshotIndex,
    autopilot: peer.autopilot?.recent() ?? [],
    timeline: timeline.recent(),
    dynamicMembership: peer.hasDynamicMembership,
  };
}

const noLeader = () => new ChatApiError('unavailable', 'the group has no leader right now: try again in a moment');

function refuseStatic(peer: Peer): void {
  if (!peer.hasDynamicMembership) throw new ChatApiError('unavailable', 'this peer belongs to a static group: its membership is fixed');
}

/** Leaves the group (see ChatApi.leaveGroup); the status is the last one as a member. */
export async function leaveGroup(source: StatusSource): Promise<PeerStatus> {
  refuseStatic(source.peer);
  try {
    await source.peer.leave();
  } catch (err) {
    if (err instanceof ChatApiError) throw err;
    throw new ChatApiError('unavailable', `could not leave: ${(err as Error).message}`);
  }
  return peerStatus(source);
}

/**
 * Removes member `id` (see ChatApi.removeMember): the leader proposes the change itself; any
 * other peer asks the leader with the Leave RPC a member may forward. Resolves once this
 * peer's own view of the membership no longer has `id`.
 */
export async function removeMember(source: StatusSource, id: unknown, timeoutMs: number): Promise<PeerStatus> {
  const { peer } = source;
  refuseStatic(peer);
  if (typeof id !== 'string' || id === '') throw invalid('name the member to remove (its node id)');
  const { voters } = peer.status().conf;
  if (!peer.isMember(id)) throw invalid(`${shown(id)} is not a member of this group`);
  if (voters.length === 1 && voters[0] === id) throw invalid(`${shown(id)} is the group's last voter: without it nobody could decide anything`);
  const gone = memberGone(peer, id, timeoutMs);
  try {
    await askLeaderToRemove(peer, id, timeoutMs);
    await gone.promise;
  } finally {
    gone.cancel();
  }
  return peerStatus(source);
}

async function askLeaderToRemove(peer: Peer, id: string, timeoutMs: number): Promise<void> {
  try {
    if (peer.role() === Role.Leader) return await peer.changeMembership({ type: 'remove', node: id }, timeoutMs);
    const leader = peer.leaderId();
    const address = leader === null ? null : peer.addressOf(leader);
    if (leader === null || address === null) throw noLeader();
    await peer.askMember('Leave', address, { nodeId: id }, leader);
  } catch (err) {
    if (err instanceof ChatApiError) throw err;
    if (err instanceof ProposalDropped) throw noLeader();
    // Another membership change in flight, leadership moving, the leader unreachable: retryable.
    throw new ChatApiError('unavailable', `${shown(id)} was not removed (${(err as Error).message}); try again`);
  }
}

/** Resolves once this replica has applied the removal (the core sees it after the batch). */
function memberGone(peer: Peer, id: string, timeoutMs: number): Waiting {
  const waiting = peerReaches(peer, 'applied', () => !peer.isMember(id), timeoutMs,
    () => new ChatApiError('timeout', `the removal of ${shown(id)} was not applied here within ${timeoutMs / 1000} s`));
  waiting.promise.catch(() => undefined); // awaited only after the request went through
  return waiting;
}

/** Asks the leader to hand over to `to` (default: this peer) and waits until it has. */
export async function transferLeadership(source: StatusSource, to: string | undefined, timeoutMs: number): Promise<PeerStatus> {
  const { peer } = source;
  const target = to === undefined || to === '' ? peer.id : to;
  if (typeof target !== 'string') throw invalid('name the voter to hand leadership to (its node id)');
  if (!peer.status().conf.voters.includes(target)) throw invalid(`${shown(target)} is not a voter of this group`);
  if (peer.leaderId() === target) return peerStatus(source);
  const moved = leaderBecomes(peer, target, timeoutMs);
  try {
    peer.transferLeadership(target);
  } catch (err) {
    moved.cancel();
    if (err instanceof ProposalDropped) throw noLeader();
    throw err;
  }
  await moved.promise;
  return peerStatus(source);
}

function leaderBecomes(peer: Peer, target: string, timeoutMs: number): Waiting {
  return peerReaches(peer, 'leader', () => peer.leaderId() === target, timeoutMs,
    () => new ChatApiError('timeout', `leadership did not move to ${target} within ${timeoutMs / 1000} s (is it caught up and reachable?)`));
}

interface Waiting {
  readonly promise: Promise<void>;
  readonly cancel: () => void;
}

/**
 * Resolves once `reached()` holds, checked now and after each `event` of the peer (on the next
 * turn: the core settles after the event's batch); fails with `timeout()` after `timeoutMs`.
 */
function peerReaches(peer: Peer, event: 'applied' | 'leader', reached: () => boolean, timeoutMs: number, timeout: () => ChatApiError): Waiting {
  let cancel = () => undefined as void;
  const promise = new Promise<void>((resolve, reject) => {
    const check = () => setImmediate(() => {
      if (!reached()) return;
      cancel();
      resolve();
    });
    const timer = setTimeout(() => {
      cancel();
      reject(timeout());
    }, timeoutMs);
    cancel = () => {
      clearTimeout(timer);
      peer.off(event, check);
    };
    peer.on(event, check);
    check();
  });
  return { promise, cancel };
}
