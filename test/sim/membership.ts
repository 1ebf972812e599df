// Membership churn while the other faults run: new nodes join as learners, caught-up learners are
// promoted, voters (the leader included) are removed, and leadership is transferred.
import type { ConfChange, RaftStatus } from '../../main/raft/types.js';
import type { Cluster } from './cluster.js';
import { isMember } from '../../main/raft/confchange.js';
import type { Random } from './random.js';
import type { SimNode } from './sim-node.js';

const RATE = 1 / 100;
/** Never shrink below this many voters: the group must still tolerate one failure. */
const MIN_VOTERS = 3;
/** A learner is promoted once it is this close to the leader's last index. */
const CAUGHT_UP = 10;

export class Membership {
  /** Machines this churn created; founders are never re-added. */
  private readonly joiners: SimNode[] = [];
  constructor(private readonly cluster: Cluster, private readonly rng: Random, private readonly maxNodes: number) {}

  step(): void {
    if (!this.rng.chance(RATE)) return;
    const leader = this.cluster.leader();
    const status = leader?.raft?.status();
    if (!leader || !status) return;
    const r = this.rng.next();
    if (r < 0.3) this.addLearner(leader, status);
    else if (r < 0.55) this.promote(leader, status);
    else if (r < 0.75) this.remove(leader, status);
    else this.transfer(leader, status);
  }

  /** Start a fresh machine (or retry one that never got in) and propose it as a learner. */
  private addLearner(leader: SimNode, status: RaftStatus): void {
    const node = this.joiners.find((n) => !this.cluster.removalsProposed.has(n.id) && neverJoined(n, status)) ?? this.newJoiner();
    if (!node) return;
    this.propose(leader, { type: 'addLearner', node: node.id, context: `addr-of-${node.id}` });
  }

  private newJoiner(): SimNode | null {
    if (this.cluster.size >= this.maxNodes) return null;
    const node = this.cluster.create();
    this.cluster.start(node);
    this.joiners.push(node);
    return node;
  }

  private promote(leader: SimNode, status: RaftStatus): void {
    const ready = status.progress.filter((p) => !p.voter && p.match + CAUGHT_UP >= status.lastIndex);
    if (ready.length > 0) this.propose(leader, { type: 'promote', node: this.rng.pick(ready).id });
  }

  private remove(leader: SimNode, status: RaftStatus): void {
    const { voters, learners } = status.conf;
    const candidates = voters.length > MIN_VOTERS ? [...voters, ...learners] : [...learners];
    if (candidates.length === 0) return;
    const node = this.rng.pick(candidates);
    this.cluster.removalsProposed.add(node);
    this.propose(leader, { type: 'remove', node });
  }

  /** Transfer through the leader, or half the time through any node (which forwards it). */
  private transfer(leader: SimNode, status: RaftStatus): void {
    const others = status.conf.voters.filter((id) => id !== leader.id);
    if (others.length === 0) return;
    const to = this.rng.pick(others);
    const via = this.rng.chance(0.5) ? leader : this.rng.pick(this.cluster.live());
    this.cluster.stats.transfers++;
    this.cluster.trace.event('transfer', via.id, 0, 0, () => `to ${to}`);
    this.cluster.attempt(() => via.raft?.transferLeadership(to));
  }

  private propose(leader: SimNode, cc: ConfChange): void {
    this.cluster.stats.confChangesProposed++;
    this.cluster.trace.event('conf-change', leader.id, 0, 0, () => `${cc.type} ${cc.node}`);
    this.cluster.attempt(() => leader.raft?.proposeConfChange(cc));
  }
}

/** A joiner that has not received a single entry and is not in the leader's configuration. */
function neverJoined(node: SimNode, status: RaftStatus): boolean {
  return !node.retired && node.storage.lastIndex() === 0 && !isMember(status.conf, node.id);
}
