// The fault scheduler: network weather, partitions, crashes (between steps and inside Ready
// processing), restarts, slow nodes, slow disks and forced elections. Its rates keep a majority
// usually reachable, so that runs make progress between faults; whole-cluster restarts are rare.
import type { Cluster } from './cluster.js';
import { nodeId } from './ids.js';
import { calmWeather, type Weather } from './network.js';
import { bridge, halves, isolate, oneWay, type Partition } from './partitions.js';
import type { Random } from './random.js';
import { crashStages, type CrashPlan, type SimNode } from './sim-node.js';

const weathers: readonly Weather[] = [
  calmWeather,
  { name: 'lossy', drop: 0.1, dup: 0, minDelay: 1, maxDelay: 3, spike: 0, spikeMax: 0 },
  { name: 'duplicating', drop: 0.02, dup: 0.15, minDelay: 1, maxDelay: 3, spike: 0.05, spikeMax: 20 },
  { name: 'laggy', drop: 0, dup: 0.02, minDelay: 1, maxDelay: 8, spike: 0.1, spikeMax: 40 },
  { name: 'storm', drop: 0.3, dup: 0.1, minDelay: 1, maxDelay: 6, spike: 0.1, spikeMax: 60 },
];

/** Per-step probabilities (per Ready for readyCrash). */
const rates = {
  partition: 1 / 150,
  crash: 1 / 200,
  readyCrash: 1 / 600,
  clusterRestart: 1 / 4000,
  slow: 1 / 200,
  slowDisk: 1 / 300,
  campaign: 1 / 400,
};
/** Crashes beyond this many nodes down at once are left to the rare whole-cluster restart. */
const MAX_DOWN = 2;

export class FaultScheduler {
  private partitionUntil = 0;
  private weatherUntil = 0;
  private readonly restartAt = new Map<SimNode, number>();
  private readonly slowUntil = new Map<SimNode, number>();

  constructor(private readonly cluster: Cluster, private readonly rng: Random) {}

  step(): void {
    const now = this.cluster.now;
    if (now >= this.weatherUntil) this.changeWeather();
    if (this.partitionUntil > 0 && now >= this.partitionUntil) this.healPartition();
    else if (this.partitionUntil === 0 && this.rng.chance(rates.partition)) this.partition();
    if (this.rng.chance(rates.crash) && this.down() < MAX_DOWN) this.crashOne();
    if (this.rng.chance(rates.clusterRestart)) this.crashAll();
    if (this.rng.chance(rates.slow)) this.slowOne();
    if (this.rng.chance(rates.slowDisk)) this.slowDisk();
    if (this.rng.chance(rates.campaign)) this.forceElection();
    this.scheduleRestarts();
    this.restartDue();
    this.unslowDue();
  }

  /** Decide whether `node` crashes part-way through its next Ready. */
  readyCrash(_node: SimNode): CrashPlan | null {
    if (!this.rng.chance(rates.readyCrash) || this.down() >= MAX_DOWN) return null;
    this.cluster.stats.readyCrashes++;
    return { stage: this.rng.pick(crashStages), after: this.rng.u32() };
  }

  /** End of the faulty phase: calm network, no partition, no slow node, everyone back up. */
  healAll(): void {
    this.cluster.network.weather = calmWeather;
    this.healPartition();
    for (const node of this.slowUntil.keys()) speedUp(node);
    this.slowUntil.clear();
    for (const node of this.cluster.nodes) if (!node.live && !node.retired) this.cluster.restart(node);
    this.restartAt.clear();
  }

  private down(): number {
    return this.cluster.nodes.filter((n) => !n.live && !n.retired).length;
  }

  private changeWeather(): void {
    const w = this.rng.chance(0.4) ? calmWeather : this.rng.pick(weathers);
    this.cluster.network.weather = w;
    this.weatherUntil = this.cluster.now + this.rng.range(50, 300);
    this.cluster.stats.weatherChanges++;
    this.cluster.trace.event('weather', '-', weathers.indexOf(w), 0, () => w.name);
  }

