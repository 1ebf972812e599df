// RaftNode: the consensus core's public face (Ready/advance API, after etcd-io/raft's RawNode).
// IMPLEMENTATION IN PROGRESS — the signatures below are the contract.
import type { ConfChange, InitialState, Message, RaftConfig, RaftStatus, Ready } from './types.js';

export class RaftNode {
  constructor(_config: RaftConfig, _initial: InitialState) { throw new Error('in progress'); }
  /** Advance logical time by one tick (election and heartbeat timers count ticks). */
  tick(): void {}
  /** Feed one message from the network (or a local Prop). Stale or malformed messages are ignored. */
  step(_m: Message): void {}
  /** Propose application bytes. Throws ProposalDropped when it cannot be accepted now. */
  propose(_data: Uint8Array): void {}
  /** Propose one single-server membership change; one may be in flight at a time. */
  proposeConfChange(_cc: ConfChange): void {}
  /** Ask the leader to hand leadership to `to` (TimeoutNow once `to` is caught up). */
  transferLeadership(_to: string): void {}
  /** Linearizable read: a ReadState with `context` appears in a later Ready. */
  readIndex(_context: string): void {}
  /** Start an election now (if this node may). */
  campaign(): void {}
  /** The application took a snapshot at `index` (≤ applied): compact the log up to it. */
  compact(_index: number, _data: Uint8Array): void {}
  hasReady(): boolean { return false; }
  ready(): Ready { throw new Error('in progress'); }
  /** The driver finished processing `rd` (persisted, sent, applied). */
  advance(_rd: Ready): void {}
  status(): RaftStatus { throw new Error('in progress'); }
}
