// Single-server membership changes: encoding inside log entries and their effect on a ConfState.
import type { ConfBootstrap, ConfChange, ConfChangeType, ConfState, NodeId } from './types.js';

/** What a ConfChange entry holds: one change, or the founders' membership (entry 1). */
export type MembershipEntry = ConfChange | ConfBootstrap;

const changeTypes: readonly ConfChangeType[] = ['addLearner', 'promote', 'addVoter', 'remove'];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeConfChange(cc: MembershipEntry): Uint8Array {
  return encoder.encode(JSON.stringify(cc));
}

/** Decodes a ConfChange entry; throws on bytes that are not one (a corrupt entry). */
export function decodeConfChange(data: Uint8Array): MembershipEntry {
  const value: unknown = JSON.parse(decoder.decode(data));
  if (typeof value !== 'object' || value === null) throw new Error('conf change: not an object');
  const { type, node, context, conf } = value as Record<string, unknown>;
  if (type === 'bootstrap') return { type, conf: decodeConfState(conf) };
  if (!changeTypes.includes(type as ConfChangeType)) throw new Error(`conf change: bad type ${String(type)}`);
  if (typeof node !== 'string' || node === '') throw new Error('conf change: bad node id');
  if (context !== undefined && typeof context !== 'string') throw new Error('conf change: bad context');
  return context === undefined ? { type: type as ConfChangeType, node } : { type: type as ConfChangeType, node, context };
}

/** decodeConfChange(), or null for a corrupt entry, which is a no-op on every replica alike. */
export function decodeConfChangeOrNull(data: Uint8Array): MembershipEntry | null {
  try {
    return decodeConfChange(data);
  } catch {
    return null;
  }
}

function decodeConfState(value: unknown): ConfState {
  const { voters, learners } = (value ?? {}) as Record<string, unknown>;
  const ids = (v: unknown): NodeId[] => {
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && x !== '')) throw new Error('conf change: bad member list');
    return v as NodeId[];
  };
  return { voters: ids(voters), learners: ids(learners) };
}

export function isMember(conf: ConfState, id: NodeId): boolean {
  return conf.voters.includes(id) || conf.learners.includes(id);
}

/** Why `cc` makes no sense against `conf` (null when it is valid). Checked when proposing. */
export function confChangeProblem(conf: ConfState, cc: ConfChange): string | null {
  const voter = conf.voters.includes(cc.node);
  const learner = conf.learners.includes(cc.node);
  switch (cc.type) {
    case 'addLearner': return voter || learner ? `${cc.node} is already a member` : null;
    case 'addVoter': return voter ? `${cc.node} is already a voter` : null;
    case 'promote': return learner ? null : `${cc.node} is not a learner`;
    case 'remove':
      if (!voter && !learner) return `${cc.node} is not a member`;
      return voter && conf.voters.length === 1 ? 'cannot remove the last voter' : null;
  }
}

/** The membership after `cc`. Changes that no longer make sense when applied leave it unchanged. */
export function applyConfChange(conf: ConfState, cc: MembershipEntry): ConfState {
  if (cc.type === 'bootstrap') return cc.conf;
  if (confChangeProblem(conf, cc) !== null) return conf;
  const without = (ids: readonly NodeId[]) => ids.filter((id) => id !== cc.node);
  switch (cc.type) {
    case 'addLearner': return { voters: conf.voters, learners: [...conf.learners, cc.node] };
    case 'addVoter':
    case 'promote': return { voters: [...conf.voters, cc.node], learners: without(conf.learners) };
    case 'remove': return { voters: without(conf.voters), learners: without(conf.learners) };
  }
}

/** A membership entry for logs and traces, e.g. "promote n4" or "bootstrap voters=[n1,n2,n3]". */
export function describeChange(cc: MembershipEntry | null): string {
  if (cc === null) return '-';
  if (cc.type === 'bootstrap') return `bootstrap voters=[${cc.conf.voters.join(',')}] learners=[${cc.conf.learners.join(',')}]`;
  return `${cc.type} ${cc.node}`;
}
