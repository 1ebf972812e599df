// One simulated machine: a durable disk (MemoryStorage + state machine) and, while it is up, a
// RaftNode incarnation. processReady follows the Ready contract step by step — persist, send,
// apply, advance — and can crash the machine between any two of those steps.
import { appliesBeforeSync, splitBeforeSync } from '../../main/peer/early-send.js';
import { RaftNode } from '../../main/raft/node.js';
import { Role, type ConfState, type Entry, type Message, type NodeId, type RaftConfig, type ReadState, type Ready, type SoftState } from '../../main/raft/types.js';
import type { Checker } from './checker.js';
import type { Random } from './random.js';
import { SimStateMachine, type ApplyResult } from './state-machine.js';
import type { Stats } from './stats.js';
import { MemoryStorage } from './storage.js';
import type { Trace } from './trace.js';

/** Where in Ready processing a crash strikes. */
export type CrashStage = 'before-persist' | 'before-send' | 'mid-send' | 'before-apply' | 'mid-apply' | 'before-advance';
export const crashStages: readonly CrashStage[] = ['before-persist', 'before-send', 'mid-send', 'before-apply', 'mid-apply', 'before-advance'];

export interface CrashPlan {
  readonly stage: CrashStage;
  /** For mid-send / mid-apply: how many messages / entries get through (taken modulo the count). */
  readonly after: number;
}

interface PendingWrite {
  readonly rd: Ready;
  /** The messages that wait for the write (the rest left when the Ready was taken). */
  readonly afterSync: readonly Message[];
  /** Whether messages that left early carried entries of this write. */
  readonly entriesSent: boolean;
  /** The term this node led in before taking the Ready (0: it was not leading). */
  readonly ledBefore: number;
  readonly doneAt: number;
  /** Its committed entries were applied while it was written (applyWhileWriting). */
  appliedEarly: boolean;
}

/** What a node needs from the cluster around it. */
export interface Host {
  readonly checker: Checker;
  readonly stats: Stats;
  readonly trace: Trace;
  readonly compactEvery: number;
  send(from: SimNode, m: Message): void;
  crash(node: SimNode, why: string): void;
  onApplied(node: SimNode, e: Entry, result: ApplyResult): void;
  onSoftState(node: SimNode, ss: SoftState): void;
  onReadServed(node: SimNode, rs: ReadState): void;
}

export class SimNode {
  readonly storage = new MemoryStorage();
  readonly sm: SimStateMachine;
  raft: RaftNode | null = null;
  incarnation = 0;
  /** Commit index this incarnation has reported through its hard state. */
  commit = 0;
  /** Volatile view from the last SoftState (reset on crash). */
  role: Role = Role.Follower;
  term = 0;
  /** Removed from the group and shut down for good. */
  retired = false;
  /** A slow node ticks and handles its Ready only on steps where step % period === phase. */
  slowPeriod = 1;
  slowPhase = 0;
  /** The planted driver bug sendBeforeWrite: every message leaves before the write. */
  sendsEverythingEarly = false;
  /** Steps a Ready's disk write takes (0: the driver handles each Ready at once). */
  diskLatency = 0;
  /** Offset of this node's tick within stepsPerTick, so that nodes do not tick in lockstep. */
  readonly tickPhase: number;
  private pendingReads: ReadState[] = [];
  private write: PendingWrite | null = null;
  /** This machine applied its own removal: it leaves once its last Ready is handled. */
  leaving = false;

  constructor(readonly id: NodeId, readonly index: number, private readonly initialConf: ConfState, rng: Random, stepsPerTick: number) {
    this.sm = new SimStateMachine(initialConf);
    this.tickPhase = rng.int(stepsPerTick);
  }

  get live(): boolean {
    return this.raft !== null;
  }

  isActive(step: number): boolean {
    return this.slowPeriod === 1 || step % this.slowPeriod === this.slowPhase;
  }

