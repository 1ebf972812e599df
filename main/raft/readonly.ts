// The leader's queue of linearizable reads (dissertation §6.4): each waits until a majority of
// voters has acknowledged a heartbeat sent after it arrived, proving this node still leads.
import { hasQuorum } from './quorum.js';
import type { NodeId } from './types.js';

export interface PendingRead {
  /** Who asked (the leader itself or a follower that forwarded the read). */
  readonly from: NodeId;
  readonly context: string;
  /** The commit index when the read arrived: the answer. */
  index: number;
  /** Until an entry of the leader's term commits, its commit index may lag: wait for it. */
  waitingForCommit: boolean;
  readonly acks: Set<NodeId>;
}

export class ReadOnlyQueue {
  private queue: PendingRead[] = [];

  add(read: Omit<PendingRead, 'acks'>, self: NodeId): void {
    this.queue.push({ ...read, acks: new Set([self]) });
  }

  /** Marks reads that waited for a current-term commit as ready; returns their contexts. */
  releaseCommitWait(committed: number): string[] {
    const released: string[] = [];
    for (const read of this.queue) {
      if (!read.waitingForCommit) continue;
      read.waitingForCommit = false;
      read.index = committed;
      released.push(read.context);
    }
    return released;
  }

  /**
   * A heartbeat carrying `context` was acknowledged by `from`. Once a majority has acknowledged
   * it, that read and every read queued before it are answered; they are returned in order.
   */
  acknowledge(context: string, from: NodeId, voters: readonly NodeId[]): PendingRead[] {
    const at = this.queue.findIndex((r) => r.context === context);
    if (at < 0) return [];
    const read = this.queue[at] as PendingRead;
    if (read.waitingForCommit) return [];
    read.acks.add(from);
    if (!hasQuorum(voters, (id) => read.acks.has(id))) return [];
    return this.queue.splice(0, at + 1);
  }

  clear(): void {
    this.queue = [];
  }
}