  private partition(): void {
    const p = this.pickPartition();
    for (const [from, to] of p.cuts) this.cluster.network.setCut(from, to, true);
    this.partitionUntil = this.cluster.now + this.rng.range(20, 300);
    this.cluster.stats.partitions++;
    this.cluster.trace.event('partition', '-', p.cuts.length, this.partitionUntil, () => `${p.name} ${p.cuts.map(([a, b]) => `${nodeId(a)}>${nodeId(b)}`).join(' ')} until ${this.partitionUntil}`);
  }

  private pickPartition(): Partition {
    const all = this.cluster.nodes.map((n) => n.index);
    const r = this.rng.next();
    const leader = this.cluster.leader();
    if (r < 0.25 && leader) return isolate(leader.index, all);
    if (r < 0.55) return halves(all, this.rng);
    if (r < 0.8) return bridge(all, this.rng);
    return oneWay(all, this.rng);
  }

  private healPartition(): void {
    if (this.partitionUntil === 0) return;
    this.cluster.network.healAll();
    this.partitionUntil = 0;
    this.cluster.trace.event('heal', '-');
  }

  /** Half the crashes hit the leader: leader churn is where elections and commits go wrong. */
  private crashOne(): void {
    const live = this.cluster.live();
    const leader = this.cluster.leader();
    const victim = leader && this.rng.chance(0.5) ? leader : live.length > 0 ? this.rng.pick(live) : null;
    if (victim) this.cluster.crash(victim, 'between steps');
  }

  private crashAll(): void {
    for (const node of this.cluster.live()) this.cluster.crash(node, 'whole-cluster restart');
  }

  /** Give every newly crashed node a restart time: mostly soon, sometimes long enough to need a snapshot. */
  private scheduleRestarts(): void {
    for (const node of this.cluster.nodes) {
      if (node.live || node.retired || this.restartAt.has(node)) continue;
      const downtime = this.rng.chance(0.3) ? this.rng.range(150, 500) : this.rng.range(2, 80);
      this.restartAt.set(node, this.cluster.now + downtime);
    }
  }

  private restartDue(): void {
    for (const [node, at] of this.restartAt) {
      if (at > this.cluster.now) continue;
      this.restartAt.delete(node);
      if (!node.retired) this.cluster.restart(node);
    }
  }

  private slowOne(): void {
    const live = this.cluster.live();
    if (live.length === 0) return;
    const node = this.rng.pick(live);
    node.slowPeriod = this.rng.range(2, 6);
    node.slowPhase = this.rng.int(node.slowPeriod);
    this.slowUntil.set(node, this.cluster.now + this.rng.range(50, 300));
    this.cluster.stats.slowdowns++;
    this.cluster.trace.event('slow', node.id, node.slowPeriod, node.slowPhase, () => `every ${node.slowPeriod} steps`);
  }

  /** A disk whose writes take a few steps, while the node keeps taking messages and ticks. */
  private slowDisk(): void {
    const live = this.cluster.live();
    if (live.length === 0) return;
    const node = this.rng.pick(live);
    node.diskLatency = this.rng.range(1, 6);
    this.slowUntil.set(node, this.cluster.now + this.rng.range(50, 300));
    this.cluster.stats.slowDisks++;
    this.cluster.trace.event('slow-disk', node.id, node.diskLatency, 0, () => `writes take ${node.diskLatency} steps`);
  }

  private unslowDue(): void {
    for (const [node, until] of this.slowUntil) {
      if (until > this.cluster.now) continue;
      speedUp(node);
      this.slowUntil.delete(node);
    }
  }

  private forceElection(): void {
    const live = this.cluster.live();
    if (live.length === 0) return;
    const node = this.rng.pick(live);
    this.cluster.trace.event('campaign', node.id);
    node.raft?.campaign();
  }
}

function speedUp(node: SimNode): void {
  node.slowPeriod = 1;
  node.diskLatency = 0;
}
