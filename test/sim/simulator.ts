// One simulated run: a faulty phase (faults, churn and workload interleaved with the cluster's
// own work, every event checked), then a heal phase that restores everything and waits for the
// cluster to go quiet, then the end-of-run convergence checks. A run is a pure function of its
// options, so its seed replays it exactly.
import type { ConfState, RaftStatus } from '../../main/raft/types.js';
import type { Violation } from './checker.js';
import { Cluster } from './cluster.js';
import { FaultScheduler } from './faults.js';
import { nodeIndex } from './ids.js';
import { Membership } from './membership.js';
import { defaultOptions, type SimOptions } from './options.js';
import { Random } from './random.js';
import type { SimNode } from './sim-node.js';
import type { Stats } from './stats.js';
import { Workload } from './workload.js';

export interface RunResult {
  readonly seed: number;
  /** Steps simulated, faulty and heal phases together. */
  readonly steps: number;
  /** The first invariant broken, or null. */
  readonly violation: Violation | null;
  readonly stats: Stats;
  /** Hash of the whole trace: equal for two runs of one seed. */
  readonly traceHash: string;
}

/** How often (in steps) the heal phase checks for quiet, and how many quiet checks in a row count. */
const QUIET_EVERY = 10;
const QUIET_CHECKS = 2;

export function runSeed(options: Partial<SimOptions> & { seed: number }): RunResult {
  return new Simulation({ ...defaultOptions, ...options }).run();
}

class Simulation {
  private readonly cluster: Cluster;
  private readonly faults: FaultScheduler;
  private readonly workload: Workload;
  private readonly membership: Membership;

  constructor(private readonly options: SimOptions) {
    this.cluster = new Cluster(options);
    // Each policy draws from its own stream, so changing one does not reshuffle the others.
    const rng = new Random(~options.seed);
    this.faults = new FaultScheduler(this.cluster, rng.fork());
    this.workload = new Workload(this.cluster, rng.fork());
    this.membership = new Membership(this.cluster, rng.fork(), options.maxNodes);
  }

  run(): RunResult {
    const { checker } = this.cluster;
    try {
      for (let s = 0; s < this.options.steps && !checker.failed; s++) this.step(true);
      if (!checker.failed) this.heal();
    } catch (err) {
      checker.fail('exception', `exception: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    }
    this.cluster.stats.steps = this.cluster.now;
    return {
      seed: this.options.seed,
      steps: this.cluster.now,
      violation: checker.violations[0] ?? null,
      stats: this.cluster.stats,
      traceHash: this.cluster.trace.hash(),
    };
  }

  private step(faulty: boolean): void {
    const c = this.cluster;
    c.now++;
    c.trace.step = c.now;
    if (faulty) {
      this.faults.step();
      this.membership.step();
      this.workload.step();
    }
    c.deliver();
    c.tick();
    c.processReadies(faulty ? (n) => this.faults.readyCrash(n) : () => null);
  }

  /** Restore everything, then run until the members agree, or report that they never did. */
  private heal(): void {
    this.faults.healAll();
    this.cluster.trace.event('heal-all', '-');
    let quiet = 0;
    let why = 'not checked';
    for (let s = 1; s <= this.options.healSteps && !this.cluster.checker.failed; s++) {
      this.step(false);
      if (s % QUIET_EVERY !== 0) continue;
      const status = this.cluster.leader()?.raft?.status();
      why = status ? this.unsettled(status) ?? '' : 'no leader';
      quiet = why === '' ? quiet + 1 : 0;
      if (quiet === QUIET_CHECKS && status) return this.checkConverged(status);
    }
    this.cluster.checker.fail('liveness', `not converged ${this.options.healSteps} steps after healing (${why})`);
  }

  /** Why the cluster is not settled yet, or null when every member applied the leader's whole log. */
  private unsettled(status: RaftStatus): string | null {
    if (status.commit !== status.lastIndex) return `leader ${status.id} committed ${status.commit} of ${status.lastIndex}`;
    for (const id of members(status.conf)) {
      const node = this.cluster.nodes[nodeIndex(id)];
      if (!node?.live) return `member ${id} is down`;
      if (node.sm.applied !== status.commit) return `member ${id} applied ${node.sm.applied} of ${status.commit}`;
    }
    return null;
  }

  /** Every member holds the same state, and every proposal reported committed is in it. */
  private checkConverged(status: RaftStatus): void {
    const { checker, trace } = this.cluster;
    const nodes = members(status.conf).map((id) => this.cluster.nodes[nodeIndex(id)] as SimNode);
    const reference = nodes.find((n) => n.id === status.id) ?? (nodes[0] as SimNode);
    trace.event('converged', reference.id, status.commit, nodes.length, () => `at ${status.commit}, members ${nodes.map((n) => n.id).join(',')}`);
    for (const node of nodes) {
      if (node.sm.stateHash() !== reference.sm.stateHash()) checker.fail('convergence', `${node.id} state ${node.sm.stateHash()} differs from ${reference.id}'s ${reference.sm.stateHash()}`);
      if (!sameConf(node.sm.conf, status.conf)) checker.fail('convergence', `${node.id} applied membership ${describeConf(node.sm.conf)}, leader has ${describeConf(status.conf)}`);
      const missing = this.workload.reported.find((id) => !node.sm.has(id));
      if (missing) checker.fail('convergence', `${node.id} lacks ${missing}, which was reported committed`);
    }
  }
}

function members(conf: ConfState): string[] {
  return [...conf.voters, ...conf.learners];
}

function sameConf(a: ConfState, b: ConfState): boolean {
  return describeConf(a) === describeConf(b);
}

function describeConf(conf: ConfState): string {
  return `voters [${[...conf.voters].sort().join(',')}] learners [${[...conf.learners].sort().join(',')}]`;
}