  /** Boot a new incarnation from what is on disk. */
  start(config: RaftConfig): void {
    this.raft = new RaftNode(config, this.storage.initialState(this.initialConf, this.sm.applied));
    this.incarnation++;
    this.commit = this.storage.hardState.commit;
  }

  /**
   * Lose everything not on disk (a write still running is lost whole: it is one transaction).
   * Returns whether the lost write held entries that had already been sent.
   */
  stop(): boolean {
    const lostSentEntries = this.write?.entriesSent ?? false;
    this.raft = null;
    this.write = null;
    this.role = Role.Follower;
    this.pendingReads = [];
    return lostSentEntries;
  }

  /** A Ready is taken and its disk write is still running (slow-disk nodes). */
  get writing(): boolean {
    return this.write !== null;
  }

  /**
   * Take the next Ready. Its disk write completes `diskLatency` steps from `now`; until then the
   * node keeps stepping messages and ticking, as under a driver that writes asynchronously. As
   * the peer does (main/peer/early-send.ts), a leader's appends leave now, before its own write:
   * a crash before the write completes then loses entries its followers already have, which is
   * what a power cut does to the leader's unsynced tail.
   */
  beginReady(host: Host, now: number): void {
    const rd = (this.raft as RaftNode).ready();
    const ledBefore = this.role === Role.Leader ? this.term : 0;
    const order = this.sendsEverythingEarly ? { now: rd.messages, afterSync: [] } : splitBeforeSync(rd, this.role);
    if (rd.softState) host.onSoftState(this, rd.softState);
    for (const m of order.now) host.send(this, m);
    host.stats.sentBeforeWrite += order.now.length;
    const entriesSent = rd.entries.length > 0 && order.now.some((m) => m.entries.length > 0);
    this.write = { rd, afterSync: order.afterSync, entriesSent, ledBefore, doneAt: now + this.diskLatency, appliedEarly: false };
  }

  /** Whether the Ready being written is on disk by step `now`. */
  writeDone(now: number): boolean {
    return this.write !== null && this.write.doneAt <= now;
  }

  /**
   * While its write runs, a node applies what the peer does then (main/peer/peer.ts,
   * applyWhileSyncing): the Ready's committed entries if they all precede its new ones, then
   * any committed entries that earlier writes made durable. The checker holds each against the
   * disk as it is (nothing of the running write is on it).
   */
  applyWhileWriting(host: Host): void {
    const write = this.write;
    if (write === null || this.raft === null) return;
    if (!write.appliedEarly) {
      if (!appliesBeforeSync(write.rd)) return;
      for (const e of write.rd.committed) this.apply(host, e, this.raft.status().commit);
      write.appliedEarly = true;
    }
    const entries = this.raft.durableCommitted();
    for (const e of entries) this.apply(host, e, this.raft.status().commit);
    host.stats.appliedWhileWriting += entries.length;
  }

  /** Finish the Ready taken by beginReady; `crash` (from the fault scheduler) may end the machine part-way. */
  completeReady(host: Host, crash: CrashPlan | null): void {
    const { rd, afterSync, ledBefore, appliedEarly } = this.write as PendingWrite;
    const dies = (stage: CrashStage): boolean => {
      if (crash?.stage !== stage) return false;
      host.crash(this, stage);
      return true;
    };
    /** How many of `n` messages or entries get through before a crash at `stage`. */
    const upTo = (stage: CrashStage, n: number): number => (crash?.stage === stage ? crash.after % (n + 1) : n);
    if (dies('before-persist')) return; // the write is lost whole (stop())
    this.write = null;
    this.persist(host, rd, ledBefore);
    if (dies('before-send')) return;
    for (const m of afterSync.slice(0, upTo('mid-send', afterSync.length))) host.send(this, m);
    if (dies('mid-send') || dies('before-apply')) return;
    const committed = appliedEarly ? [] : rd.committed;
    for (const e of committed.slice(0, upTo('mid-apply', committed.length))) this.apply(host, e, this.commit);
    if (dies('mid-apply') || dies('before-advance')) return;
    this.finish(host, rd);
  }

