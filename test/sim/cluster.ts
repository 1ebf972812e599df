// The simulated world: the machines, the network between them, and the plumbing that moves
// messages, ticks and Ready batches. Policies (which faults, which workload) live elsewhere; the
// cluster only carries them out and feeds every observable event to the checker and the trace.
import { MessageType, ProposalDropped, RemovedError, Role, defaultConfig, type ConfState, type Entry, type Message, type RaftConfig, type ReadState, type SoftState } from '../../main/raft/types.js';
import { describeChange } from '../../main/raft/confchange.js';
import { Checker } from './checker.js';
import { MAX_NODES, nodeId, nodeIndex } from './ids.js';
import { Network } from './network.js';
import { isCoreBug, type SimOptions } from './options.js';
import { Random } from './random.js';
import { SimNode, type CrashPlan, type Host } from './sim-node.js';
import type { ApplyResult } from './state-machine.js';
import { newStats, type Stats } from './stats.js';
import { Trace } from './trace.js';

/** Hooks for the workload, which owns proposals and reads. */
export interface ClusterListener {
  onApplied(node: SimNode, e: Entry, result: ApplyResult): void;
  onReadServed(node: SimNode, rs: ReadState): void;
}

export class Cluster implements Host {
  readonly nodes: SimNode[] = [];
  readonly stats: Stats = newStats();
  readonly trace: Trace;
  readonly checker: Checker;
  readonly network: Network;
  readonly compactEvery: number;
  /** The simulated clock, in steps. */
  now = 0;
  listener: ClusterListener | null = null;
  /** Ids whose removal was proposed (Membership): never re-added, as ids are not reused. */
  readonly removalsProposed = new Set<string>();
  private readonly rng: Random;
  /** When a leader's driver flushes its deferred commit notices (the peer: after a quiet while). */
  private readonly noticeRng: Random;

  constructor(private readonly options: SimOptions) {
    this.rng = new Random(options.seed);
    this.trace = new Trace(options.verbose, options.out);
    this.checker = new Checker(() => `step ${this.now}`);
    this.network = new Network(this.rng.fork(), this.stats, this.trace);
    this.noticeRng = this.rng.fork();
    this.compactEvery = options.compactEvery;
    const founders: ConfState = { voters: Array.from({ length: options.founders }, (_, i) => nodeId(i)), learners: [] };
    for (let i = 0; i < options.founders; i++) this.start(this.create(founders));
  }

  /** A fresh machine with an empty disk: a founder, or a joiner that learns the group from the log. */
  create(conf: ConfState = { voters: [], learners: [] }): SimNode {
    if (this.nodes.length >= MAX_NODES) throw new Error('too many nodes');
    const index = this.nodes.length;
    const node = new SimNode(nodeId(index), index, conf, this.rng.fork(), this.options.stepsPerTick);
    node.sendsEverythingEarly = this.options.bug === 'sendBeforeWrite';
    this.nodes.push(node);
    return node;
  }

  get size(): number {
    return this.nodes.length;
  }

  /** Machines that are up (and not retired). */
  live(): SimNode[] {
    return this.nodes.filter((n) => n.live);
  }

  /** The live node that most recently claimed leadership in the highest term, if any. */
  leader(): SimNode | null {
    let best: SimNode | null = null;
    for (const n of this.nodes) {
      if (n.live && n.role === Role.Leader && (!best || n.term > best.term)) best = n;
    }
    return best;
  }

  start(node: SimNode): void {
    node.start(this.config(node));
    this.trace.event('start', node.id, node.incarnation, node.storage.hardState.term, () => `incarnation ${node.incarnation}, disk term ${node.storage.hardState.term} commit ${node.storage.hardState.commit} applied ${node.sm.applied}`);
  }

  crash(node: SimNode, why: string): void {
    if (node.stop()) this.stats.sentTailsLost++;
    this.stats.crashes++;
    this.trace.event('crash', node.id, node.incarnation, 0, () => why);
  }

  restart(node: SimNode): void {
    this.stats.restarts++;
    this.start(node);
  }

  /** Call into a node that may refuse with ProposalDropped (counted, returns false); anything else is a bug. */
  attempt(call: () => void): boolean {
    try {
      call();
      return true;
    } catch (err) {
      if (!(err instanceof ProposalDropped)) throw err;
      this.stats.proposalsDropped++;
      return false;
    }
  }

