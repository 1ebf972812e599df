// RaftNode: the consensus core's public face, a Ready/advance API after etcd-io/raft's RawNode.
// The driver calls tick()/step()/propose(), then takes ready(), processes it in order (persist,
// send, apply) and calls advance(). Nothing here does I/O or reads a clock.
import { encodeConfChange } from './confchange.js';
import { Raft } from './raft.js';
import {
  EntryType,
  type ConfChange, type Entry, type HardState, type InitialState, type Message, type MemberStatus,
  type NodeId, type RaftConfig, type RaftStatus, type Ready, type Snapshot, type SoftState,
} from './types.js';
import { ProgressState } from './progress.js';

/** Committed entries handed out per Ready: bounds one apply transaction during a catch-up. */
const maxCommittedPerReady = 4096;

export class RaftNode {
  private readonly raft: Raft;
  private prevHard: HardState;
  private prevSoft: SoftState;
  private pending: Ready | null = null;

  constructor(config: RaftConfig, initial: InitialState) {
    this.raft = new Raft(config, initial);
    this.prevHard = this.hardState();
    this.prevSoft = this.softState();
  }

  get id(): NodeId {
    return this.raft.id;
  }

  /** Advance logical time by one tick (election and heartbeat timers count ticks). */
  tick(): void {
    this.raft.tick();
  }

  /** Feed one message from the network. Stale messages are ignored. */
  step(m: Message): void {
    this.raft.step(m);
  }

  /** Propose application bytes. Throws ProposalDropped when it cannot be accepted now. */
  propose(data: Uint8Array): void {
    this.raft.propose([{ term: 0, index: 0, type: EntryType.Normal, data }]);
  }

  /** Propose several commands at once (one batch, one message to the leader). */
  proposeBatch(data: readonly Uint8Array[]): void {
    this.raft.propose(data.map((d) => ({ term: 0, index: 0, type: EntryType.Normal, data: d })));
  }

  /**
   * Propose one single-server membership change (leader only; one in flight at a time).
   * Throws ProposalDropped when not possible now, Error when the change makes no sense.
   */
  proposeConfChange(cc: ConfChange): void {
    this.raft.proposeConfChange(cc, encodeConfChange(cc));
  }

  /** Hand leadership to `to` (TimeoutNow once `to` is caught up). Works on followers too. */
  transferLeadership(to: NodeId): void {
    this.raft.transferLeadership(to);
  }

  /** Linearizable read: a ReadState with `context` (unique per request) appears in a later Ready. */
  readIndex(context: string): void {
    this.raft.readIndex(context);
  }

  /** Start an election now (if this node is a voter). */
  campaign(): void {
    this.raft.hup();
  }

  /**
   * A leader deferred telling some followers a new commit index (RaftConfig.deferCommitNotices):
   * call flushCommitNotices() soon, after a short wait in which the next App may carry it.
   */
  commitNoticePending(): boolean {
    return this.raft.commitNoticeDue;
  }

  flushCommitNotices(): void {
    this.raft.flushCommitNotices();
  }

  /** The transport lost its connection to `to`. */
  reportUnreachable(to: NodeId): void {
    this.raft.reportUnreachable(to);
  }

  /**
   * The application captured its state at `index` (≤ applied) in `data`: compact the log.
   * Later InstallSnapshot messages carry this snapshot; it is returned (null if `index` is
   * already compacted).
   */
  compact(index: number, data: Uint8Array): Snapshot | null {
    return this.raft.compact(index, data);
  }

  hasReady(): boolean {
    const r = this.raft;
    return r.msgs.length > 0 || r.readStates.length > 0 || r.log.pendingSnapshot !== null ||
      r.log.hasUnstable() || r.log.hasNextCommitted() ||
      !sameHard(this.hardState(), this.prevHard) || !sameSoft(this.softState(), this.prevSoft);
  }

