// Client-like workload: numbered proposals through random live nodes and linearizable reads.
// It remembers which proposals were reported committed (the node they were proposed through
// applied them), which the end-of-run check requires on every member, exactly once.
import type { Entry } from '../../main/raft/types.js';
import type { Cluster, ClusterListener } from './cluster.js';
import { encodeCommand } from './command.js';
import type { Random } from './random.js';
import type { SimNode } from './sim-node.js';
import type { ApplyResult } from './state-machine.js';

const CLIENTS = 4;
const MAX_PADDING = 1000;

interface Proposal {
  readonly via: SimNode;
  readonly incarnation: number;
  /** Log index at which `via` applied it (0 until then). */
  reportedAt: number;
}

export class Workload implements ClusterListener {
  readonly reported: string[] = [];
  private readonly seq = new Array<number>(CLIENTS).fill(0);
  private readonly proposals = new Map<string, Proposal>();
  private reads = 0;

  constructor(private readonly cluster: Cluster, private readonly rng: Random) {
    cluster.listener = this;
  }

  /** One step of client activity: sometimes a proposal, occasionally a burst or a read. */
  step(): void {
    const r = this.rng.next();
    if (r < 0.25) this.propose();
    else if (r < 0.26) for (let i = 0; i < 8; i++) this.propose();
    else if (r < 0.29) this.read();
  }

  onApplied(node: SimNode, e: Entry, result: ApplyResult): void {
    if (result.id === null || result.duplicate) return;
    const p = this.proposals.get(result.id);
    if (!p || p.via !== node || p.incarnation !== node.incarnation || p.reportedAt !== 0) return;
    p.reportedAt = e.index;
    this.reported.push(result.id);
    this.cluster.stats.reportedCommitted++;
  }

  onReadServed(): void {
    this.cluster.stats.readsCompleted++;
  }

  private propose(): void {
    const via = this.randomLiveNode();
    if (!via?.raft) return;
    const client = this.rng.int(CLIENTS);
    const seq = (this.seq[client] ?? 0) + 1;
    this.seq[client] = seq;
    const id = `c${client}:${seq}`;
    this.cluster.stats.proposals++;
    if (!this.cluster.attempt(() => via.raft?.propose(encodeCommand(id, this.rng.int(MAX_PADDING))))) return;
    this.proposals.set(id, { via, incarnation: via.incarnation, reportedAt: 0 });
    this.cluster.trace.event('propose', via.id, client, seq);
  }

  private read(): void {
    const via = this.randomLiveNode();
    if (!via?.raft) return;
    const context = `r${++this.reads}`;
    this.cluster.stats.reads++;
    this.cluster.checker.onReadIssued(context);
    if (this.cluster.attempt(() => via.raft?.readIndex(context))) this.cluster.trace.event('read', via.id, this.reads);
  }

  private randomLiveNode(): SimNode | null {
    const live = this.cluster.live();
    return live.length > 0 ? this.rng.pick(live) : null;
  }
}