  /** Step 1 of a Ready: make snapshot, entries and hard state durable. `ledBefore`: term led, or 0. */
  private persist(host: Host, rd: Ready, ledBefore: number): void {
    const { checker } = host;
    if (rd.snapshot) {
      checker.onInstallSnapshot(this.id, rd.snapshot, this.sm.applied);
      this.storage.installSnapshot(rd.snapshot);
      const error = this.sm.restore(rd.snapshot);
      if (error) checker.fail('state-machine-safety', `${this.id}: ${error}`);
      checker.onStateAt(this.id, this.sm.applied, this.sm.stateHash());
      host.stats.snapshotsInstalled++;
      host.trace.event('install-snapshot', this.id, rd.snapshot.meta.index, rd.snapshot.meta.term);
    }
    if (rd.entries.length > 0) {
      checker.onPersistEntries(this.id, this.storage, rd.entries);
      const error = this.storage.append(rd.entries);
      if (error) checker.fail('log-matching', `${this.id}: ${error}`);
    }
    if (rd.hardState) {
      const before = this.storage.hardState;
      this.storage.hardState = rd.hardState;
      checker.onHardState(this.id, before, rd.hardState, this.storage);
      this.commit = Math.max(this.commit, rd.hardState.commit);
      if (ledBefore > 0 && this.role === Role.Leader && this.term === ledBefore) {
        checker.onLeaderCommit(this.id, this.term, before.commit, rd.hardState.commit, this.storage);
      }
    }
    if (rd.softState?.role === Role.Leader) checker.onBecomeLeader(this.id, rd.softState.term, this.storage);
  }

  /** Step 4: reads, advance, then the application's own follow-up (compaction). */
  private finish(host: Host, rd: Ready): void {
    for (const rs of rd.readStates) this.onReadState(host, rs);
    (this.raft as RaftNode).advance(rd);
    this.serveReads(host);
    this.maybeCompact(host);
  }

  /** `commit`: the commit index this node knows (durable, or learnt while a write runs). */
  private apply(host: Host, e: Entry, commit: number): void {
    host.checker.onApply(this.id, e, this.sm.applied, commit, this.storage);
    const result = this.sm.apply(e);
    if (result.change?.type === 'remove' && result.change.node === this.id) this.leaving = true;
    host.onApplied(this, e, result);
  }

  private onReadState(host: Host, rs: ReadState): void {
    host.checker.onReadState(this.id, rs);
    this.pendingReads.push(rs);
  }

  /** Answer reads whose index this node has applied (read-your-writes for the asking client). */
  private serveReads(host: Host): void {
    if (this.pendingReads.length === 0) return;
    const waiting: ReadState[] = [];
    for (const rs of this.pendingReads) {
      if (rs.index <= this.sm.applied) host.onReadServed(this, rs);
      else waiting.push(rs);
    }
    this.pendingReads = waiting;
  }

  /** Snapshot the state machine every compactEvery applied entries and let the core drop its log. */
  private maybeCompact(host: Host): void {
    const applied = this.sm.applied;
    if (applied - this.storage.snapshotIndex < host.compactEvery || !this.raft) return;
    const data = this.sm.serialize();
    this.raft.compact(applied, data);
    this.storage.compact(applied, this.sm.conf, data);
    host.checker.onStateAt(this.id, applied, this.sm.stateHash());
    host.stats.compactions++;
    host.trace.event('compact', this.id, applied, this.storage.snapshotTerm);
  }

  /** A node that applied its own removal shuts down for good (as a real peer would leave). */
  retire(host: Host): void {
    host.trace.event('retire', this.id);
    this.stop();
    this.retired = true;
  }
}