  ready(): Ready {
    if (this.pending !== null) throw new Error('raft: ready() called again before advance()');
    const r = this.raft;
    const hard = this.hardState();
    const soft = this.softState();
    const rd: Ready = {
      softState: sameSoft(soft, this.prevSoft) ? null : soft,
      hardState: sameHard(hard, this.prevHard) ? null : hard,
      snapshot: r.log.pendingSnapshot,
      entries: r.log.unstable(),
      messages: r.msgs,
      committed: r.log.pendingSnapshot === null ? r.log.nextCommitted(maxCommittedPerReady) : [],
      readStates: r.readStates,
    };
    r.msgs = [];
    r.readStates = [];
    const last = rd.committed[rd.committed.length - 1];
    if (last !== undefined) r.log.applying = last.index;
    this.pending = rd;
    return rd;
  }

  /**
   * Committed entries that are already durable here, handed out while the pending Ready's write
   * is still syncing: a commit index learnt meanwhile need not wait for that sync (etcd-io/raft's
   * asynchronous storage writes separate appending from applying for the same reason). Only
   * entries the log holds as stable qualify (the pending Ready's own are not stable until
   * advance()); none while a snapshot is pending, and it stops before a conf change (the core
   * adopts those at advance()). The entries count as applied at once: the driver must apply
   * them right after whatever it was handed before, and it may call this only once it has
   * applied the pending Ready's committed entries (or there were none).
   */
  durableCommitted(): Entry[] {
    const log = this.raft.log;
    if (log.pendingSnapshot !== null || this.pending?.snapshot != null) return [];
    const hi = Math.min(log.committed, log.stable, log.applying + maxCommittedPerReady);
    const out: Entry[] = [];
    for (let i = log.applying + 1; i <= hi; i++) {
      const e = log.entryAt(i);
      if (e === undefined || e.type === EntryType.ConfChange) break;
      out.push(e);
    }
    const last = out[out.length - 1];
    if (last !== undefined) log.appliedTo(last.index);
    return out;
  }

  /** The driver has persisted, sent and applied everything in `rd`. */
  advance(rd: Ready): void {
    if (rd !== this.pending) throw new Error('raft: advance() with a Ready that is not the pending one');
    this.pending = null;
    const r = this.raft;
    if (rd.hardState !== null) this.prevHard = rd.hardState;
    if (rd.softState !== null) this.prevSoft = rd.softState;
    if (rd.snapshot !== null) r.snapshotInstalled(rd.snapshot);
    const lastNew = rd.entries[rd.entries.length - 1];
    if (lastNew !== undefined) r.log.stableTo(lastNew.index, lastNew.term);
    for (const e of rd.committed) {
      if (e.type === EntryType.ConfChange) r.applyConfEntry(e);
      r.log.appliedTo(e.index);
    }
  }

  /** Term of the entry at `index` in this node's log (undefined if compacted or absent). */
  termAt(index: number): number | undefined {
    return this.raft.log.termAt(index);
  }

  entryAt(index: number): Entry | undefined {
    return this.raft.log.entryAt(index);
  }

  status(): RaftStatus {
    const r = this.raft;
    const progress: MemberStatus[] = [];
    for (const [id, pr] of r.progress) {
      progress.push({
        id, voter: r.conf.voters.includes(id), match: pr.match, next: pr.next,
        state: pr.state === ProgressState.Probe ? 'probe' : pr.state === ProgressState.Replicate ? 'replicate' : 'snapshot',
        recentActive: pr.recentActive,
      });
    }
    return {
      id: r.id, role: r.role, term: r.term, vote: r.vote, leader: r.leader,
      commit: r.log.committed, applied: r.log.applied,
      firstIndex: r.log.firstIndex(), lastIndex: r.log.lastIndex(), snapshotIndex: r.log.offset,
      conf: r.conf, transferee: r.transferee, progress,
    };
  }

  private hardState(): HardState {
    return { term: this.raft.term, vote: this.raft.vote, commit: this.raft.log.committed };
  }

  private softState(): SoftState {
    return { role: this.raft.role, leader: this.raft.leader, term: this.raft.term };
  }
}

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function sameSoft(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.leader === b.leader && a.term === b.term;
}

