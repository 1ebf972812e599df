// Joining and leaving a group. The joiner holds the secret, so it has a group certificate; it calls Join
// on any member it can find (mDNS or an address given by hand). A member that does not lead
// forwards the request to the leader, which adds the node as a learner with a context holding
// its addresses and certificate fingerprint (pinned by every member from then on). The joiner
// then catches up like any lagging follower (entries from 1, or a snapshot). Leaving is the
// same path the other way: a member asks (through any member) to be removed.
import * as grpc from '@grpc/grpc-js';
import { parseAddress } from '../discovery/addresses.js';
import { ProposalDropped, Role } from '../raft/types.js';
import { callCertificate, callIdentity } from '../security/tls.js';
import type { JoinReply, JoinRequest, LeaveReply, LeaveRequest, MembershipCalls, MembershipHandlers } from '../transport/transport.js';
import { encodeMemberContext } from './member-context.js';
import type { Peer } from './peer.js';

class MembershipRefused extends Error {
  constructor(readonly code: grpc.status, message: string) {
    super(message);
  }
}

const nodeIdPattern = /^[A-Za-z0-9_.-]{1,64}$/;

/** A member's Join and Leave RPCs: the leader acts on them, any other member forwards them. */
export function membershipHandlers(peer: Peer): MembershipHandlers {
  return {
    join: async (call) => {
      const request = admitJoin(peer, call);
      if (peer.role() !== Role.Leader) return forwardToLeader(peer, 'Join', request);
      return addLearner(peer, request);
    },
    leave: async (call) => {
      const request = admitLeave(peer, call);
      if (peer.role() !== Role.Leader) return forwardToLeader(peer, 'Leave', request);
      return removeMember(peer, request);
    },
  };
}

/**
 * The request to act on. The caller must hold a group certificate; it is either the joiner
 * itself (its certificate fixes the fingerprint) or a member forwarding for it.
 */
function admitJoin(peer: Peer, call: grpc.ServerUnaryCall<JoinRequest, JoinReply>): JoinRequest {
  const who = callIdentity(call);
  if (who === null) throw new MembershipRefused(grpc.status.UNAUTHENTICATED, 'Join needs a group certificate (TLS)');
  const { nodeId, addresses, fingerprint } = call.request;
  if (!nodeIdPattern.test(nodeId)) throw new MembershipRefused(grpc.status.INVALID_ARGUMENT, 'bad node id');
  if (addresses.length > 16 || addresses.some((a) => parseAddress(a) === null)) {
    throw new MembershipRefused(grpc.status.INVALID_ARGUMENT, 'addresses must be host:port (at most 16)');
  }
  if (who.nodeId === nodeId) {
    if (!peer.authenticate(callCertificate(call), nodeId)) throw new MembershipRefused(grpc.status.PERMISSION_DENIED, `${nodeId} is pinned to another certificate`);
    return { nodeId, addresses, fingerprint: who.fingerprint };
  }
  admitForwarder(peer, call, who.nodeId);
  return { nodeId, addresses, fingerprint };
}

/** Only a member may leave, asking for itself or forwarded by another member. */
function admitLeave(peer: Peer, call: grpc.ServerUnaryCall<LeaveRequest, LeaveReply>): LeaveRequest {
  const who = callIdentity(call);
  if (who === null) throw new MembershipRefused(grpc.status.UNAUTHENTICATED, 'Leave needs a group certificate (TLS)');
  if (who.nodeId !== call.request.nodeId) admitForwarder(peer, call, who.nodeId);
  else if (!peer.authenticate(callCertificate(call), who.nodeId)) throw new MembershipRefused(grpc.status.PERMISSION_DENIED, `${who.nodeId} is pinned to another certificate`);
  return { nodeId: call.request.nodeId };
}

/** A request on another node's behalf must come from a member (with its pinned certificate). */
function admitForwarder(peer: Peer, call: Pick<grpc.ServerUnaryCall<unknown, unknown>, 'getAuthContext'>, caller: string): void {
  if (!peer.isMember(caller) || !peer.authenticate(callCertificate(call), caller)) {
    throw new MembershipRefused(grpc.status.PERMISSION_DENIED, 'only the node itself or a member may ask for it');
  }
}

async function forwardToLeader<M extends keyof MembershipCalls>(peer: Peer, method: M, request: MembershipCalls[M][0]): Promise<MembershipCalls[M][1]> {
  const leader = peer.leaderId();
  const address = leader === null ? null : peer.addressOf(leader);
  if (leader === null || address === null) throw new MembershipRefused(grpc.status.UNAVAILABLE, 'no leader known yet; retry');
  return peer.askMember(method, address, request, leader);
}

async function removeMember(peer: Peer, request: LeaveRequest): Promise<LeaveReply> {
  if (!peer.isMember(request.nodeId)) return {};
  try {
    await peer.changeMembership({ type: 'remove', node: request.nodeId });
  } catch (err) {
    throw new MembershipRefused(grpc.status.UNAVAILABLE, `not removed (${(err as Error).message}); retry`);
  }
  return {};
}

async function addLearner(peer: Peer, request: JoinRequest): Promise<JoinReply> {
  if (!peer.isMember(request.nodeId)) {
    const context = encodeMemberContext({ addresses: request.addresses, fingerprint: request.fingerprint });
    try {
      await peer.changeMembership({ type: 'addLearner', node: request.nodeId, context });
    } catch (err) {
      // Another change in flight, or leadership moved: the joiner retries.
      const reason = err instanceof ProposalDropped ? 'leadership is changing' : (err as Error).message;
      throw new MembershipRefused(grpc.status.UNAVAILABLE, `not added yet (${reason}); retry`);
    }
  } else if (request.addresses[0] !== undefined) {
    peer.setAddress(request.nodeId, request.addresses[0]); // a member back from a new address
  }
  return { members: peer.addressBook() };
}

export interface JoinOptions {
  /** Where this node listens (sent to the group). */
  readonly addresses: () => string[];
  /** Addresses of members to try, best first (manual address, discovery, cache). */
  readonly candidates: () => { address: string; nodeId: string | null }[];
  readonly retryMs?: number;
  readonly signal?: AbortSignal;
  /** A member could not be reached or refused us (for the log: a join that never ends says why). */
  readonly onAttemptFailed?: (address: string, err: Error) => void;
}

/**
 * Asks members to add this node until one did (it is then in the membership it applied, or
 * about to be). Learns every member's address from the reply. Resolves with the member that
 * answered; rejects only when aborted.
 */
export async function joinGroup(peer: Peer, options: JoinOptions): Promise<string> {
  const retryMs = options.retryMs ?? 1_000;
  for (;;) {
    options.signal?.throwIfAborted();
    for (const { address, nodeId } of options.candidates()) {
      try {
        const reply = await peer.askMember('Join', address, { nodeId: peer.id, addresses: options.addresses(), fingerprint: '' }, nodeId);
        for (const m of reply.members) if (m.id !== peer.id) peer.setAddress(m.id, m.address);
        return address;
      } catch (err) {
        // not reachable, not a member of our group, or busy: try the next one
        options.onAttemptFailed?.(address, err as Error);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, retryMs));
  }
}