  /**
   * Deliver the messages due now (a slow node still takes its mail; it is only slow to tick and to
   * handle its Ready, so its batches grow). Mail for a machine that is down is lost.
   */
  deliver(): void {
    for (const m of this.network.due(this.now)) {
      const node = this.nodes[nodeIndex(m.to)];
      if (!node?.raft) {
        this.trace.message('lost', m);
        // The sender's transport sees its connection refused, as a real one would.
        this.nodes[nodeIndex(m.from)]?.raft?.reportUnreachable(m.to);
        continue;
      }
      this.stats.delivered++;
      this.trace.message('recv', m);
      try {
        node.raft.step(m);
      } catch (err) {
        if (!(err instanceof RemovedError)) throw err;
        this.toldRemoved(node);
      }
    }
  }

  /** A leader said `node` is not a member: right only if its removal was proposed (and so committed). */
  private toldRemoved(node: SimNode): void {
    if (!this.removalsProposed.has(node.id)) throw new Error(`${node.id} was told it is not a member, though nobody proposed its removal`);
    this.stats.toldRemoved++;
    this.trace.event('told-removed', node.id);
    node.leaving = true; // its driver stops it, as one that applied its own removal
  }

  tick(): void {
    const { stepsPerTick } = this.options;
    for (const n of this.nodes) {
      if (!n.raft || !n.isActive(this.now)) continue;
      if ((this.now + n.tickPhase) % stepsPerTick === 0) n.raft.tick();
      if (n.raft.commitNoticePending() && this.noticeRng.int(4) === 0) n.raft.flushCommitNotices();
    }
  }

  /**
   * Let every active node handle its Ready (a slow-disk node finishes one only when its write is
   * done); `crashPlan` decides whether one dies part-way.
   */
  processReadies(crashPlan: (node: SimNode) => CrashPlan | null): void {
    for (const n of this.nodes) {
      // A node may have more work after advance (e.g. entries it could not hand out in one batch).
      for (let round = 0; round < 4 && n.raft && n.isActive(this.now); round++) {
        if (!n.writing && n.raft.hasReady()) n.beginReady(this, this.now);
        if (!n.writeDone(this.now)) {
          n.applyWhileWriting(this);
          break;
        }
        n.completeReady(this, crashPlan(n));
      }
      // A removed leader's hand-over (TimeoutNow) goes out before the machine leaves.
      if (n.leaving && n.raft && !n.writing && !n.raft.hasReady()) n.retire(this);
    }
  }

  // ---- Host: what a SimNode reports while processing a Ready ----

  send(from: SimNode, m: Message): void {
    if (this.checker.onSend(m, from.storage)) this.onNewLeader(m.from, m.term);
    if (m.type === MessageType.Snap) this.stats.snapshotsSent++;
    this.trace.message('send', m);
    this.network.send(m, this.now);
  }

  onSoftState(node: SimNode, ss: SoftState): void {
    node.role = ss.role;
    node.term = ss.term;
    this.trace.event('role', node.id, ss.term, 0, () => `${ss.role} term ${ss.term} leader ${ss.leader}`);
    if (ss.role === Role.Leader && this.checker.onLeader(node.id, ss.term)) this.onNewLeader(node.id, ss.term);
  }

  onApplied(node: SimNode, e: Entry, result: ApplyResult): void {
    if (result.duplicate) this.stats.duplicateApplies++;
    if (result.change) {
      this.stats.confChangesApplied++;
      this.trace.event('apply-conf', node.id, e.index, 0, () => `${describeChange(result.change)} at ${e.index}`);
    }
    this.listener?.onApplied(node, e, result);
  }

  onReadServed(node: SimNode, rs: ReadState): void {
    this.listener?.onReadServed(node, rs);
  }

  private onNewLeader(id: string, term: number): void {
    this.stats.leaderChanges++;
    this.trace.event('leader', id, term, 0, () => `of term ${term}`);
  }

  private config(node: SimNode): RaftConfig {
    const random = this.rng.fork();
    return {
      ...defaultConfig,
      id: node.id,
      random: () => random.next(),
      electionTicks: 10,
      heartbeatTicks: 1,
      preVote: true,
      checkQuorum: true,
      maxMsgBytes: 4096,
      maxInflightMsgs: 4,
      maxInflightBytes: 16384,
      maxUncommittedBytes: 32768,
      deferCommitNotices: true, // as the peer runs it
      bugs: this.options.bug !== null && isCoreBug(this.options.bug) ? { [this.options.bug]: true } : {},
    };
  }
}
